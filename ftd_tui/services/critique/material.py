"""The concrete test material each expert is asked for, read out of their answers: labelled
calibration examples and user messages that would make the design fail.

Model output is untrusted: the block is parsed with ftd's own YAML reader (no tags, no alias
bombs, a depth limit), every field is capped, and anything malformed is dropped with a note
rather than guessed at. What survives is a *candidate*: it reaches the rubric only typed
UNREVIEWED, and the scenarios only when a person takes it."""

from __future__ import annotations

import re
from typing import Any

from ...core.text.textsafe import clean

LABELS = ("PASS", "FAIL", "BORDERLINE_PASS", "BORDERLINE_FAIL", "NA")
MAX_ITEMS = 6  # per expert: the ask is "at least one"; more than a handful is padding
MAX_FIELD = 4000  # characters per field
_FENCE = re.compile(r"^(```|~~~)[ \t]*(yaml|yml)?[ \t]*\n(.*?)^\1[ \t]*$", re.S | re.M | re.I)
_HEADING = re.compile(r"^#{1,4}\s*test material\b.*$", re.I | re.M)


def _block(answer: str) -> str | None:
    """The fenced block after the "Test material" heading; else the last fenced block that
    looks like test material (a model that forgot the heading)."""
    m = _HEADING.search(answer)
    if m:
        f = _FENCE.search(answer, m.end())
        if f:
            return f.group(3)
    blocks = [f.group(3) for f in _FENCE.finditer(answer) if "kind:" in f.group(3)]
    return blocks[-1] if blocks else None


def _text(v: Any) -> str:
    if v is None or isinstance(v, (dict, list)):
        return ""
    return clean(str(v)).strip()[:MAX_FIELD]


def parse_material(answer: str, expert: str) -> tuple[list[dict], list[str]]:
    """(candidates, notes): candidates as {kind: example|scenario, expert, …}; a note for each
    item left out and why."""
    from ...core.text.yamldoc import YamlDocument, YamlError

    block = _block(answer or "")
    if block is None:
        return [], [f"{expert}: no test material"]
    try:
        data = YamlDocument.from_text(block).data
    except YamlError as exc:
        return [], [f"{expert}: the test material is not readable YAML (line {exc.line}: {exc.message})"]
    except Exception:  # noqa: BLE001 - anything else a model can write: a note, never a crash
        return [], [f"{expert}: the test material is not readable YAML"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        return [], [f"{expert}: the test material is not a list"]
    out, notes = [], []
    for i, item in enumerate(data[:MAX_ITEMS], 1):
        if not isinstance(item, dict):
            notes.append(f"{expert}: item {i} is not a mapping")
            continue
        kind = _text(item.get("kind")).lower()
        if kind in ("calibration_example", "example"):
            label = _text(item.get("label") or item.get("type")).upper().replace(" ", "_")
            cand = {"kind": "example", "expert": expert, "criterion": _text(item.get("criterion")),
                    "label": label, "context": _text(item.get("context")), "response": _text(item.get("response")),
                    "reasoning": _text(item.get("reasoning"))}
            missing = [k for k in ("criterion", "context", "response", "reasoning") if not cand[k]]
            if label not in LABELS:
                missing.append("label (PASS or FAIL)")
            if missing:
                notes.append(f"{expert}: example {i} left out: no {', '.join(missing)}")
                continue
            out.append(cand)
        elif kind in ("scenario", "user_message"):
            cand = {"kind": "scenario", "expert": expert, "message": _text(item.get("message")),
                    "why": _text(item.get("why")), "topic": _text(item.get("topic")),
                    "criterion": _text(item.get("criterion"))}
            if not cand["message"]:
                notes.append(f"{expert}: scenario {i} left out: no message")
                continue
            out.append(cand)
        else:
            notes.append(f"{expert}: item {i} left out: kind {kind or '(none)'} is neither calibration_example nor scenario")
    if len(data) > MAX_ITEMS:
        notes.append(f"{expert}: {len(data) - MAX_ITEMS} item(s) past the first {MAX_ITEMS} left out")
    return out, notes


def number(candidates: list[dict]) -> list[dict]:
    """C1, C2, … in the order the panel answered: the ids the log and the screen use."""
    return [{"id": f"C{i}", **c, "disposition": None} for i, c in enumerate(candidates, 1)]
