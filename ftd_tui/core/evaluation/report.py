"""A baseline run folder → summary numbers → the report's generated sections; the person's
go / no-go decision written into the report's front matter.

The report, base-model-eval-results.md, is shared by the tool and a person: the tool owns the
front-matter keys ``run``, ``pass_rate``, ``interval``, ``recommendation`` and the text between
the generated-section markers; everything else (the ``decision`` block, comments, the notes) is
the person's and survives every rerun byte for byte. Front-matter edits go through
YamlDocument's exact span edits, never a re-dump.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..text.textsafe import visible
from ..text.yamldoc import EditError, YamlDocument, YamlError, render_flow, render_scalar, same_value
from .report_sections import END, START, render_sections
from .summary import RunSummary

DECISIONS = ("proceed", "prompt-engineer-first", "stop")
TOOL_KEYS = ("run", "pass_rate", "interval", "recommendation")

_MARKERS = re.compile(r"^" + re.escape(START) + r"[ \t]*\r?\n.*?^" + re.escape(END) + r"[ \t]*(?:\r?\n)?", re.M | re.S)


# --------------------------------------------------------------------------- the report file


def _front_values(summary: dict) -> dict[str, Any]:
    s = RunSummary.from_dict(summary)
    iv = s.interval
    rate = s.pass_rate
    return {
        "run": {"id": s.run, "inputs_hash": s.inputs_hash},
        "pass_rate": None if rate is None else round(rate, 4),
        "interval": None if iv is None else [round(iv[0], 4), round(iv[1], 4)],
        "recommendation": s.recommendation,
    }


def _split_front_matter(text: str) -> tuple[str, str, str] | None:
    """(opening line, front-matter YAML, closing line and body), or None without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].lstrip("\ufeff").rstrip("\r\n") != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n") in ("---", "..."):
            return lines[0], "".join(lines[1:i]), "".join(lines[i:])
    return None


def _eol(text: str) -> str:
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def _new_front_matter(summary: dict, eol: str) -> str:
    v = _front_values(summary)
    lines = [
        "# ftd writes run, pass_rate, interval and recommendation and replaces them on every rerun.",
        "run:",
        f"  id: {render_scalar(v['run']['id'])}",
        f"  inputs_hash: {render_scalar(v['run']['inputs_hash'])}",
        f"pass_rate: {render_scalar(v['pass_rate'])}",
        f"interval: {render_flow(v['interval'])}",
        f"recommendation: {render_scalar(v['recommendation'])}",
        "# The decision is a person's, not the tool's: reruns never touch it. Record decision",
        "# (proceed | prompt-engineer-first | stop), decided_by, decided_at and rationale,",
        "# by hand or with the app's decision dialog.",
        "decision: {}",
    ]
    return eol.join(lines) + eol


def _new_report(summary: dict) -> str:
    body = [
        "---", _new_front_matter(summary, "\n").rstrip("\n"), "---", "",
        "# Base-model evaluation", "",
        visible(render_sections(summary)).rstrip("\n"), "",
        "## Notes", "",
        "<!-- Your reading of the transcripts and the reasons behind the decision. ftd never changes this. -->", "",
    ]
    return "\n".join(body)


def _set_tool_keys(doc: YamlDocument, values: dict[str, Any]) -> YamlDocument:
    data = doc.data
    for key in TOOL_KEYS:
        new = values[key]
        old = data.get(key) if key in data else object()
        if key in data and same_value(old, new):
            continue
        if key == "run" and isinstance(old, dict) and old:
            # key by key, so a block mapping stays a block mapping
            for sub, v in new.items():
                if not (sub in old and same_value(old[sub], v)):
                    doc = doc.set((key, sub), v, create=True)
            stale = [sub for sub in old if sub not in new]
            for sub in stale:
                doc = doc.delete((key, sub))
        elif key == "interval" and isinstance(old, list) and len(old) == 2 and isinstance(new, list):
            for i in (0, 1):
                if not same_value(old[i], new[i]):
                    doc = doc.set((key, i), new[i])
        else:
            doc = doc.set((key,), new, create=True)
        data = doc.data
    return doc


