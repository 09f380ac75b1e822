"""Can the judges be trusted? What a finished run's folder says about its judges: agreement
between them per criterion, their flip rate on repeated asks, how they compare with a person's
labels, and — for a run made `--against` another — paired differences on the same scenarios.

Reads only the run folder (judgments.jsonl, calls.jsonl, human_labels.jsonl, the manifest);
recomputed whenever labels are added, so the report follows the reviewer without a rerun."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from . import runs
from .agreement import computed_agreement, confusion, criterion_agreement, flip_rate, paired_differences

HUMAN = "human_labels.jsonl"
LABELS = ("YES", "NO", "NA")
NOT_TRUSTED_AT = 2  # the combined verdict disagreeing with the person on this many conversations


def _latest(records: list[dict]) -> dict[tuple[str, str], dict]:
    out = {}
    for r in records:
        if isinstance(r.get("id"), str) and isinstance(r.get("judge"), str):
            out[(r["id"], r["judge"])] = r
    return out


def judgments(run_dir: Path) -> dict[tuple[str, str], dict]:
    """(conversation, judge) -> the record; judge "combined" for the combined verdict."""
    return _latest(runs.read_jsonl(Path(run_dir) / runs.JUDGMENTS))


def human_labels(run_dir: Path) -> dict[tuple[str, str], dict]:
    """(conversation, criterion) -> the latest label record; a CLEAR record removes one."""
    out: dict[tuple[str, str], dict] = {}
    for r in runs.read_jsonl(Path(run_dir) / HUMAN):
        key = (str(r.get("conv")), str(r.get("criterion")))
        if r.get("label") == "CLEAR":
            out.pop(key, None)
        elif r.get("label") in LABELS:
            out[key] = r
    return out


def record_label(run_dir: Path, conv: str, criterion: str, label: str, reviewer: str) -> dict:
    """Append one label (YES / NO / NA, or CLEAR to take one back): fsynced like every record."""
    if label not in (*LABELS, "CLEAR"):
        raise ValueError(f"a label is YES, NO, NA or CLEAR, not {label!r}")
    rec = {"conv": conv, "criterion": criterion, "label": label, "reviewer": reviewer,
           "at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")}
    cp = runs.Checkpoint(Path(run_dir) / HUMAN)
    try:
        cp.append(rec)
    finally:
        cp.close()
    return rec


def agreement(records: dict[tuple[str, str], dict], names: dict[str, str], seed: int = 0) -> list[dict]:
    """Per criterion, over the conversations judged: spec §7's agreement numbers."""
    judges = sorted({j for (_, j) in records if j != "combined"})
    convs = sorted({c for (c, j) in records if j == "combined"})
    criteria = sorted({cid for (c, j), r in records.items() if j == "combined" for cid in (r.get("answers") or {})})
    computed = {cid for (c, j), r in records.items() if j == "combined" for cid in (r.get("computed") or [])}
    out = []
    for cid in criteria:
        if cid in computed:  # ftd's answer, the same under every judge: no agreement to measure
            row = computed_agreement([(records.get((c, "combined")) or {}).get("answers", {}).get(cid) for c in convs])
            row["id"], row["name"] = cid, names.get(cid, "")
            out.append(row)
            continue
        labels = {j: [(records.get((c, j)) or {}).get("answers", {}).get(cid) for c in convs] for j in judges}
        row = criterion_agreement(labels, seed=seed)
        row["id"] = cid
        row["name"] = names.get(cid, "")
        out.append(row)
    # the least trustworthy first: defined kappas ascending, then undefined
    out.sort(key=lambda r: (r["kappa"] is None, r["kappa"] if r["kappa"] is not None else 0.0, r["id"]))
    return out


def versus_human(records: dict[tuple[str, str], dict], labels: dict[tuple[str, str], dict],
                 names: dict[str, str]) -> list[dict]:
    """Per criterion with human labels: each judge's TPR / TNR against the person, and how often
    the combined verdict disagrees with them."""
    judges = sorted({j for (_, j) in records if j != "combined"})
    by_criterion: dict[str, list[tuple[str, str]]] = {}
    for (conv, cid), rec in labels.items():
        by_criterion.setdefault(cid, []).append((conv, rec["label"]))
    out = []
    for cid in sorted(by_criterion):
        pairs = by_criterion[cid]
        row: dict[str, Any] = {"id": cid, "name": names.get(cid, ""), "labelled": len(pairs), "judges": {}}
        for j in judges + ["combined"]:
            got = [(human, (records.get((conv, j)) or {}).get("answers", {}).get(cid)) for conv, human in pairs]
            got = [(h, g) for h, g in got if g is not None]
            row["judges"][j] = confusion(got)
        disagree = [conv for conv, human in pairs
                    if (records.get((conv, "combined")) or {}).get("answers", {}).get(cid) not in (None, human)]
        row["combined_disagreements"] = len(disagree)
        row["disagreeing_conversations"] = disagree
        row["not_trusted"] = len(disagree) >= NOT_TRUSTED_AT
        out.append(row)
    return out


