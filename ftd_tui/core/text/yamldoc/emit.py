"""Values to YAML text that reads back as exactly that value: plain where plain is safe,
quoted where it is not, control and bidi characters always escaped."""

from __future__ import annotations

import math
import re
from typing import Any

from .tree import _STD_TAG, _resolve_plain

# --------------------------------------------------------------------------- emitting

_PLAIN_BAD_START = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = set(",[]{}")
# bidi marks and overrides too: legal YAML, but a file holding them raw shows one thing in a
# terminal or an editor and means another; written as \u escapes they read back the same
_NEEDS_ESCAPE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _plain_ok(s: str, flow: bool) -> bool:
    if not s or s != s.strip() or "\n" in s or "\r" in s or "\t" in s:
        return False
    if s[0] in _PLAIN_BAD_START and not (s[0] in "-?:" and len(s) > 1 and s[1] not in " \t" and not flow):
        return False
    if ": " in s or " #" in s or s.endswith(":") or _NEEDS_ESCAPE.search(s):
        return False
    if flow and (any(c in _FLOW_INDICATORS for c in s) or ":" in s):
        return False
    if s in ("---", "..."):
        return False
    return _resolve_plain(s) == _STD_TAG + "str"


def _double_quoted(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or 0x7F <= o <= 0x9F or _NEEDS_ESCAPE.match(ch):
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _single_ok(s: str) -> bool:
    return not any(c in s for c in "\n\r\t") and not _NEEDS_ESCAPE.search(s)


def render_scalar(value: Any, *, flow: bool = False, prefer: str | None = None, null_text: str = "null") -> str:
    """One-line YAML text for a scalar that reads back as exactly ``value``."""
    if value is None:
        return null_text
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if _resolve_plain(text) != _STD_TAG + "float":
            text = f"{value:.17g}"
            if "." not in text and "e" not in text:
                text += ".0"
        return text
    if isinstance(value, str):
        if prefer == "'" and _single_ok(value):
            return "'" + value.replace("'", "''") + "'"
        if prefer == '"':
            return _double_quoted(value)
        if _plain_ok(value, flow):
            return value
        if _single_ok(value):
            return "'" + value.replace("'", "''") + "'"
        return _double_quoted(value)
    # dates, datetimes: let the resolver read them back
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text if not flow or _plain_ok(text, True) or _resolve_plain(text) != _STD_TAG + "str" else _double_quoted(text)


def render_flow(value: Any, *, prefer: str | None = None, null_text: str = "null") -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{render_flow(k)}: {render_flow(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_flow(v) for v in value) + "]"
    return render_scalar(value, flow=True, prefer=prefer, null_text=null_text)


def render_value(value: Any, *, in_flow: bool, prefer: str | None = None, null_text: str = "null") -> str:
    if isinstance(value, (dict, list, tuple)):
        return render_flow(value)
    return render_scalar(value, flow=in_flow, prefer=prefer, null_text=null_text)
