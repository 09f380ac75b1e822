"""Critique logs (critiques/<artifact>/<utc-stamp>.md): what the gates read of them.

Front matter of a log:
  artifact: rubric                     # taxonomy | rubric | personas | prompts
  created: 2026-11-25T10:15:00Z
  artifact_hash: "sha256:…"            # the artifact as the experts saw it
  synthesis: true                      # the synthesis into proposals is done
  proposals:
    - {id: P1, title: …, severity: critical, disposition: accepted, reason: …}
  dispositions_artifact_hash: "sha256:…"   # the artifact after accepted patches were applied
  reviewed: {reason: …, at: …}         # "reviewed, nothing to change": counts as dispositioned
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..project.boundary import FileRefused, read_inside
from .diagnostics import Diagnostic, make
from ..text.markdown import parse_markdown
from ..text.yamldoc import YamlError, decode_text

CRITIQUED = ("taxonomy", "rubric", "personas", "prompts")
DISPOSITIONS = ("accepted", "rejected", "deferred")


def log_order(path: Path) -> tuple[str, int]:
    """Oldest first. Two critiques in one second are <stamp>.md and <stamp>-1.md, and plain name
    order puts "-1" first ('-' sorts before '.'), so the newer log would read as the older."""
    stem, _, n = path.stem.partition("-")
    return stem, int(n) if n.isdigit() else 0


@dataclass
class CritiqueStatus:
    unit: str
    latest: str | None  # relative path of the latest log
    dispositioned: bool
    stale: bool
    reason: str


def critique_status(root: Path, unit: str, current_hash: str | None) -> tuple[CritiqueStatus, list[Diagnostic]]:
    folder = root / "critiques" / unit
    try:
        logs = sorted((p for p in folder.glob("*.md") if p.is_file()), key=log_order) if folder.is_dir() else []
    except OSError as exc:  # a folder we may not enter (mode 000): say where, not a traceback
        rel_folder = f"critiques/{unit}"
        return CritiqueStatus(unit, None, False, False, f"{rel_folder}/ cannot be read"), [
            make("FIL006", rel_folder, 1, 1, f"folder cannot be read: {(exc.strerror or str(exc)).lower()}",
                 f"give yourself access: chmod u+rx {folder.parent} {folder}")]
    if not logs:
        return CritiqueStatus(unit, None, False, False, "no expert critique yet"), []
    latest = logs[-1]
    rel = latest.relative_to(root).as_posix()
    try:
        text, _ = decode_text(read_inside(root, rel))  # a log linked out of the project is not read
        md = parse_markdown(text)
        if md.front_matter_error:
            raise md.front_matter_error
        fm = md.front_matter.data if md.front_matter is not None else None
    except FileRefused as exc:
        return CritiqueStatus(unit, rel, False, False, "the latest critique cannot be read"), [
            make(exc.rule, rel, 1, 1, exc.message, exc.hint)]
    except (YamlError, OSError) as exc:
        line = getattr(exc, "line", 1)
        col = getattr(exc, "column", 1)
        msg = getattr(exc, "message", str(exc))
        return CritiqueStatus(unit, rel, False, False, "the latest critique cannot be read"), [make("CRT001", rel, line, col, msg)]
    if not isinstance(fm, dict):
        return CritiqueStatus(unit, rel, False, False, "the latest critique has no front matter"), [
            make("CRT001", rel, 1, 1, "no front matter")]
    open_items = open_proposals(fm)
    reviewed = reviewed_reason(fm)
    if fm.get("synthesis") is not True and not reviewed:
        return CritiqueStatus(unit, rel, False, False, "the latest critique has no synthesis yet"), []
    if open_items:
        return CritiqueStatus(unit, rel, False, False,
                              f"{len(open_items)} critical/major proposal(s) await a decision: " + ", ".join(open_items[:5])), []
    done = f"reviewed, nothing to change: {reviewed}" if reviewed else "critique dispositioned"
    stale = current_hash is not None and fm.get("dispositions_artifact_hash") != current_hash
    if stale:
        return CritiqueStatus(unit, rel, True, True, "the artifact changed after the critique was dispositioned"
                              + (" (reviewed, nothing to change)" if reviewed else "")), []
    return CritiqueStatus(unit, rel, True, False, done), []


def open_proposals(fm: dict) -> list[str]:
    """The ids of a log's critical and major proposals still awaiting a decision."""
    out = []
    for p in fm.get("proposals") or []:
        if not isinstance(p, dict):
            continue
        if p.get("severity") in ("critical", "major"):
            disp = p.get("disposition")
            if disp not in DISPOSITIONS or (disp != "accepted" and not str(p.get("reason") or "").strip()):
                out.append(str(p.get("id", "?")))
    return out


def reviewed_reason(fm: dict) -> str:
    """The reason of a "reviewed, nothing to change" record (``reviewed: {reason, at}``), or ""."""
    r = fm.get("reviewed")
    return " ".join(str(r.get("reason") or "").split()) if isinstance(r, dict) else ""
