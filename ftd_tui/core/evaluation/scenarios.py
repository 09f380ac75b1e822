"""The editable ``eval/scenarios.yaml``: written, read back tolerantly (a malformed entry is left
out with a located problem, never guessed at), and edited in place with every other byte kept.

The scenarios themselves are drawn in cells.py; their personas come from personas.py.
"""

from __future__ import annotations

from typing import Any

from ..text.textsafe import visible
from ..text.yamldoc import EditError, YamlDocument, YamlError, construct, render_flow, render_scalar, same_value
from .cells import TRIGGERS

SCENARIO_FIELDS = ("id", "cell", "gate", "trigger", "persona_seed", "target_exchanges", "situation", "reference",
                   "topic_seeds", "redrawn", "incoherent")
BLOCK_AT = 72  # a one-line situation longer than this is written as a block scalar

DEFAULT_HEADER = """\
Evaluation scenarios for the baseline run (ftd baseline).
This file is yours to edit: change a situation, a cell or a target length, or delete a
scenario. Every run reuses it as it stands, and a scenario whose fields are unchanged keeps
its transcripts from earlier runs. Redrawing (a new scenario count, seed_start or
min_per_gate) replaces the whole file, edits included.
"""


# --------------------------------------------------------------------------- eval/scenarios.yaml


def _comment(text: str) -> str:
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    return "".join((l if l.lstrip().startswith("#") else ("# " + l).rstrip()) + "\n" for l in lines)


def _block_ok(value: str, rendered: str) -> bool:
    try:
        return same_value(YamlDocument("k: " + rendered + "\n").data, {"k": value})
    except YamlError:
        return False


def _render_situation(value: Any, indent: int) -> str:
    """Text after ``situation:``; a literal block when the value is long or multi-line and
    reads back exactly that way, else a one-line scalar."""
    if isinstance(value, str) and ("\n" in value or len(value) > BLOCK_AT) and value.strip():
        pad = " " * indent
        block = "|-\n" + "\n".join((pad + line) if line else "" for line in value.split("\n"))
        if visible(value) == value and _block_ok(value, block):  # a literal block holds a bidi override raw
            return block
    return render_scalar(value)


