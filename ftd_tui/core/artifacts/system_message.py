"""The system message every conversation starts with: the system prompt, then each knowledge
file of ftd.yaml under its `--- LABEL ---` line (as generation, training and serving will send
it), so token counts, baseline conversations and judges all see the same text."""

from __future__ import annotations

from pathlib import Path

from .prompts import system_prompt_text
from .settings import knowledge_files
from ..project.boundary import FileRefused, read_inside


def knowledge_blocks(root: Path, settings: dict | None) -> list[tuple[str, str, str]]:
    """(path, label, text) per knowledge file; a missing file, one resolving outside the project
    (a symlink out) or one that is not a regular file is left out — never sent (SET012 says why)."""
    out = []
    for rel, label in knowledge_files(settings or {}):
        try:
            text = read_inside(root, rel).decode("utf-8", errors="replace")
        except FileRefused:
            continue
        out.append((rel, label, text.strip()))
    return out


def system_message(project) -> str | None:
    sp = project.files["system-prompt"].ensure_parsed()
    if sp.md is None:
        return None
    text = system_prompt_text(sp.md)[0].strip()
    sf = project.files["settings"].ensure_parsed()
    settings = sf.data if sf.readable and isinstance(sf.data, dict) else {}
    for _, label, body in knowledge_blocks(project.root, settings):
        text += f"\n\n--- {label} ---\n{body}"
    return text
