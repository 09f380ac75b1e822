"""A proposal reviewed before it is offered: its edits applied to the texts under critique, the
project's checks (`ftd check`'s) run on the patched text, and the project's rules it would break
marked — criterion ids kept stable, 3-8 calibration examples per criterion, `[REDACTED]`
markers kept — besides the keys that decide what passes (safety_gates, pass_threshold, na_valid).

A mark does not stop a person accepting a proposal; it says what to look at before they do."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from ...core.project.project import Project
from ...core.text.textsafe import clean_line
from ...core.text.yamldoc import YamlDocument, YamlError
from ...core.text.yamlpath import PathSyntaxError, parse_path
from .edits import EditFailed, apply_edits, proposal_edits

FLAG_KEYS = ("safety_gates", "pass_threshold", "na_valid")
COUNTED = ("PASS", "FAIL", "BORDERLINE_PASS", "BORDERLINE_FAIL", "NA")  # UNREVIEWED does not count (RUB003)
REDACTED = "REDACTED"


@dataclass
class Review:
    file_ids: list[str] = field(default_factory=list)  # the artifacts the edits change, in order
    patched: dict[str, str] = field(default_factory=dict)  # artifact id -> the text once applied
    problem: str = ""  # why it cannot be applied at all
    flagged: list[str] = field(default_factory=list)  # FLAG_KEYS it touches
    marks: list[str] = field(default_factory=list)  # the project's rules it would break
    findings: list[str] = field(default_factory=list)  # `ftd check` findings the patch introduces


def _keys(value: Any):
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def _named(edit: dict) -> set[str]:
    """The FLAG_KEYS an edit names: in its YAML path, its value's keys, its find / replace text."""
    names: set[str] = set()
    if edit.get("path"):
        try:
            names.update(str(s) for s in parse_path(str(edit.get("path"))))
        except PathSyntaxError:
            pass
    names.update(_keys(edit.get("value")))
    text = f"{edit.get('find') or ''}\n{edit.get('replace') or ''}"
    return {k for k in FLAG_KEYS if k in names or k in text}


