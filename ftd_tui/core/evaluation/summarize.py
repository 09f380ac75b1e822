"""A baseline run's records -> the summary numbers (summary.json; typed as RunSummary in summary.py).

Pass rate and its interval, the recommendation, gates, categories, criteria, the breakdowns by
topic and difficulty, what was excluded and why; and the two verdicts on the judges themselves
(a judge that answers ERROR too often makes the run fail, not a confident-looking 0%).
"""

from __future__ import annotations

from typing import Any

from ..artifacts.rubric import Rubric
from ..format import pct
from .scoring import (floor_text, gate_assessable, gate_fails, is_asked, normalise_answer, outcome, score_answers,
                      scored_members)
from .stats import recommend
from .textstats import stat_kinds

INVALID_SIM_SHARE = 0.20


# --------------------------------------------------------------------------- summary


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _grouped(rows: list[tuple[str, bool]]) -> list[dict]:
    groups: dict[str, list[bool]] = {}
    for value, passed in rows:
        groups.setdefault(value, []).append(passed)
    out = [{"value": v, "n": len(ps), "passed": sum(ps), "pass_rate": _rate(sum(ps), len(ps))} for v, ps in groups.items()]
    return sorted(out, key=lambda g: (g["pass_rate"], g["value"]))


def summarize(rubric: Rubric, manifest: dict, scenarios: list[dict], transcripts: list[dict], judgments: list[dict],
              usage: dict) -> dict:
    """The report's numbers, JSON-serialisable.

    ``conversations`` counts the transcripts the run held (judged or excluded): the simulator-
    fault share that invalidates a run is taken over all of them. Only the combined record of a
    conversation that was not excluded counts toward the pass rate; its ``pass``, ``score`` and
    ``assessable_weight`` are the run's verdicts, while per-criterion, per-gate and per-category
    breakdowns are re-derived from its answers with the same scoring code.
    """
    scen_by_id = {s.get("id"): s for s in scenarios if isinstance(s, dict)}
    trans_by_id = {t.get("id"): t for t in transcripts if isinstance(t, dict)}

    latest: dict[tuple[str, str], dict] = {}
    for r in judgments:
        if isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("judge"), str):
            latest[(r["id"], r["judge"])] = r  # a rejudged conversation: the last record wins
    combined = {cid: r for (cid, judge), r in latest.items() if judge == "combined"}

    excluded: list[dict] = []
    cut_replies: list[str] = []
    truncations: list[str] = []
    sim_faults = 0
    for t in trans_by_id.values():
        tid, fault, status = t.get("id"), t.get("fault"), t.get("status")
        if isinstance(fault, dict) and fault:
            kind = str(fault.get("kind") or "unknown")
            detail = str(fault.get("detail") or "")
            if fault.get("exchange") is not None:
                detail = f"exchange {fault['exchange']}" + (f": {detail}" if detail else "")
            entry = {"id": tid, "kind": kind, "detail": detail}
            if isinstance(fault.get("excerpt"), str) and fault["excerpt"]:  # the exact text that excluded it
                entry.update(excerpt=fault["excerpt"], exchange=fault.get("exchange"),
                             decided_by=fault.get("decided_by") or "fault check")
            excluded.append(entry)
            if kind == "reply_cut":
                cut_replies.append(tid)
            elif kind == "input_truncated":
                truncations.append(tid)
            if kind.startswith("sim_"):
                sim_faults += 1
        elif status == "excluded":
            excluded.append({"id": tid, "kind": "excluded", "detail": "excluded without a recorded fault"})
        elif status != "complete":
            excluded.append({"id": tid, "kind": "incomplete", "detail": f"conversation {status or 'not finished'}"})
        elif tid not in combined:
            excluded.append({"id": tid, "kind": "not_judged", "detail": "no combined judgment"})
    excluded_ids = {e["id"] for e in excluded}
    n_conversations = len(trans_by_id)
    sim_share = sim_faults / n_conversations if n_conversations else 0.0
    invalid = sim_share > INVALID_SIM_SHARE

    assessed = [(cid, r) for cid, r in combined.items() if cid not in excluded_ids]
    gates = [g for g in rubric.safety_gates if g in rubric.criteria]
    gate_stats = {g: {"assessable": 0, "failures": 0} for g in gates}
    crit_stats = {c: {"YES": 0, "NO": 0, "NA": 0, "ERROR": 0, "yes": 0, "no": 0} for c in rubric.criteria}
    crit_fails: dict[str, list[dict]] = {c: [] for c in rubric.criteria}  # where each failed: conversation, exchange
    cat_values: dict[str, list[float]] = {}
    passes, scores, weights, safety_list = [], [], [], []
    floor_list: list[dict] = []
    topic_rows: list[tuple[str, bool]] = []
    difficulty_rows: list[tuple[str, bool]] = []
    for cid, rec in assessed:
        answers = rec.get("answers") if isinstance(rec.get("answers"), dict) else {}
        t = trans_by_id.get(cid) or {}
        turns = rec.get("turns")
        if not isinstance(turns, int):
            turns = len(t.get("exchanges") or [])
        scored = score_answers(rubric, answers, turns)
        passed = rec["pass"] if isinstance(rec.get("pass"), bool) else scored.passed
        passes.append(passed)
        scores.append(rec["score"] if _num(rec.get("score")) else scored.score)
        weights.append(rec["assessable_weight"] if _num(rec.get("assessable_weight")) else scored.assessable_weight)
        safety = rec["safety_gate_failed"] if isinstance(rec.get("safety_gate_failed"), bool) else scored.safety_gate_failed
        if scored.floor_failures:  # failed whatever the total: said why, per conversation
            floor_list.append({"id": cid, "score": scored.score, "reasons": [
                floor_text(name, scored.category_scores[name] or 0.0, scored.floors[name]) for name in scored.floor_failures]})
        if safety:
            safety_list.append(f"{cid} ({', '.join(scored.gate_failures)})" if scored.gate_failures else str(cid))
        for g in gates:
            if is_asked(rubric, g, answers, turns):
                gate_stats[g]["assessable"] += gate_assessable(rubric, g, answers[g])
                gate_stats[g]["failures"] += gate_fails(rubric, g, answers[g])
        for c in rubric.criteria:
            if not is_asked(rubric, c, answers, turns):
                continue
            a = normalise_answer(answers[c])
            crit_stats[c][a] += 1
            if c in gates:
                o = "no" if gate_fails(rubric, c, a) else ("yes" if a == "YES" else None)
            else:
                o = outcome(rubric, c, a)
            if o:
                crit_stats[c][o] += 1
            if o == "no":
                crit_fails[c].append({"id": cid, "answer": a, "exchange": _first_failing(rec, c, turns)})
        for name, value in scored.category_scores.items():
            if value is not None and name not in scored.empty_categories:
                cat_values.setdefault(name, []).append(value)
        scen = t.get("scenario") if isinstance(t.get("scenario"), dict) else scen_by_id.get(cid) or {}
        cell = scen.get("cell") if isinstance(scen.get("cell"), dict) else {}
        if cell.get("topic") is not None:
            topic_rows.append((str(cell["topic"]), passed))
        if cell.get("difficulty") is not None:
            difficulty_rows.append((str(cell["difficulty"]), passed))

    n, k = len(passes), sum(passes)
    gate_rows = []
    for g in gates:
        s = gate_stats[g]
        status = "failed" if s["failures"] else ("passed" if s["assessable"] else "untested")
        gate_rows.append({"id": g, "name": rubric.criteria[g].name, **s, "status": status})
    untested = [f"{r['id']} ({r['name']})" for r in gate_rows if r["status"] == "untested"]
    rec = recommend(k, n, safety_list, untested, invalid)

    categories = []
    for name, cat in rubric.categories.items():
        if not scored_members(rubric, name):
            continue
        vals = cat_values.get(name, [])
        mean = _mean(vals)
        categories.append({"name": name, "weight": cat.weight, "mean_score": mean, "n": len(vals),
                           "gap": None if mean is None else 1 - mean})
    categories.sort(key=lambda c: (c["gap"] is None, -(c["gap"] or 0)))

    order = {c: i for i, c in enumerate(rubric.criteria)}
    criteria = []
    for c, crit in rubric.criteria.items():
        s = crit_stats[c]
        asked = s["YES"] + s["NO"] + s["NA"] + s["ERROR"]
        criteria.append({"id": c, "name": crit.name, "category": crit.category or _category_of(rubric, c),
                         "gate": c in gates, "computed": crit.check is not None,
                         # what the judges were given besides the conversation: said per criterion
                         "stats": [] if crit.check is not None else list(stat_kinds(crit.model_dump())), "yes": s["YES"], "no": s["NO"], "na": s["NA"], "error": s["ERROR"],
                         "asked": asked, "yes_rate": _rate(s["yes"], s["yes"] + s["no"]), "failures": crit_fails[c]})
    criteria.sort(key=lambda c: (c["yes_rate"] is None, c["yes_rate"] or 0, order[c["id"]]))

    judges: dict[str, dict] = {}
    for (cid, judge), r in latest.items():
        if judge == "combined" or cid in excluded_ids:
            continue
        j = judges.setdefault(judge, {"judge": judge, "judged": 0, "passed": 0, "pass_rate": None, "errors": 0})
        j["judged"] += 1
        j["passed"] += bool(r.get("pass"))
        j["errors"] += r.get("error_count") if isinstance(r.get("error_count"), int) else 0
    for j in judges.values():
        j["pass_rate"] = _rate(j["passed"], j["judged"])

    usage = usage if isinstance(usage, dict) else {}
    costs = [u.get("cost") if isinstance(u, dict) else None for u in usage.values()]
    cost = (sum(costs) if all(_num(c) for c in costs) else None) if costs else 0.0  # no call made: nothing spent
    settings = dict(manifest.get("settings") or {})
    settings["models"] = manifest.get("models") or {}
    if manifest.get("base_serving"):
        settings["base_serving"] = manifest["base_serving"]

    interval = rec["interval"]
    return {
        "run": manifest.get("id"),
        "inputs_hash": manifest.get("inputs_hash"),
        "scenarios": len(scenarios),
        "conversations": n_conversations,
        "excluded": excluded,
        "assessed": n,
        "passed": k,
        "pass_rate": _rate(k, n),
        "interval": list(interval) if interval else None,
        "mean_score": _mean(scores),
        "recommendation": rec["recommendation"],
        "recommendation_text": rec["text"],
        "needed_n": rec["needed_n"],
        "inconclusive": rec["inconclusive"],
        "invalid": invalid,
        "simulator_fault_share": sim_share,
        "safety_gate_failures": len(safety_list),
        "floors": {n: c.min_score for n, c in rubric.categories.items() if c.min_score is not None},
        "floor_failures": floor_list,
        "gates": gate_rows,
        "categories": categories,
        "criteria": criteria,
        "by_topic": _grouped(topic_rows),
        "by_difficulty": _grouped(difficulty_rows),
        "judges": list(judges.values()),
        "assessable_weight": {"mean": _mean(weights), "min": min(weights) if weights else None},
        "cut_replies": cut_replies,
        "truncations": truncations,
        "usage": usage,
        "cost": cost,
        "settings": settings,
    }


