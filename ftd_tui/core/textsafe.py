"""Text from projects and models is data: strip what a terminal would act on."""

from __future__ import annotations

import re

# CSI / OSC / other escape sequences first, then any remaining C0 / C1 control
# character except tab and newline (an OSC 52 sequence can rewrite the clipboard).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Remove terminal escape sequences, control characters and bidi overrides."""
    if not text:
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def clean_line(text: str) -> str:
    """As clean(), and fold newlines so the text stays on one line."""
    return clean(text).replace("\n", " ").replace("\t", " ")