def write_scenarios(scenarios: list[dict], header_comment: str = DEFAULT_HEADER) -> str:
    out = [_comment(header_comment)]
    if out[0]:
        out.append("\n")
    out.append("version: 1\n")
    if not scenarios:
        out.append("scenarios: []\n")
        return "".join(out)
    out.append("scenarios:\n")
    for i, s in enumerate(scenarios):
        if i:
            out.append("\n")
        keys = [k for k in SCENARIO_FIELDS if k in s] + [k for k in s if k not in SCENARIO_FIELDS]
        for j, k in enumerate(keys):
            lead = "  - " if j == 0 else "    "
            v = s[k]
            if k in ("situation", "reference"):  # prose a person edits: a block scalar when long
                text = _render_situation(v, 6)
            elif isinstance(v, (dict, list, tuple)):
                text = render_flow(v)
            else:
                text = render_scalar(v)
            out.append(f"{lead}{render_scalar(str(k))}: {text}\n")
    return "".join(out)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def read_scenarios(text: str) -> tuple[list[dict], list[str]]:
    """The scenarios that are usable, and a problem line (with its line number) for each part
    that is not; a malformed entry is left out rather than guessed at."""
    problems: list[str] = []
    try:
        doc = YamlDocument.from_text(text)
        data = doc.data
    except YamlError as exc:
        return [], [f"line {exc.line}: {exc.message}"]

    def line(path: tuple) -> int:
        return doc.position(path)[0]

    if not isinstance(data, dict):
        return [], [f"line {line(())}: expected a mapping with 'version' and 'scenarios'"]
    if data.get("version", 1) != 1:
        problems.append(f"line {line(('version',))}: version {data.get('version')!r} is not 1; read as version 1")
    raw = data.get("scenarios")
    if not isinstance(raw, list):
        problems.append(f"line {line(('scenarios',))}: 'scenarios' must be a list")
        return [], problems
    out: list[dict] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        at = ("scenarios", i)
        if not isinstance(entry, dict):
            problems.append(f"line {line(at)}: scenario {i + 1} is not a mapping; skipped")
            continue
        sid = entry.get("id")
        name = f"scenario {sid}" if isinstance(sid, str) and sid else f"scenario {i + 1}"
        errs: list[str] = []

        def bad(key: str, msg: str) -> None:
            errs.append(f"line {line(at + (key,))}: {name}: {msg}; skipped")

        if not isinstance(sid, str) or not sid.strip():
            bad("id", "needs an id (a non-empty string)")
        elif sid in seen:
            bad("id", f"id '{sid}' appears twice")
        cell = entry.get("cell")
        if not isinstance(cell, dict) or not all(isinstance(k, str) for k in cell):
            bad("cell", "cell must be a mapping of dimension: option")
        elif not all(v is None or isinstance(v, (str, int, float)) for v in cell.values()):
            bad("cell", "cell values must be plain options")
        elif not isinstance(cell.get("topic"), str):
            bad("cell", "cell needs a topic")
        gate = entry.get("gate")
        if gate is not None and not isinstance(gate, str):
            bad("gate", "gate must be a criterion id or null")
        if not _int(entry.get("persona_seed")):
            bad("persona_seed", "persona_seed must be a whole number")
        te = entry.get("target_exchanges")
        if not _int(te) or te < 1:
            bad("target_exchanges", "target_exchanges must be a whole number of at least 1")
        sit = entry.get("situation")
        if sit is not None and not isinstance(sit, str):
            bad("situation", "situation must be text or null")
        ts = entry.get("topic_seeds", [])
        if ts is None:
            ts = []
        if not isinstance(ts, list) or not all(isinstance(x, str) for x in ts):
            bad("topic_seeds", "topic_seeds must be a list of subtopics")
        for key, msg in _judged_field_problems(entry):
            errs.append(f"line {line(at + (key,))}: EVR006 {name}: {msg}; skipped")
        if errs:
            problems.extend(errs)
            continue
        seen.add(sid)
        s = {"id": sid, "cell": dict(cell), "gate": gate, "persona_seed": entry["persona_seed"],
             "target_exchanges": te, "situation": sit, "topic_seeds": list(ts)}
        s.update({k: v for k, v in entry.items() if k not in s})
        out.append(s)
    return out, problems


def _judged_field_problems(entry: dict) -> list[tuple[str, str]]:
    """EVR006: ``trigger``, ``reference``, ``redrawn`` and ``incoherent`` as (key, message)."""
    out = []
    if entry.get("trigger") is not None and entry["trigger"] not in TRIGGERS:
        out.append(("trigger", f"trigger is {str(entry['trigger'])[:40]!r}; it must be early, middle or late (or null)"))
    for key, what in (("reference", "the worked solution, policy fact or what a safe reply must contain"),
                      ("incoherent", "why the scenario writer found the kept cell incoherent")):
        v = entry.get(key)
        if v is not None and not (isinstance(v, str) and v.strip()):
            out.append((key, f"{key} must be text ({what}) or null"))
    r = entry.get("redrawn")
    if r is not None:
        items = [r] if isinstance(r, dict) else r
        if not isinstance(items, list) or not all(
                isinstance(x, dict) and isinstance(x.get("from"), dict) and isinstance(x.get("reason"), str)
                and set(x) <= {"from", "reason"} for x in items):
            out.append(("redrawn", "redrawn must be a list of {from: {cell}, reason: text} (or null)"))
    return out


