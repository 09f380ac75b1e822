"""Critique logs: critiques/<unit>/<UTC stamp>.md, created exclusively (never overwriting).

Front matter (read by core.critique_log for the gates): unit, created, model, the hash of
the text the experts judged, synthesis, proposals with their dispositions, and the hash of
the artifact as it stands once the dispositions are recorded. The body keeps every answer."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

from ..core.markdown import parse_markdown
from ..core.project import FileStamp, save_atomic
from ..core.textsafe import visible
from ..core.yamldoc import YamlDocument, decode_text


def _dump(data: dict) -> str:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 1_000_000
    y.allow_unicode = True
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def write_log(root: Path, unit: str, front: dict[str, Any], answers: list[tuple[str, str, str]]) -> Path:
    """answers: (heading, status, text)."""
    folder = root / "critiques" / unit
    folder.mkdir(parents=True, exist_ok=True)
    body = [f"# Expert critique: {unit}", "",
            "The experts below are fictional, role-played by a language model; none is a real person.", ""]
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


def record_disposition(path: Path, index: int, disposition: str, reason: str, artifact_hash: str | None) -> None:
    """Set one proposal's disposition with exact edits to the log's front matter."""
    data = path.read_bytes()
    stamp = FileStamp.of(path, data)
    text, _ = decode_text(data)
    md = parse_markdown(text)
    if md.front_matter is None:
        raise ValueError(f"{path} has no front matter")
    fm: YamlDocument = md.front_matter
    fm = fm.set(f"proposals[{index}].disposition", disposition, create=True)
    fm = fm.set(f"proposals[{index}].reason", reason, create=True)
    fm = fm.set(f"proposals[{index}].decided_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), create=True)
    fm = fm.set("dispositions_artifact_hash", artifact_hash, create=True)
    end = text.index("\n---", 3) + 1  # the closing fence of the front matter
    save_atomic(path, visible("---\n" + fm.text + text[end:]).encode("utf-8"), stamp)  # a pasted reason too


def read_front(path: Path) -> dict:
    text, _ = decode_text(path.read_bytes())
    md = parse_markdown(text)
    return md.front_matter.data if md.front_matter is not None and isinstance(md.front_matter.data, dict) else {}