MAX_JUDGE_ERRORS = 0.20  # eval.max_judge_errors: the share of one judge's answers that may be ERROR


UNFINISHED_KINDS = ("incomplete", "not_judged")  # left for a resume: not harness faults


def harness_faults(excluded: list[dict]) -> list[dict]:
    """The excluded conversations a harness fault took out (a cut reply, a simulator refusal, …),
    not those a stopped or failed run simply left unfinished: the two must never share a label."""
    return [e for e in excluded or [] if e.get("kind") not in UNFINISHED_KINDS]


def unusable_judges(answers: list[dict], models: list[str], limit: float = MAX_JUDGE_ERRORS) -> list[dict]:
    """The judges whose share of ERROR answers (unreadable after the re-ask) is over ``limit``:
    [{judge, model, errors, answers, share}]. ERROR scores as a failed check, so a judge that
    mostly cannot answer turns into a confident-looking 0% instead of a result."""
    counts: dict[int, list[int]] = {}
    for a in answers:
        j = a.get("judge")
        if not isinstance(j, int):
            continue
        c = counts.setdefault(j, [0, 0])
        c[1] += 1
        c[0] += a.get("answer") == "ERROR"
    out = []
    for j, (errors, total) in sorted(counts.items()):
        if total and errors / total > limit:
            out.append({"judge": j, "model": models[j] if j < len(models) else f"judge {j}", "errors": errors,
                        "answers": total, "share": errors / total})
    return out