def repeats(run_dir: Path) -> dict | None:
    """Flip rate per judge from `--judge-repeats`: the first answer and its re-asks."""
    calls = runs.read_jsonl(Path(run_dir) / runs.CALLS)
    rep = [r for r in calls if r.get("kind") == "repeat"]
    if not rep:
        return None
    first = {(r["conv"], int(r["judge"]), r["criterion"]): r["answer"] for r in calls if r.get("kind") == "answer"}
    groups: dict[tuple[str, int, str], list[str]] = {}
    models: dict[int, str] = {}
    for r in rep:
        key = (r["conv"], int(r["judge"]), r["criterion"])
        groups.setdefault(key, [first[key]] if key in first else []).append(r["answer"])
        models[int(r["judge"])] = str(r.get("model"))
    out = {}
    for j, model in sorted(models.items()):
        out[model] = flip_rate([v for (c, jj, cid), v in groups.items() if jj == j])
    return {"k": max(len(v) for v in groups.values()), "judges": out}


def comparison(run_dir: Path, against_dir: Path, seed: int = 0) -> dict | None:
    """Paired differences with the run this one was made against: same scenarios, same seeds."""
    mine, theirs = judgments(run_dir), judgments(against_dir)
    a = {c: r["score"] for (c, j), r in mine.items() if j == "combined" and isinstance(r.get("score"), (int, float))}
    b = {c: r["score"] for (c, j), r in theirs.items() if j == "combined" and isinstance(r.get("score"), (int, float))}
    if not a or not b:
        return None
    overall = paired_differences(a, b, seed=seed)
    cats: dict[str, dict] = {}
    names = sorted({k for (c, j), r in mine.items() if j == "combined" for k in (r.get("category_scores") or {})})
    for cat in names:
        ca = {c: r["category_scores"][cat] for (c, j), r in mine.items()
              if j == "combined" and isinstance((r.get("category_scores") or {}).get(cat), (int, float))}
        cb = {c: r["category_scores"][cat] for (c, j), r in theirs.items()
              if j == "combined" and isinstance((r.get("category_scores") or {}).get(cat), (int, float))}
        cats[cat] = paired_differences(ca, cb, seed=seed)
    passed_a = [c for (c, j), r in mine.items() if j == "combined" and r.get("pass")]
    passed_b = [c for (c, j), r in theirs.items() if j == "combined" and r.get("pass")]
    return {"against": Path(against_dir).name, **overall, "categories": cats,
            "passed": {"this": len(passed_a), "against": len(passed_b)}}


def analyse(run_dir: Path, criteria_names: dict[str, str]) -> dict:
    """The judge-trust part of a run's summary."""
    run_dir = Path(run_dir)
    records = judgments(run_dir)
    labels = human_labels(run_dir)
    manifest = runs.read_json(run_dir / runs.MANIFEST) or {}
    out: dict[str, Any] = {"agreement": agreement(records, criteria_names),
                           "human": versus_human(records, labels, criteria_names),
                           "human_labels": len(labels),
                           "reviewers": sorted({str(r.get("reviewer")) for r in labels.values()}),
                           "judge_repeats": repeats(run_dir), "comparison": None}
    against = manifest.get("against")
    if isinstance(against, str):
        other = run_dir.parent / against
        if other.is_dir():
            out["comparison"] = comparison(run_dir, other)
    return out


def refresh_summary(run_dir: Path, criteria_names: dict[str, str]) -> dict | None:
    """Recompute the judge-trust part of summary.json (after a review session)."""
    path = Path(run_dir) / runs.SUMMARY
    summary = runs.read_json(path)
    if not isinstance(summary, dict):
        return None
    summary.update(analyse(run_dir, criteria_names))
    runs.write_json_atomic(path, summary)
    return summary


def dumps(value: Any) -> str:
    from ..text.textsafe import json_text

    return json_text(value, default=str)
