"""Critique logs: critiques/<unit>/<UTC stamp>.md, created exclusively (never overwriting).

Front matter (read by core.rules.critique_gate for the gates): unit, created, model, the hash of
the text the experts judged, synthesis, proposals with their dispositions, and the hash of
the artifact as it stands once the dispositions are recorded. The body keeps every answer."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

from ...core.text.markdown import parse_markdown
from ...core.project.storage import FileStamp, save_atomic
from ...core.text.textsafe import visible
from ...core.text.yamldoc import YamlDocument, decode_text


def text_hash(texts: dict[str, str]) -> str:
    """The identity of the texts a critique read: recorded in its log, compared to tell a stale one."""
    h = hashlib.sha256()
    for aid in sorted(texts):
        h.update(aid.encode() + b"\0" + texts[aid].encode("utf-8") + b"\0")
    return "sha256:" + h.hexdigest()


def _dump(data: dict) -> str:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 1_000_000
    y.allow_unicode = True
    # keys in the order written: a proposal's edit values (a new criterion) apply from the log
    # later, and its name, question and examples read in the order a person wrote them
    y.sort_base_mapping_type_on_output = False
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def write_log(root: Path, unit: str, front: dict[str, Any], answers: list[tuple[str, str, str]]) -> Path:
    """answers: (heading, status, text)."""
    folder = root / "critiques" / unit
    folder.mkdir(parents=True, exist_ok=True)
    body = [f"# Expert critique: {unit}", "",
            "The experts below are fictional, role-played by a language model; none is a real person.", ""]
    ctx = front.get("context") if isinstance(front.get("context"), dict) else None
    if ctx:
        body += ["## What every expert was shown", "", "The artifact whole, the domain and constraints, and:", ""]
        body += [f"- {line}" for line in ctx.get("shown") or []]
        body += [f"- cut to fit the {ctx.get('budget'):,}-token digest: {line}" for line in ctx.get("cut") or []] \
            or ["- nothing was cut to fit"]
        body += [f"- an answer budget of {ctx.get('answer_words')} words, plus the test material", ""]
    for heading, status, text in answers:
        body += [f"## {heading}", "", f"*{status}*", "", text.strip() or "(no answer)", ""]
    # model output goes into a file people `cat`: every control and bidi character is written
    # as a visible escape (\x1b, \u202e), so an OSC 52 in an answer cannot reach a terminal
    content = visible("---\n" + _dump(front) + "---\n\n" + "\n".join(body))
    for n in range(100):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + (f"-{n}" if n else "")
        path = folder / f"{stamp}.md"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        return path
    raise OSError("could not create a new critique log")


def _edit_front(path: Path, values: list[tuple[str, object]]) -> None:
    """Set each (YAML path, value) in the log's front matter with exact edits, then write it
    back atomically (refused when the log changed on disk since it was read). The body is kept
    byte for byte; the new text is written visible, so a pasted reason cannot carry an escape."""
    data = path.read_bytes()
    stamp = FileStamp.of(path, data)
    text, _ = decode_text(data)
    md = parse_markdown(text)
    if md.front_matter is None:
        raise ValueError(f"{path} has no front matter")
    fm: YamlDocument = md.front_matter
    for key, value in values:
        fm = fm.set(key, value, create=True)
    end = text.index("\n---", 3) + 1  # the closing fence of the front matter
    save_atomic(path, visible("---\n" + fm.text + text[end:]).encode("utf-8"), stamp)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def record_disposition(path: Path, index: int, disposition: str, reason: str, artifact_hash: str | None) -> None:
    """Set one proposal's disposition with exact edits to the log's front matter."""
    _edit_front(path, [(f"proposals[{index}].disposition", disposition), (f"proposals[{index}].reason", reason),
                       (f"proposals[{index}].decided_at", _now()), ("dispositions_artifact_hash", artifact_hash)])


def record_reviewed(path: Path, reason: str, artifact_hash: str | None) -> None:
    """"Reviewed, nothing to change": ``reviewed: {reason, at}`` and the artifact's hash, as
    exact edits to the log's front matter. The gate counts it like a disposition (stale once
    the artifact changes); critical and major proposals are decided one by one, never waved through."""
    reason = " ".join(str(reason).split())
    if not reason:
        raise ValueError("a reason is needed: why nothing needs to change")
    _edit_front(path, [("reviewed", {"reason": reason, "at": _now()}), ("dispositions_artifact_hash", artifact_hash)])


def record_candidate(path: Path, index: int, disposition: str, where: str | None = None) -> None:
    """A candidate's fate ("taken" into the rubric or the scenarios, or "dropped"), as exact
    edits to the log's front matter; the candidates never gate, so no hash is recorded."""
    values: list[tuple[str, object]] = [(f"candidates[{index}].disposition", disposition),
                                        (f"candidates[{index}].decided_at", _now())]
    if where:
        values.append((f"candidates[{index}].taken_into", where))
    _edit_front(path, values)


def read_front(path: Path) -> dict:
    text, _ = decode_text(path.read_bytes())
    md = parse_markdown(text)
    return md.front_matter.data if md.front_matter is not None and isinstance(md.front_matter.data, dict) else {}


def read_answers(path: Path) -> list[tuple[str, str, str]]:
    """(heading, status, text) of each voice, as write_log wrote them: to show an earlier
    critique's answers again. The log is ours, but a person may have edited it: a section that
    does not have the shape is skipped, never guessed at."""
    import re

    text, _ = decode_text(path.read_bytes())
    body = parse_markdown(text).body
    # a voice's section: its heading, then its status in italics; an answer's own "## Test
    # material" heading has no status line, so it stays inside the answer
    status = r"(?:waiting|streaming|done|error|cancelled)(?:: [^\n]*)?"
    section = rf"^## ([^\n]+)\n\n\*({status})\*\n\n(.*?)(?=^## [^\n]+\n\n\*{status}\*\n\n|\Z)"
    out = []
    for m in re.finditer(section, body, re.S | re.M):
        heading, status, answer = m.group(1), m.group(2), m.group(3).rstrip("\n")
        out.append((heading, status, "" if answer == "(no answer)" else answer))
    return out