def scenario_field_problems(text: str) -> list[tuple[int, int, str]]:
    """(line, column, message) for each EVR006 problem in eval/scenarios.yaml, for ``ftd check``.
    A file that does not parse reports nothing here: the run refuses it with its own message."""
    try:
        doc = YamlDocument.from_text(text)
    except YamlError:
        return []
    raw = doc.data.get("scenarios") if isinstance(doc.data, dict) else None
    out = []
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(entry, dict):
            continue
        sid = entry.get("id") if isinstance(entry.get("id"), str) else str(i + 1)
        for key, msg in _judged_field_problems(entry):
            line, col = doc.position(("scenarios", i, key))
            out.append((line, col, f"scenario {sid}: {msg}"))
    return out


def set_situation(text: str, scenario_id: str, situation: str | None) -> str:
    """``text`` with one scenario's situation replaced and every other byte kept. Raises
    KeyError for an unknown id, EditError when the edit cannot be made exactly."""
    return set_fields(text, scenario_id, {"situation": situation})


def set_fields(text: str, scenario_id: str, values: dict[str, Any]) -> str:
    """``text`` with some fields of one scenario set (added when missing) and every other byte
    kept: the situation, and the reference, cell or redraw record the scenario writer adds.
    Prose fields become literal blocks when long, as write_scenarios writes them."""
    for key, value in values.items():
        text = _set_field(text, scenario_id, key, value)
    return text


def _set_field(text: str, scenario_id: str, key: str, value: Any) -> str:
    bom = text.startswith("\ufeff")
    doc = YamlDocument.from_text(text)
    data = doc.data
    raw = data.get("scenarios") if isinstance(data, dict) else None
    index = next((i for i, e in enumerate(raw if isinstance(raw, list) else [])
                  if isinstance(e, dict) and e.get("id") == scenario_id), None)
    if index is None:
        raise KeyError(scenario_id)
    path = ("scenarios", index, key)
    try:
        loc = doc.locate(path)
    except KeyError:
        loc = None
    if loc is None and value is None:
        return text  # nothing to add: a missing field reads as null already
    if loc is None and isinstance(value, str) and ("\n" in value or len(value) > BLOCK_AT):
        # a new prose field: first as a one-line placeholder, then turned into a block in place
        text = _set_field(text, scenario_id, key, "")
        return _set_field(text, scenario_id, key, value)
    new = None
    if loc is not None and isinstance(value, str) and not loc.in_flow and loc.node.kind == "scalar" \
            and loc.node.style not in ("|", ">") and ("\n" in value or len(value) > BLOCK_AT) \
            and visible(value) == value:  # else quoted, with every control or bidi character escaped
        new = _block_in_place(doc, loc, value)
    if new is None:
        new = doc.set(path, value, create=True)
    return ("\ufeff" if bom else "") + new.text


def _block_in_place(doc: YamlDocument, loc, value: str) -> YamlDocument | None:
    """A one-line situation becoming long or multi-line is written as a literal block, as
    write_scenarios would; YamlDocument.set keeps the old (quoted) style. Verified like
    every exact edit: the result must parse to the old document with only this value changed."""
    node, text = loc.node, doc.text
    if node.start == node.end or node.anchor or node.tag or "\n" in text[node.start:node.end]:
        return None
    line_end = text.find("\n", node.end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[node.end:line_end].rstrip("\r")
    if rest.strip() and not rest.lstrip().startswith("#"):
        return None
    key_col = loc.key_node.col if loc.key_node is not None else node.col
    content_end = line_end - 1 if line_end > 0 and text[line_end - 1] == "\r" else line_end
    eol = doc.eol
    pad = " " * (key_col + 2)
    body = eol.join((pad + l) if l else "" for l in value.split("\n"))
    # the comment after the old value stays on the header line, the line break after it stays too
    new_text = text[: node.start] + "|-" + text[node.end:content_end] + eol + body + text[content_end:]
    try:
        new = YamlDocument(new_text, bom=doc.bom, path=doc.path)
        expected = construct(doc.root, {id(node): value})
        if same_value(new.data, expected):
            return new
    except (YamlError, EditError):
        pass
    return None
