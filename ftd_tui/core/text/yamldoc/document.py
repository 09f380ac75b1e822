"""The document: a YAML file held as its original text and its node tree.

Loading, saving (BOM and line endings kept), the plain data, and where a path leads (its node, its
1-based line and column). The edits (edits.py) and the text surgery behind them (surgery.py) are
the two halves it is made of; each edit returns a new document and leaves this one unchanged.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from ..yamlpath import Path, Segment, format_path, parse_path
from .edits import Edits
from .limits import BOM, YamlError, decode_text
from .parsing import parse_nodes
from .surgery import TextSurgery
from .tree import Located, Node, construct, scalar_value


class YamlDocument(Edits, TextSurgery):
    """A YAML file held as text, with its node tree; edits touch only their own span."""

    def __init__(self, text: str, *, bom: bool = False, path: str | None = None):
        self.text = text
        self.bom = bom
        self.path = path
        self.root = parse_nodes(text)
        self._data: Any = None
        self._data_ready = False
        self._line_starts: list[int] | None = None
        self._key_indexes: dict[int, tuple[dict, dict]] = {}

    # ---- loading and saving
    @classmethod
    def from_bytes(cls, data: bytes, path: str | None = None) -> YamlDocument:
        text, bom = decode_text(data)
        return cls(text, bom=bom, path=path)

    @classmethod
    def from_text(cls, text: str, path: str | None = None) -> YamlDocument:
        bom = text.startswith(BOM)
        return cls(text[1:] if bom else text, bom=bom, path=path)

    def to_bytes(self) -> bytes:
        return ((BOM if self.bom else "") + self.text).encode("utf-8")

    @property
    def data(self) -> Any:
        if not self._data_ready:
            self._data = construct(self.root)
            self._data_ready = True
        return self._data

    @property
    def eol(self) -> str:
        i = self.text.find("\n")
        return "\r\n" if i > 0 and self.text[i - 1] == "\r" else "\n"

    # ---- positions
    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        if self._line_starts is None:
            starts = [0]
            starts.extend(m.end() for m in re.finditer("\n", self.text))
            self._line_starts = starts
        i = bisect.bisect_right(self._line_starts, offset) - 1
        return i + 1, offset - self._line_starts[i] + 1

    def locate(self, path: Path | str) -> Located:
        if isinstance(path, str):
            path = parse_path(path)
        node, parent, key_node, index, in_flow = self.root, None, None, None, False
        if node is None:
            raise KeyError(format_path(path) or "(root)")
        for depth, seg in enumerate(path):
            cur = node.target if node.kind == "alias" else node
            in_flow = in_flow or cur.flow
            found = None
            if cur.kind == "map":
                i = self._key_position(cur, seg)
                if i is not None:
                    k, v = cur.value[i]
                    found = (v, cur, k, i)
            elif cur.kind == "seq" and isinstance(seg, int):
                n = len(cur.value)
                idx = seg + n if seg < 0 else seg
                if 0 <= idx < n:
                    found = (cur.value[idx], cur, None, idx)
            if found is None:
                raise KeyError(format_path(path[: depth + 1]))
            node, parent, key_node, index = found
        return Located(node, parent, key_node, index, in_flow, tuple(path))

    def _key_position(self, node: Node, seg: Segment) -> int | None:
        """Index of the first entry of mapping ``node`` whose key matches ``seg`` (as
        _key_matches decides). Every finding is located through here, so a scan per lookup
        made checking a file with thousands of findings quadratic; the index is built once
        per mapping, on first use."""
        index = self._key_indexes.get(id(node))
        if index is None:
            by_text: dict[str, int] = {}
            by_number: dict[Any, int] = {}
            for i, (k, _) in enumerate(node.value):
                kk = k.target if k.kind == "alias" else k
                if kk.kind != "scalar":
                    continue
                by_text.setdefault(kk.value, i)
                try:
                    v = scalar_value(kk)
                except YamlError:
                    continue
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    by_number.setdefault(v, i)
            index = self._key_indexes[id(node)] = (by_text, by_number)
        if isinstance(seg, bool):
            return None
        if isinstance(seg, (int, float)):  # a float only from a checker's path: a key like ``1.5:``
            return index[1].get(seg)
        if isinstance(seg, str):
            return index[0].get(seg)
        return None

    def position(self, path: Path | str, *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the node at ``path`` (or its key), or of the nearest
        ancestor that exists."""
        if isinstance(path, str):
            path = parse_path(path)
        for cut in range(len(path), -1, -1):
            try:
                loc = self.locate(path[:cut])
            except KeyError:
                continue
            node = loc.key_node if (key or cut < len(path)) and loc.key_node is not None else loc.node
            return node.line + 1, node.col + 1
        return 1, 1

    def get(self, path: Path | str) -> Any:
        loc = self.locate(path)
        return construct(loc.node)
