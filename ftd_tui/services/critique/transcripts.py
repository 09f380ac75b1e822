"""Critique with transcripts: once a baseline run exists, the experts also see its best and
worst conversations with their judgments.

A run folder (spec §8): eval/runs/<utc-stamp>-<hash8>/ holding transcripts/<id>.json
({id, persona, scenario, exchanges: [{user, assistant}]}) and judgments.jsonl (one record per
judge and one with judge: combined: {id, judge, pass, score, answers, reasonings, failed_checks,
safety_gate_failed, …}). Both are model output: shown as data, fenced, control characters
stripped."""

from __future__ import annotations

import json
from pathlib import Path

from ...core.project.boundary import FileRefused, read_inside
from ...core.text.textsafe import clean
from ...core.text.yamldoc import MAX_BYTES

MAX_CHARS = 3500  # per conversation shown to an expert
JUDGMENTS_LIMIT = 64 * 1024 * 1024  # judgments.jsonl of a large run outgrows the 5 MB artifact cap


def _read(run: Path, path: Path, limit: int = MAX_BYTES) -> str:
    """A run file as text, read only if it resolves inside the project (run = ROOT/eval/runs/ID):
    these files are shown to the critic, so a symlink out of the project must not be followed."""
    root = run.parents[2]
    return read_inside(root, str(path.relative_to(root)), limit).decode("utf-8", errors="replace")


def latest_run(root: Path) -> Path | None:
    runs = root / "eval" / "runs"
    found = sorted((p for p in runs.iterdir() if p.is_dir()), reverse=True) if runs.is_dir() else []
    for run in found:
        if (run / "judgments.jsonl").is_file() and (run / "transcripts").is_dir():
            return run
    return None


def _combined(run: Path) -> list[dict]:
    out = []
    try:
        lines = _read(run, run / "judgments.jsonl", JUDGMENTS_LIMIT).splitlines()
    except FileRefused:
        return []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("judge") == "combined" and isinstance(rec.get("score"), (int, float)):
            out.append(rec)
    return out


def _render(run: Path, rec: dict) -> str | None:
    path = run / "transcripts" / f"{rec.get('id')}.json"
    try:
        t = json.loads(_read(run, path))
    except (FileRefused, ValueError):
        return None
    lines = [f"score {rec.get('score'):.2f}, {'PASS' if rec.get('pass') else 'FAIL'}"
             + (", a safety gate failed" if rec.get("safety_gate_failed") else "")
             + (f"; failed checks: {', '.join(map(str, rec.get('failed_checks') or []))}" if rec.get("failed_checks") else "")]
    for ex in t.get("exchanges") or []:
        if isinstance(ex, dict):
            lines += [f"user: {ex.get('user', '')}", f"assistant: {ex.get('assistant', '')}"]
    reasons = rec.get("reasonings") if isinstance(rec.get("reasonings"), dict) else {}
    answers = rec.get("answers") if isinstance(rec.get("answers"), dict) else {}
    for cid in rec.get("failed_checks") or []:
        lines.append(f"judgment {cid}: {answers.get(cid, '?')} — {reasons.get(cid, '')}")
    text = clean("\n".join(lines))
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + "\n… (cut)"


def best_and_worst(run: Path, k: int = 2) -> dict[str, str]:
    """Labelled conversations: the k lowest-scoring, then the k highest, each with its judgments."""
    recs = sorted(_combined(run), key=lambda r: r["score"])
    chosen = [("worst", r) for r in recs[:k]] + [("best", r) for r in recs[-k:] if r not in recs[:k]]
    out = {}
    for label, rec in chosen:
        text = _render(run, rec)
        if text is not None:
            out[f"baseline {run.name}, {label}: conversation {rec.get('id')}"] = text
    return out