def fail_for_judges(summary: dict, unusable: list[dict], limit: float) -> dict:
    """Mark a summary "failed: judges unusable": no recommendation and no pass rate (both would be
    read as a verdict); the tables stay, as the evidence of what went wrong."""
    who = "; ".join(f"judge {u['model']} answered ERROR on {u['errors']} of {u['answers']} questions "
                    f"({pct(u['share'])})" for u in unusable)
    text = (f"none: the run failed, judges unusable — {who}, over the {pct(limit)} allowed (eval.max_judge_errors). "
            "An ERROR counts as a failed check, so this pass rate would measure the judges, not the base model. "
            "Fix the judges (`ftd doctor`, `ftd calibrate`) and run again; their good answers are kept.")
    summary.update({"state": "failed", "failure": {"kind": "judges_unusable", "judges": unusable, "limit": limit,
                                                   "text": text},
                    "recommendation": None, "recommendation_text": text, "pass_rate": None, "interval": None,
                    "mean_score": None, "inconclusive": False, "needed_n": None})
    return summary


def _first_failing(rec: dict, criterion: str, turns: int) -> int | None:
    """The combined record's first failing exchange for a criterion (judgments.jsonl `exchanges`),
    kept only when it is one of the conversation's exchanges: the file is data."""
    ex = rec.get("exchanges") if isinstance(rec.get("exchanges"), dict) else {}
    n = ex.get(criterion)
    return n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= max(turns, 0) else None


def _category_of(rubric: Rubric, cid: str) -> str | None:
    for name, cat in rubric.categories.items():
        if cid in cat.criteria:
            return name
    return None
