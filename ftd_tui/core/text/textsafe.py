"""Text from projects and models is data: strip what a terminal would act on, and keep what
ftd writes free of anything a terminal would act on."""

from __future__ import annotations

import json
import re
from typing import Any

# CSI / OSC / other escape sequences first, then any remaining C0 / C1 control
# character except tab and newline (an OSC 52 sequence can rewrite the clipboard).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What JSON leaves raw with ensure_ascii=False: DEL, C1 controls, bidi marks and overrides,
# the line / paragraph separators. JSON already escapes C0 (\u001b) itself.
_JSON_RAW = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Remove terminal escape sequences, control characters and bidi overrides."""
    if not text:
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def clean_line(text: str) -> str:
    """As clean(), and fold newlines so the text stays on one line."""
    return clean(text).replace("\n", " ").replace("\t", " ")


def visible(text: str) -> str:
    """For text files ftd writes (critique logs, reports): every control character other than
    newline and tab, and every bidi control, becomes a visible escape (``\\x1b``, ``\\u202e``)
    instead of being dropped, so a reader sees that it was there and a terminal acts on none."""
    if not text:
        return text
    return _CONTROLS.sub(_escape_char, text.replace("\r\n", "\n"))


def _escape_char(m: re.Match) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_text(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that keeps non-English text readable (ensure_ascii=False) yet holds no raw
    control or bidi character: those are written as ``\\uXXXX`` escapes, so the file's bytes are
    inert in a terminal while ``json.loads`` still gives back the model's output byte for byte."""
    kwargs.setdefault("ensure_ascii", False)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(value, **kwargs))