def update_report(existing: str | None, summary: dict) -> str:
    """A new report, or the existing one with only the tool's keys and generated section replaced.

    Raises YamlError when the existing front matter cannot be read and EditError when an edit
    cannot be made exactly: a report that cannot be updated safely is left to the person.
    """
    if existing is None:
        return _new_report(summary)
    eol = _eol(existing)
    split = _split_front_matter(existing)
    if split is None:
        text = "---" + eol + _new_front_matter(summary, eol) + "---" + eol + eol + existing
    else:
        head, fm, tail = split
        bom = head.startswith("\ufeff")
        doc = YamlDocument.from_text(fm)
        if doc.root is None:
            fm_new = fm + _new_front_matter(summary, _eol(fm) if fm else eol)
        else:
            if not isinstance(doc.data, dict):
                raise EditError("the report's front matter is not a mapping; fix it by hand")
            fm_new = _set_tool_keys(doc, _front_values(summary)).text
        text = head + fm_new + tail
        if bom and not text.startswith("\ufeff"):
            text = "\ufeff" + text
    # the sections quote model output and project text: no raw control or bidi character in the file
    generated = visible(render_sections(summary))
    if eol != "\n":
        generated = generated.replace("\n", eol)
    m = _MARKERS.search(text)
    if m:
        return text[: m.start()] + generated + text[m.end():]
    sep = "" if text.endswith(("\n", "\r")) else eol
    return text + sep + eol + generated


# --------------------------------------------------------------------------- the decision


def _when_value(when: str) -> Any:
    # a plain date reads back as a date, which is how a person would write it by hand
    if isinstance(when, str) and len(when) == 10:
        try:
            return dt.date.fromisoformat(when)
        except ValueError:
            pass
    return when


def _render_block_value(value: Any, indent: int, eol: str) -> str:
    """A multi-line rationale as a literal block; anything it cannot hold exactly, quoted."""
    if isinstance(value, str) and "\n" in value:
        lines = value.split("\n")
        literal_ok = (not value.startswith((" ", "\n")) and not value.endswith("\n")
                      and not any(c in value for c in "\r\t") and all(l.strip() or not l for l in lines)
                      and visible(value) == value)  # a pasted escape or bidi override goes quoted, escaped
        if literal_ok:
            return "|-" + "".join(eol + (" " * indent + l if l else "") for l in lines)
    return render_scalar(value)


def _fill_decision(doc: YamlDocument, values: dict[str, Any]) -> YamlDocument:
    """Writes the decision as a block mapping where the placeholder ({} or empty) stood."""
    loc = doc.locate(("decision",))
    if loc.in_flow or loc.key_node is None:
        return doc.set(("decision",), values)
    text, eol = doc.text, doc.eol
    key = loc.key_node
    colon = text.find(":", key.end) + 1
    value_end = loc.node.end if loc.node.end > loc.node.start else colon
    line_end = text.find("\n", value_end)
    line_end = len(text) if line_end < 0 else line_end
    if line_end > 0 and text[line_end - 1] == "\r":
        line_end -= 1
    trailing = text[value_end:line_end]  # a comment after the placeholder stays on the key's line
    indent = key.col + 2
    block = "".join(f"{eol}{' ' * indent}{k}: {_render_block_value(v, indent + 2, eol)}" for k, v in values.items())
    candidate = text[:colon] + trailing.rstrip(" \t") + block + text[line_end:]
    expected = dict(doc.data)
    expected["decision"] = values
    try:
        new = YamlDocument(candidate, bom=doc.bom, path=doc.path)
        if same_value(new.data, expected):
            return new
    except YamlError:  # the hand-built block does not read back: the exact edit below writes it instead
        pass
    return doc.set(("decision",), values)


def record_decision(existing: str, decision: str, decided_by: str, rationale: str, when: str) -> str:
    """The person's decision written into the report's front matter; nothing else changes."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not str(decided_by).strip():
        raise ValueError("say who decided")
    if not str(rationale).strip():
        raise ValueError("say why: the rationale is what a later reader needs")
    if not str(when).strip():
        raise ValueError("say when the decision was made")
    split = _split_front_matter(existing)
    if split is None:
        raise ValueError("the report has no front matter; regenerate it with the baseline first")
    head, fm, tail = split
    doc = YamlDocument.from_text(fm)
    data = doc.data
    if not isinstance(data, dict):
        raise EditError("the report's front matter is not a mapping; fix it by hand")
    current = data.get("decision")
    when_key = "date" if isinstance(current, dict) and "date" in current and "decided_at" not in current else "decided_at"
    values = {"decision": decision, "decided_by": decided_by, when_key: _when_value(when), "rationale": rationale}
    run = data.get("run")
    if isinstance(run, dict) and isinstance(run.get("id"), str):
        values["run"] = run["id"]  # which results the person decided on: a rerun makes it stale
    if isinstance(current, dict) and current:
        for k, v in values.items():
            if not (k in current and same_value(current[k], v)):
                doc = doc.set(("decision", k), v, create=True)
    elif "decision" in data and current in ({}, None, ""):
        doc = _fill_decision(doc, values)
    elif "decision" not in data:
        doc = _fill_decision(doc.insert((), "decision", {}), values)
    else:
        doc = doc.set(("decision",), values)
    return head + doc.text + tail
