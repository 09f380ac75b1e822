"""Dotted paths into YAML documents: ``criteria.CQ1.na_valid``, ``taxonomy.topics[2].weight``.

A segment is a mapping key (a string) or a list index (an int). Keys holding dots,
brackets or spaces are written quoted: ``servers."api.example.com".port``.
"""

from __future__ import annotations

Segment = str | int
Path = tuple[Segment, ...]


class PathSyntaxError(ValueError):
    pass


def parse_path(text: str) -> Path:
    segments: list[Segment] = []
    i, n = 0, len(text)
    if not text.strip():
        raise PathSyntaxError("empty path")
    expect_key = True
    while i < n:
        ch = text[i]
        if ch == "[":
            close = text.find("]", i)
            if close < 0:
                raise PathSyntaxError(f"unclosed '[' at column {i + 1} of {text!r}")
            inner = text[i + 1 : close].strip()
            try:
                segments.append(int(inner))
            except ValueError:
                raise PathSyntaxError(f"list index must be a whole number, got {inner!r}") from None
            i = close + 1
            expect_key = False
        elif ch == ".":
            if expect_key:
                raise PathSyntaxError(f"empty key at column {i + 1} of {text!r}")
            i += 1
            expect_key = True
        elif ch in "\"'":
            close = text.find(ch, i + 1)
            if close < 0:
                raise PathSyntaxError(f"unclosed quote at column {i + 1} of {text!r}")
            segments.append(text[i + 1 : close])
            i = close + 1
            expect_key = False
        else:
            j = i
            while j < n and text[j] not in ".[":
                j += 1
            segments.append(text[i:j])
            i = j
            expect_key = False
    if expect_key:
        raise PathSyntaxError(f"path ends with '.': {text!r}")
    return tuple(segments)


def format_path(path: Path) -> str:
    out = ""
    for seg in path:
        if isinstance(seg, int) and not isinstance(seg, bool):
            out += f"[{seg}]"
        else:
            if not isinstance(seg, str):
                # a key YAML read as a bool, float or date (``true:``, ``1.5:``, ``2024-01-01:``):
                # named as written, so a message can still say where it is
                seg = "null" if seg is None else str(seg).lower() if isinstance(seg, bool) else str(seg)
            plain = seg and all(c not in seg for c in ".[]\"' ")
            piece = seg if plain else '"' + seg + '"'
            out += ("." if out else "") + piece
    return out
