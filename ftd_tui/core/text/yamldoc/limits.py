"""What ftd refuses to read, and the two errors every YAML step raises.

The limits keep a hostile or accidental file (an alias bomb, nesting thousands deep, a binary
pasted as text) from costing more than a located refusal; ``decode_text`` is the one way bytes
become text, strictly UTF-8, with the first bad byte named by line and column.
"""

from __future__ import annotations

MAX_BYTES = 5 * 1024 * 1024
MAX_EXPANDED_NODES = 200_000
# ftd's own files nest a handful of levels; 100 leaves room for any real document while keeping
# every recursive walk over a tree (construct, compare, render, the checks) far below Python's
# recursion limit. Aliases count at the depth they are used, not only where they are defined.
MAX_DEPTH = 100
BOM = "\ufeff"


class YamlError(Exception):
    """Bad input with its location (1-based line and column)."""

    def __init__(self, message: str, line: int = 1, column: int = 1, rule: str = "YML001"):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.rule = rule


class EditError(Exception):
    """An edit that cannot be made exactly; nothing is changed."""


def decode_text(data: bytes) -> tuple[str, bool]:
    """Decode UTF-8 strictly; report the first bad byte by line and column."""
    if len(data) > MAX_BYTES:
        raise YamlError(
            f"file is {len(data) / 1e6:.1f} MB; ftd reads artifacts up to {MAX_BYTES // (1024 * 1024)} MB",
            1,
            1,
            "FIL002",
        )
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8", "replace")
        line = good.count("\n") + 1
        col = len(good) - (good.rfind("\n") + 1) + 1
        raise YamlError(f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded", line, col, "FIL003") from None
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        raise YamlError("file holds a NUL byte (binary data?)", line, i - (text.rfind("\n", 0, i) + 1) + 1, "FIL003")
    return text, bom