def _data(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        data = YamlDocument.from_text(text).data
    except YamlError:
        return None
    return data if isinstance(data, dict) else None


def _criteria(data: dict | None) -> dict:
    c = data.get("criteria") if isinstance(data, dict) else None
    return c if isinstance(c, dict) else {}


def _count(crit: Any) -> int | None:
    """Counted calibration examples, or None for a criterion ftd computes (no judge, no examples)."""
    if not isinstance(crit, dict) or "check" in crit:
        return None
    ex = crit.get("calibration_examples")
    return sum(1 for e in ex if isinstance(e, dict) and e.get("type") in COUNTED) if isinstance(ex, list) else 0


def rubric_marks(before: str | None, after: str, lo: int = 3, hi: int = 8) -> tuple[list[str], list[str]]:
    """(marks, changed FLAG_KEYS) of a rubric edit, by comparing what the file says."""
    old, new = _data(before), _data(after)
    if old is None or new is None:
        return [], []
    marks: list[str] = []
    oc, nc = _criteria(old), _criteria(new)
    gone = [str(c) for c in oc if c not in nc]
    added = [str(c) for c in nc if c not in oc]
    if gone:
        what = "renames" if added else "removes"
        marks.append(f"{what} criterion {', '.join(gone)}{' (now ' + ', '.join(added) + ')' if added else ''}: "
                     "criterion ids stay stable; keep the id and add a new one")
    for cid, crit in nc.items():
        n = _count(crit)
        if n is None or (cid in oc and _count(oc[cid]) == n):
            continue  # unchanged: not this proposal's doing
        if n < lo or n > hi:
            marks.append(f"leaves {cid} with {n} calibration example{'' if n == 1 else 's'} "
                         f"({lo}-{hi} per criterion)")
    changed = []
    for k in ("safety_gates", "pass_threshold"):
        if old.get(k) != new.get(k):
            changed.append(k)
    if any(isinstance(c, dict) and isinstance(oc.get(cid), dict) and oc[cid].get("na_valid") != c.get("na_valid")
           for cid, c in nc.items()):
        changed.append("na_valid")  # an existing criterion's (a new one's is named in its value)
    return marks, changed


_BASELINES: "weakref.WeakKeyDictionary[Project, dict[str, set]]" = weakref.WeakKeyDictionary()


def _keyed(project: Project, texts: dict[str, str]) -> tuple[list, set]:
    from ...core.rules.checks import check_project

    result = check_project(project.overlay(texts))
    shown = [d for d in result.diagnostics if d.severity in ("error", "warning")]
    return shown, {(d.rule, d.file, d.message) for d in shown}


def new_findings(project: Project, texts: dict[str, str], patched: dict[str, str]) -> list[str]:
    """`ftd check`'s errors and warnings on the patched text that the unpatched text does not
    have (compared by rule, file and message: line numbers move with any edit)."""
    from .log import text_hash

    key = text_hash(texts)
    cache = _BASELINES.setdefault(project, {})
    if key not in cache:
        cache.clear()  # one text under critique at a time
        cache[key] = _keyed(project, texts)[1]
    shown, _ = _keyed(project, {**texts, **patched})
    return [f"{d.rule} {d.severity} {d.file}:{d.line}: {clean_line(d.message)}" for d in shown
            if (d.rule, d.file, d.message) not in cache[key]]


def review(p: dict, project: Project, texts: dict[str, str], *, check: bool = True) -> Review:
    """``texts``: artifact id -> the text under critique (the buffers as they are now)."""
    by_rel = {project.files[a].rel: a for a in texts}
    edits = proposal_edits(p)
    out = Review()
    for e in edits:
        aid = by_rel.get(str(e.get("file") or ""))
        if aid and aid not in out.file_ids:
            out.file_ids.append(aid)
    named = set().union(*(_named(e) for e in edits)) if edits else set()
    if any(str(e.get("file") or "") in ("ftd.yaml", "settings") or str(e.get("file") or "").endswith("/ftd.yaml")
           for e in edits):
        out.problem = "proposals never touch ftd.yaml"
        return out
    try:
        changed = apply_edits(edits, {rel: texts[a] for rel, a in by_rel.items()})
    except EditFailed as exc:
        out.problem = str(exc)
        out.flagged = [k for k in FLAG_KEYS if k in named]
        return out
    out.patched = {by_rel[rel]: text for rel, text in changed.items()}
    touched = set(named)
    settings = project.files["settings"].data if project.files["settings"].readable else None
    lo, hi = _example_bounds(settings)
    for aid, text in out.patched.items():
        before = texts[aid]
        if before.count(REDACTED) > text.count(REDACTED):
            out.marks.append(f"removes a [REDACTED] marker from {project.files[aid].rel}: "
                             "redacted text stays redacted")
        if aid == "rubric":
            marks, flags = rubric_marks(before, text, lo, hi)
            out.marks += marks
            touched.update(flags)
    out.flagged = [k for k in FLAG_KEYS if k in touched]
    if check and out.patched:
        try:
            out.findings = new_findings(project, texts, out.patched)
        except Exception as exc:  # a check that breaks must not hide the proposal
            out.findings = [f"the checks could not run on the patched text: {clean_line(str(exc))}"]
    return out


def _example_bounds(settings: Any) -> tuple[int, int]:
    """The calibration-example bounds in force (ftd.yaml checks.calibration_examples, else 3-8)."""
    checks = settings.get("checks") if isinstance(settings, dict) else None
    ce = checks.get("calibration_examples") if isinstance(checks, dict) else None
    lo = ce.get("min") if isinstance(ce, dict) and isinstance(ce.get("min"), int) else 3
    hi = ce.get("max") if isinstance(ce, dict) and isinstance(ce.get("max"), int) else 8
    return lo, hi
