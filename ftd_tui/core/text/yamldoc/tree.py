"""The node tree ruamel's composer gives, with exact spans, and the plain values it holds.

A ``Node`` keeps its start and end offsets into the (BOM-less) text, so an edit can replace exactly
its span; ``Located`` is where a path leads in that tree. Plain scalars are resolved as ruamel's
YAML 1.2 core schema resolves them, so values read here and by ruamel always agree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..yamlpath import Path
from .limits import YamlError

_STD_TAG = "tag:yaml.org,2002:"
_SAFE_TAGS = {_STD_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


@dataclass(eq=False, slots=True)
class Node:
    kind: str  # "scalar" | "map" | "seq" | "alias"
    start: int  # character offsets into the (BOM-less) text
    end: int
    line: int  # 0-based, from the parser
    col: int
    tag: str | None = None
    anchor: str | None = None
    style: str | None = None  # scalars: None (plain), "'", '"', "|", ">"
    flow: bool = False  # collections written in flow style
    value: Any = None  # scalar: str; seq: list[Node]; map: list[tuple[Node, Node]]
    target: Node | None = None  # aliases: the anchored node
    implicit: tuple[bool, bool] = (True, True)
    end_line: int = 0
    end_col: int = 0
    size: int = field(default=1)  # expanded node count (alias bombs)
    height: int = field(default=0)  # collection levels in and below this node, aliases expanded


@dataclass
class Located:
    node: Node
    parent: Node | None
    key_node: Node | None  # for mapping values
    index: int | None  # position within the parent
    in_flow: bool
    path: Path = ()


# --------------------------------------------------------------------------- values

# YAML 1.2 core schema, as ruamel.yaml resolves plain scalars (copied from its resolver so
# that values read here and by ruamel always agree; a test compares the two on the corpus).
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT_RE = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_TIMESTAMP_RE = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_resolved: dict[str, str] = {}


def _resolve_plain(value: str) -> str:
    tag = _resolved.get(value)
    if tag is not None:
        return tag
    first = value[:1]
    if first in "tTfF" and _BOOL_RE.match(value):
        tag = "bool"
    elif first in "-+0123456789." and _FLOAT_RE.match(value):
        tag = "float"
    elif first in "-+0123456789" and _INT_RE.match(value):
        tag = "int"
    elif first == "<" and value == "<<":
        tag = "merge"
    elif first in ("~", "n", "N", "") and _NULL_RE.match(value):
        tag = "null"
    elif first in "0123456789" and _TIMESTAMP_RE.match(value):
        tag = "timestamp"
    else:
        tag = "str"
    tag = _STD_TAG + tag
    if len(_resolved) < 50_000:
        _resolved[value] = tag
    return tag


def _to_int(text: str) -> int:
    s = text.replace("_", "")
    sign = -1 if s[0] == "-" else 1
    if s[0] in "+-":
        s = s[1:]
    if s.startswith("0b"):
        return sign * int(s[2:], 2)
    if s.startswith("0x"):
        return sign * int(s[2:], 16)
    if s.startswith("0o"):
        return sign * int(s[2:], 8)
    return sign * int(s)


def _to_float(text: str) -> float:
    s = text.replace("_", "").lower()
    sign = -1.0 if s[0] == "-" else 1.0
    if s[0] in "+-":
        s = s[1:]
    if s == ".inf":
        return sign * math.inf
    if s == ".nan":
        return math.nan
    return sign * float(s)


def _to_timestamp(text: str) -> Any:
    import datetime as dt

    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        norm = re.sub(r"[ \t]+", " ", text.strip()).replace(" Z", "Z")
        return dt.datetime.fromisoformat(norm.replace("t", "T").replace(" ", "T", 1))
    except ValueError:
        return text


def scalar_value(node: Node) -> Any:
    tag = node.tag
    if not tag or tag == "!":
        if node.style is not None or tag == "!":
            return node.value
        tag = _resolve_plain(node.value)
    short = tag[len(_STD_TAG) :] if tag.startswith(_STD_TAG) else tag
    try:
        if short == "str":
            return node.value
        if short == "null":
            return None
        if short == "bool":
            return node.value.lower() == "true"
        if short == "int":
            return _to_int(node.value)
        if short == "float":
            return _to_float(node.value)
        if short == "timestamp":
            return _to_timestamp(node.value)
    except (ValueError, IndexError):
        raise YamlError(f"cannot read {node.value!r} as {short}", node.line + 1, node.col + 1) from None
    if short == "merge":
        raise YamlError("merge keys (<<) are not supported in ftd files", node.line + 1, node.col + 1, "YML006")
    return node.value


def construct(node: Node | None, overrides: dict[int, Any] | None = None) -> Any:
    """Plain Python value of a node tree (dict / list / scalars). Aliases share objects."""
    memo: dict[int, Any] = {}
    return _construct(node, memo, overrides or {})


def _construct(node: Node | None, memo: dict[int, Any], overrides: dict[int, Any]) -> Any:
    if node is None:
        return None
    if node.kind == "alias":
        node = node.target
    key = id(node)
    if key in overrides:
        return overrides[key]
    if key in memo:
        return memo[key]
    if node.kind == "scalar":
        return scalar_value(node)
    if node.kind == "seq":
        out: list = []
        memo[key] = out
        out.extend(_construct(i, memo, overrides) for i in node.value)
        return out
    out_map: dict = {}
    memo[key] = out_map
    for k, v in node.value:
        kk = k.target if k.kind == "alias" else k
        if kk.kind != "scalar":
            raise YamlError("complex (non-scalar) mapping keys are not supported", k.line + 1, k.col + 1)
        kv = scalar_value(kk)
        try:
            hash(kv)
        except TypeError:
            raise YamlError("unhashable mapping key", k.line + 1, k.col + 1) from None
        if kv in out_map:
            raise YamlError(f"duplicate key {kk.value!r}", k.line + 1, k.col + 1, "YML005")
        out_map[kv] = _construct(v, memo, overrides)
    return out_map


def same_value(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN and 1 != True."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b
