"""Markdown artifacts: YAML front matter, ``##`` sections and fenced blocks, with line numbers.

Only the structure ftd relies on is parsed; the prose stays the user's, untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .yamldoc import YamlDocument, YamlError

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")


@dataclass
class FencedBlock:
    info: str
    content: str
    line: int  # 1-based line of the opening fence
    content_line: int  # 1-based line of the first content line
    closed: bool = True


@dataclass
class Section:
    title: str
    level: int
    line: int
    blocks: list[FencedBlock] = field(default_factory=list)
    text: str = ""


@dataclass
class MarkdownDoc:
    text: str
    front_matter: YamlDocument | None
    front_matter_error: YamlError | None
    front_matter_line: int  # line of the opening '---' (1) or 0 when absent
    body: str
    body_line: int  # 1-based line where the body starts
    sections: list[Section]
    blocks: list[FencedBlock]

    def section(self, title: str) -> Section | None:
        want = title.strip().lower()
        for s in self.sections:
            if s.title.strip().lower() == want:
                return s
        return None


def parse_markdown(text: str) -> MarkdownDoc:
    lines = text.splitlines(keepends=True)
    fm_doc: YamlDocument | None = None
    fm_err: YamlError | None = None
    fm_line = 0
    body_start = 0
    if lines and lines[0].rstrip("\r\n") == "---":
        for i in range(1, len(lines)):
            if lines[i].rstrip("\r\n") in ("---", "..."):
                fm_line = 1
                fm_text = "".join(lines[1:i])
                try:
                    fm_doc = YamlDocument(fm_text)
                except YamlError as exc:
                    fm_err = YamlError(exc.message, exc.line + 1, exc.column, exc.rule)
                body_start = i + 1
                break
    body = "".join(lines[body_start:])
    sections: list[Section] = []
    blocks: list[FencedBlock] = []
    current: Section | None = None
    fence: tuple[str, FencedBlock, list[str]] | None = None
    for idx in range(body_start, len(lines)):
        raw = lines[idx].rstrip("\r\n")
        lineno = idx + 1
        if fence is not None:
            marker, block, buf = fence
            m = _FENCE.match(raw)
            if m and m.group(2)[0] == marker[0] and len(m.group(2)) >= len(marker) and not m.group(3).strip():
                block.content = "".join(buf)
                fence = None
            else:
                buf.append(lines[idx] if lines[idx].endswith("\n") else lines[idx] + "\n")
            continue
        m = _FENCE.match(raw)
        if m:
            block = FencedBlock(m.group(3).strip(), "", lineno, lineno + 1)
            blocks.append(block)
            if current is not None:
                current.blocks.append(block)
            fence = (m.group(2), block, [])
            continue
        h = _HEADING.match(raw)
        if h:
            current = Section(h.group(2).strip(), len(h.group(1)), lineno)
            sections.append(current)
            continue
        if current is not None:
            current.text += lines[idx]
    if fence is not None:
        marker, block, buf = fence
        block.content = "".join(buf)
        block.closed = False
    return MarkdownDoc(text, fm_doc, fm_err, fm_line, body, body_start + 1, sections, blocks)
