"""Round-trip YAML documents: the original text, a node tree with exact spans, minimal edits.

Dumping a ruamel tree re-emits the whole document and, on ordinary but awkward files,
rewrites lines nobody asked to change. So ftd reads the tree only to *understand* a file
and writes by replacing the exact span of text that holds the node being changed.
Every edit is verified by parsing the result and comparing it with the intended value;
an edit that cannot be made exactly is refused, never approximated.

Parsing uses libyaml through ruamel.yaml.clib (about 40x faster than the pure-Python
parser; the live diagnostics path depends on it) and falls back to ruamel's own parser.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .yamlpath import Path, Segment, format_path, parse_path

MAX_BYTES = 5 * 1024 * 1024
MAX_EXPANDED_NODES = 200_000
# ftd's own files nest a handful of levels; 100 leaves room for any real document while keeping
# every recursive walk over a tree (construct, compare, render, the checks) far below Python's
# recursion limit. Aliases count at the depth they are used, not only where they are defined.
MAX_DEPTH = 100
BOM = "\ufeff"

_STD_TAG = "tag:yaml.org,2002:"
_SAFE_TAGS = {_STD_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


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


# --------------------------------------------------------------------------- parsing


def _parser(text: str):
    try:
        from ruamel.yaml.cyaml import CParser

        return CParser(text)
    except Exception:  # pragma: no cover - clib missing on exotic interpreters
        from ruamel.yaml.loader import SafeLoader

        return SafeLoader(text)


def parse_nodes(text: str) -> Node | None:
    """Parse one YAML document into a Node tree. Raises YamlError with a location."""
    try:
        return _parse_nodes(text, _parser)
    except YamlError as exc:
        if exc.rule != "YML001":
            raise
        # libyaml speaks YAML 1.1 and refuses a few 1.2 forms (``[docker:24-dind]``);
        # ruamel's own parser is the arbiter before we call a file invalid -- except on deep
        # flow nesting, where its scanner is quadratic (seconds per document) and the answer
        # could only be "too deep" anyway: libyaml's located error stands.
        if _flow_depth_over(text, MAX_DEPTH):
            raise
        from ruamel.yaml.loader import SafeLoader

        try:
            return _parse_nodes(text, SafeLoader)
        except YamlError as second:
            # a refusal ftd makes itself (a null key, too deep) says more than libyaml's syntax error
            raise (second if second.rule != "YML001" else exc) from None
        except Exception:
            raise exc from None


def _flow_depth_over(text: str, limit: int) -> bool:
    """Whether ``[`` / ``{`` ever nest past ``limit``, counted crudely (quotes and comments
    are not skipped, so this can only over-count). Cheap: str.count first, then only the
    brackets themselves are visited."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for m in re.finditer(r"[\[\]{}]", text):
        depth += 1 if m.group() in "[{" else -1
        if depth > limit:
            return True
        depth = max(depth, 0)
    return False


def _too_deep(line: int, col: int, through: str = "") -> YamlError:
    return YamlError(f"nesting deeper than {MAX_DEPTH} levels{through}: lists and mappings inside one another "
                     "this deep are refused (ftd's own files need a handful)",
                     line + 1, col + 1, "YML008")


def _check_key(node: Node) -> None:
    """A mapping key must be a non-null scalar: ftd's paths, messages and edits name keys by
    their text, and a collection, an alias to one, or a null cannot be named."""
    key = node.target if node.kind == "alias" and node.target is not None else node
    if key.kind != "scalar":
        what = "an alias to a collection" if node.kind == "alias" else "a collection"
        raise YamlError(f"a mapping key is {what}; ftd reads only plain keys (text or numbers)",
                        node.line + 1, node.col + 1, "YML009")
    if key.tag == _STD_TAG + "null" or (key.tag is None and key.style is None and _resolve_plain(key.value) == _STD_TAG + "null"):
        shown = f" ({key.value!r})" if key.value else " (nothing before the ':')"
        raise YamlError(f"a mapping key is null{shown}; give the entry a name", node.line + 1, node.col + 1, "YML009")


def _parse_nodes(text: str, make_parser) -> Node | None:
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    anchors: dict[str, Node] = {}
    stack: list[tuple[Node, list]] = []
    open_ids: set[int] = set()  # collections begun and not yet ended (a recursive alias names one)
    root: Node | None = None
    docs = 0

    def attach(node: Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent, pending = stack[-1]
        if parent.kind == "seq":
            parent.value.append(node)
        elif pending:
            parent.value.append((pending.pop(), node))
        else:
            _check_key(node)
            pending.append(node)

    try:
        parser = make_parser(text)
        while parser.check_event():
            e = parser.get_event()
            t = type(e)
            sm, em = e.start_mark, e.end_mark
            if t is ev.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    raise YamlError(
                        "this file holds more than one YAML document; ftd reads exactly one",
                        sm.line + 1,
                        sm.column + 1,
                        "YML002",
                    )
            elif t is ev.ScalarEvent:
                node = Node("scalar", sm.index, em.index, sm.line, sm.column, e.tag, e.anchor, e.style or None, False, e.value)
                node.implicit = e.implicit
                node.end_line, node.end_col = em.line, em.column
                _check_tag(node)
                if e.anchor:
                    anchors[e.anchor] = node
                attach(node)
            elif t is ev.MappingStartEvent or t is ev.SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:  # refused while parsing: nothing deeper is ever built
                    raise _too_deep(sm.line, sm.column)
                kind = "map" if t is ev.MappingStartEvent else "seq"
                node = Node(kind, sm.index, em.index, sm.line, sm.column, e.tag, e.anchor, None, bool(e.flow_style), [])
                _check_tag(node)
                if e.anchor:
                    anchors[e.anchor] = node
                attach(node)
                stack.append((node, []))
                open_ids.add(id(node))
            elif t is ev.MappingEndEvent or t is ev.SequenceEndEvent:
                node, _ = stack.pop()
                open_ids.discard(id(node))
                node.end, node.end_line, node.end_col = em.index, em.line, em.column
                children = [n for kv in node.value for n in kv] if node.kind == "map" else node.value
                node.height = 1 + max((c.height for c in children), default=0)
                node.size = 1 + sum(
                    (k.size + v.size) if node.kind == "map" else 0 for k, v in node.value
                ) if node.kind == "map" else 1 + sum(i.size for i in node.value)
                if node.size > MAX_EXPANDED_NODES:
                    raise YamlError(
                        f"aliases expand this document past {MAX_EXPANDED_NODES:,} nodes "
                        "(an alias bomb?); refused",
                        node.line + 1,
                        node.col + 1,
                        "YML004",
                    )
            elif t is ev.AliasEvent:
                target = anchors.get(e.anchor)
                if target is None:
                    raise YamlError(f"alias *{e.anchor} names no anchor defined before it", sm.line + 1, sm.column + 1)
                if id(target) in open_ids:
                    raise YamlError(f"alias *{e.anchor} is inside the node &{e.anchor} it names: it would expand "
                                    "without end (a recursive alias); refused", sm.line + 1, sm.column + 1, "YML004")
                if len(stack) + target.height > MAX_DEPTH:
                    raise _too_deep(sm.line, sm.column, f" (through alias *{e.anchor})")
                node = Node("alias", sm.index, em.index, sm.line, sm.column, None, e.anchor, None, False, None, target)
                node.end_line, node.end_col = em.line, em.column
                node.size = target.size
                node.height = target.height
                attach(node)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise YamlError(f"{problem}{context}", (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1) from None
    except ReaderError as exc:
        pos = exc.position if isinstance(exc.position, int) else 0
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        raise YamlError(f"character U+{char:04X} is not allowed in YAML (control characters must be escaped)",
                        line, col, "YML001") from None
    except YAMLError as exc:  # anything else the parser objects to, still with a place if it has one
        mark = getattr(exc, "problem_mark", None)
        raise YamlError(str(getattr(exc, "problem", None) or exc).splitlines()[0],
                        (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1) from None
    except RecursionError:  # never expected past the MAX_DEPTH check; still a located refusal
        raise YamlError(f"nesting deeper than this parser can follow; ftd reads at most {MAX_DEPTH} levels",
                        1, 1, "YML008") from None
    return root


def _check_tag(node: Node) -> None:
    tag = node.tag
    if tag is None or tag == "!" or tag in _SAFE_TAGS:
        return
    shown = tag.replace(_STD_TAG, "!!")
    raise YamlError(
        f"tag {shown} refused: ftd treats project files as data and never constructs tagged objects",
        node.line + 1,
        node.col + 1,
        "YML003",
    )


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


# --------------------------------------------------------------------------- the document


@dataclass
class Located:
    node: Node
    parent: Node | None
    key_node: Node | None  # for mapping values
    index: int | None  # position within the parent
    in_flow: bool
    path: Path = ()


class YamlDocument:
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

    # ---- edits (each returns a new YamlDocument; self is unchanged)
    def set(self, path: Path | str, value: Any, *, create: bool = False) -> YamlDocument:
        path = parse_path(path) if isinstance(path, str) else tuple(path)
        if not path:
            raise EditError("cannot replace the whole document")
        try:
            loc = self.locate(path)
        except KeyError as missing:
            if not create:
                raise
            return self._create(path, value, str(missing.args[0]))
        if loc.node.kind in ("map", "seq"):
            self._refuse_orphans(loc.node, None, keep_self=True)
        new_text = self._replace_node(loc, value)
        return self._verified(new_text, path, "set", value, loc)

    def insert(self, path: Path | str, key: str, value: Any) -> YamlDocument:
        path = parse_path(path) if isinstance(path, str) else tuple(path)
        target = self._container(path, "map")
        for k, _ in target.node.value:
            if _key_matches(k, key):
                raise EditError(f"key {key!r} already exists at {format_path(path) or '(root)'}")
        new_text = self._insert_key(target, key, value)
        return self._verified(new_text, path, "insert", (key, value), target)

    def append(self, path: Path | str, value: Any) -> YamlDocument:
        path = parse_path(path) if isinstance(path, str) else tuple(path)
        target = self._container(path, "seq")
        new_text = self._append_item(target, value)
        return self._verified(new_text, path, "append", value, target)

    def append_block(self, path: Path | str, value: dict) -> YamlDocument:
        """``append`` of a flat mapping written in block style, a multi-line string as a ``|``
        block: what a person will read and edit (a calibration example), not one long flow
        line. Verified like every edit; where block style cannot hold the value exactly (a flow
        list, a string with leading spaces), it falls back to ``append``."""
        path = parse_path(path) if isinstance(path, str) else tuple(path)
        target = self._container(path, "seq")
        node = target.node
        if node.flow or target.in_flow or not node.value or not value:
            return self.append(path, value)
        pad = " " * node.col
        lines = []
        for i, (k, v) in enumerate(value.items()):
            lead = f"{pad}- " if i == 0 else f"{pad}  "
            if isinstance(v, str) and "\n" in v.strip("\n") and not v[:1].isspace() and "\r" not in v \
                    and all(not l.strip() or l == l.rstrip() for l in v.splitlines()):
                chomp = "" if v.endswith("\n") and not v.endswith("\n\n") else "-" if not v.endswith("\n") else "+"
                lines.append(f"{lead}{render_scalar(k)}: |{chomp}")
                lines += [(f"{pad}    {l}" if l else "") for l in v.rstrip("\n").split("\n")]
                if chomp == "+":
                    lines += [""] * (len(v) - len(v.rstrip("\n")) - 1)
            else:
                lines.append(f"{lead}{render_scalar(k)}: {render_value(v, in_flow=False)}")
        at = self._line_end(max(self._content_end(node) - 1, 0))
        block = self.eol.join(lines)
        text = self.text
        new_text = text + self.eol + block if at == len(text) and not text.endswith("\n") else \
            text[:at] + block + self.eol + text[at:]
        try:
            return self._verified(new_text, path, "append", value, target)
        except EditError:
            return self.append(path, value)

    def delete(self, path: Path | str) -> YamlDocument:
        path = parse_path(path) if isinstance(path, str) else tuple(path)
        if not path:
            raise EditError("cannot delete the whole document")
        loc = self.locate(path)
        if loc.parent is None:
            raise EditError("cannot delete the document root")
        self._refuse_orphans(loc.node, loc.key_node, keep_self=False)
        new_text = self._delete_entry(loc)
        return self._verified(new_text, path, "delete", None, loc)

    # ---- internals
    def _refuse_orphans(self, node: Node, key: Node | None, *, keep_self: bool) -> None:
        """Refuse to remove an anchor that aliases elsewhere still refer to."""
        inside: set[int] = set()

        def mark(n: Node) -> None:
            inside.add(id(n))
            if n.kind == "map":
                for k, v in n.value:
                    mark(k)
                    mark(v)
            elif n.kind == "seq":
                for i in n.value:
                    mark(i)

        mark(node)
        if key is not None:
            mark(key)
        if keep_self:
            inside.discard(id(node))  # its own anchor survives the replacement

        def outside_aliases(n: Node | None):
            if n is None:
                return
            if n.kind == "alias":
                if id(n) not in inside:
                    yield n
                return
            if id(n) in inside and n is not node:
                return
            if n.kind == "map":
                for k, v in n.value:
                    yield from outside_aliases(k)
                    yield from outside_aliases(v)
            elif n.kind == "seq":
                for i in n.value:
                    yield from outside_aliases(i)

        for alias in outside_aliases(self.root):
            if id(alias.target) in inside:
                line, col = alias.line + 1, alias.col + 1
                raise EditError(
                    f"anchor &{alias.anchor} would disappear but alias *{alias.anchor} at line {line}, "
                    f"column {col} still uses it; edit or remove the alias first"
                )

    def _container(self, path: Path, kind: str) -> Located:
        if path:
            loc = self.locate(path)
        else:
            if self.root is None:
                raise EditError("the document is empty")
            loc = Located(self.root, None, None, None, self.root.flow)
        node = loc.node.target if loc.node.kind == "alias" else loc.node
        if loc.node.kind == "alias":
            raise EditError(f"{format_path(path)} is an alias (*{loc.node.anchor}); edit the anchored node instead")
        if node.kind != kind:
            raise EditError(f"{format_path(path) or '(root)'} is not a {'mapping' if kind == 'map' else 'list'}")
        return Located(node, loc.parent, loc.key_node, loc.index, loc.in_flow or node.flow, loc.path)

    def _create(self, path: Path, value: Any, missing: str) -> YamlDocument:
        # Walk to the deepest existing mapping, then insert the rest as one nested value.
        for cut in range(len(path) - 1, -1, -1):
            try:
                loc = self.locate(path[:cut]) if cut else None
            except KeyError:
                continue
            nested: Any = value
            for seg in reversed(path[cut + 1 :]):
                if isinstance(seg, int):
                    raise EditError(f"cannot create list index [{seg}] in {missing}")
                nested = {seg: nested}
            head = path[cut]
            if isinstance(head, int):
                raise EditError(f"list index [{head}] does not exist; use append")
            node = (loc.node if loc else self.root)
            if node is not None and node.kind == "scalar" and scalar_value(node) is None:
                return self.set(path[:cut], {head: nested})
            return self.insert(path[:cut], head, nested)
        raise EditError(f"cannot create {format_path(path)}")

    def _verified(self, new_text: str | list[str], path: Path, op: str, arg: Any, loc: Located) -> YamlDocument:
        """The first candidate text that parses to exactly the intended value."""
        expected = self._expected(op, arg, loc)
        problem = f"could not {op} {format_path(path) or '(root)'} exactly; nothing changed"
        for candidate in [new_text] if isinstance(new_text, str) else new_text:
            try:
                new = YamlDocument(candidate, bom=self.bom, path=self.path)
                got = new.data
            except YamlError as exc:
                problem = f"the edit would produce invalid YAML ({exc.message}); nothing changed"
                continue
            if same_value(got, expected):
                return new
        raise EditError(problem)

    def _expected(self, op: str, arg: Any, loc: Located) -> Any:
        overrides: dict[int, Any] = {}
        node = loc.node
        if op == "set":
            if node.kind == "alias":
                # replacing the alias text: only this occurrence changes
                parent_val = construct(loc.parent)
                overrides[id(loc.parent)] = _replaced(parent_val, loc, arg)
            else:
                overrides[id(node)] = arg
        elif op == "insert":
            key, value = arg
            cur = dict(construct(node))
            cur[key] = value
            overrides[id(node)] = cur
        elif op == "append":
            overrides[id(node)] = list(construct(node)) + [arg]
        elif op == "delete":
            parent = loc.parent.target if loc.parent.kind == "alias" else loc.parent
            cur = construct(parent)
            if parent.kind == "map":
                cur = dict(cur)
                del cur[scalar_value(loc.key_node)]
            else:
                cur = list(cur)
                del cur[loc.index]
            overrides[id(parent)] = cur
        return construct(self.root, overrides)

    # text surgery -------------------------------------------------------
    def _line_start(self, offset: int) -> int:
        return self.text.rfind("\n", 0, offset) + 1

    def _line_end(self, offset: int) -> int:
        """Offset just past the line break of the line holding ``offset`` (or len(text))."""
        i = self.text.find("\n", offset)
        return len(self.text) if i < 0 else i + 1

    def _content_end(self, node: Node) -> int:
        """Offset just past the last character that belongs to the node's own text."""
        if node.kind in ("map", "seq"):
            if node.flow or not node.value:
                return node.end
            if node.kind == "map":
                k, v = node.value[-1]
                return self._content_end(v) if v.start != v.end else self._colon_after(k)
            last = node.value[-1]
            return self._content_end(last) if last.start != last.end else self.text.rfind("-", 0, last.start) + 1
        if node.kind == "scalar" and node.style in ("|", ">"):
            end, text = node.end, self.text
            if self._keeps_trailing(node):
                return end  # keep-chomping (|+): the trailing blank lines are its content
            # a block scalar's span runs on over the blank lines after it; they are not ours
            while end > node.start + 1 and text[end - 1] in " \t\r\n":
                end -= 1
            return end
        return node.end

    def _keeps_trailing(self, node: Node) -> bool:
        header_start = self._after_props(node)
        header = self.text[header_start : self._line_end(header_start)].split("#")[0]
        return "+" in header

    def _after_props(self, node: Node) -> int:
        """Skip an anchor and tag written before a node's content."""
        i, text = node.start, self.text
        while i < node.end and text[i] in "&!":
            while i < len(text) and text[i] not in " \t\r\n":
                i += 1
            while i < len(text) and text[i] in " \t":
                i += 1
        return i

    def _colon_after(self, key: Node) -> int:
        i = self.text.find(":", key.end)
        if i < 0:
            raise EditError("cannot find the ':' after a key")
        return i + 1

    def _replace_node(self, loc: Located, value: Any) -> str:
        node, text = loc.node, self.text
        if node.kind == "alias":
            return text[: node.start] + render_value(value, in_flow=loc.in_flow) + text[node.end :]
        if node.kind == "scalar" and node.start == node.end:  # an empty (implicit null) value
            return self._fill_empty(loc, value)
        content_start = self._after_props(node)
        keep_tag = node.kind == "scalar" and isinstance(value, str) and node.tag in ("!", _STD_TAG + "str")
        if node.tag and not keep_tag:
            # an explicit tag that no longer fits the new value goes with the old value
            props = ("&" + node.anchor) if node.anchor else ""
        else:
            props = text[node.start : content_start].rstrip(" \t\r\n")
        if props:
            props += " "
        end = self._content_end(node)
        if node.kind == "scalar":
            null_text = node.value if node.style is None and scalar_value(node) is None else "null"
            rendered = None
            if node.style in ("|", ">") and isinstance(value, str) and not loc.in_flow:
                rendered = self._render_block(node, value)
                if rendered is not None and (self._keeps_trailing(node) or rendered.endswith(("\n", "\r"))):
                    end = node.end  # keep-chomping owns the trailing blank lines: replace them too
            if rendered is None:
                rendered = render_value(value, in_flow=loc.in_flow, prefer=node.style, null_text=null_text)
            if end == node.end and end > 0 and text[end - 1] == "\n" and not rendered.endswith("\n"):
                rendered += self.eol
            return text[: node.start] + props + rendered + text[end:]
        # a collection replaced by a new value, written in flow style
        rendered = render_value(value, in_flow=True)
        if not node.flow and loc.key_node is not None and node.col <= loc.key_node.col:
            # an indentless block sequence: the new value moves up beside its key
            colon = self._colon_after(loc.key_node)
            return text[:colon] + " " + props + rendered + text[end:]
        return text[: node.start] + props + rendered + text[end:]

    def _render_block(self, node: Node, value: str) -> str | None:
        """A literal block scalar for a multi-line string, indented as the old one was."""
        if _NEEDS_ESCAPE.search(value) or "\r" in value or "\t" in value:
            return None
        stripped = value.rstrip("\n")
        trailing = len(value) - len(stripped)
        if not stripped or stripped[0] == " ":
            return None  # would need an indentation indicator
        lines = stripped.split("\n")
        if any(l and not l.strip() for l in lines):
            return None  # whitespace-only lines read back differently
        chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
        indent = None
        pos = self._line_end(node.start)
        while pos < node.end:
            line_end = self._line_end(pos)
            line = self.text[pos:line_end].rstrip("\r\n")
            if line.strip():
                indent = len(line) - len(line.lstrip(" "))
                break
            pos = line_end
        if indent is None or indent <= self._indent_of_line(node.start):
            indent = self._indent_of_line(node.start) + 2
        eol = self.eol
        out = "|" + chomp + eol + eol.join((" " * indent + l) if l else "" for l in lines)
        if chomp == "+":
            out += eol * trailing
        return out

    def _indent_of_line(self, offset: int) -> int:
        start = self._line_start(offset)
        line = self.text[start:self._line_end(start)]
        return len(line) - len(line.lstrip(" "))

    def _fill_empty(self, loc: Located, value: Any) -> str:
        text = self.text
        rendered = render_value(value, in_flow=loc.in_flow)
        if loc.key_node is not None:
            at = self._colon_after(loc.key_node)
        else:
            at = text.rfind("-", 0, loc.node.start) + 1
            if at <= 0:
                at = loc.node.start
        return text[:at] + " " + rendered + text[at:]

    def _insert_key(self, target: Located, key: str, value: Any) -> str:
        node, text = target.node, self.text
        key_text = render_scalar(key, flow=target.in_flow)
        if node.flow or target.in_flow:
            value_text = render_value(value, in_flow=True)
            if not node.value:
                brace = text.find("{", node.start)
                return text[: brace + 1] + f"{key_text}: {value_text}" + text[brace + 1 :]
            at = self._content_end(node.value[-1][1])
            return text[:at] + f", {key_text}: {value_text}" + text[at:]
        if not node.value:
            raise EditError("empty block mapping")
        value_text = render_value(value, in_flow=False)
        first_key = node.value[0][0]
        last_end = self._content_end(node)
        at = self._line_end(max(last_end - 1, 0))
        line = " " * first_key.col + f"{key_text}: {value_text}"
        if at == len(text) and not text.endswith("\n"):
            return text + self.eol + line
        return text[:at] + line + self.eol + text[at:]

    def _append_item(self, target: Located, value: Any) -> str:
        node, text = target.node, self.text
        if node.flow or target.in_flow:
            value_text = render_value(value, in_flow=True)
            if not node.value:
                bracket = text.find("[", node.start)
                return text[: bracket + 1] + value_text + text[bracket + 1 :]
            at = self._content_end(node.value[-1])
            return text[:at] + ", " + value_text + text[at:]
        value_text = render_value(value, in_flow=False)
        last_end = self._content_end(node)
        at = self._line_end(max(last_end - 1, 0))
        line = " " * node.col + "- " + value_text
        if at == len(text) and not text.endswith("\n"):
            return text + self.eol + line
        return text[:at] + line + self.eol + text[at:]

    def _entry_bounds(self, parent: Node, index: int) -> tuple[int, int]:
        """Start (the key, or the item's dash) and content end of one entry."""
        if parent.kind == "map":
            k, v = parent.value[index]
            end = self._content_end(v) if v.start != v.end else self._colon_after(k)
            return k.start, max(end, k.end)
        item = parent.value[index]
        if parent.flow:
            return item.start, self._content_end(item)
        dash = self.text.rfind("-", 0, item.start)
        end = self._content_end(item) if item.start != item.end else dash + 1
        return dash, end

    def _delete_entry(self, loc: Located) -> str:
        parent = loc.parent.target if loc.parent.kind == "alias" else loc.parent
        text, i, n = self.text, loc.index, len(parent.value)
        start, end = self._entry_bounds(parent, i)
        if parent.flow or loc.in_flow:
            if n == 1:
                return text[:start] + text[end:]
            if i + 1 < n:
                # the item, its comma and the spaces after it; a line break stays
                nxt, _ = self._entry_bounds(parent, i + 1)
                stop = text.find(",", end, nxt) + 1 or nxt
                while stop < nxt and text[stop] in " \t":
                    stop += 1
                return text[:start] + text[stop:]
            _, prev_end = self._entry_bounds(parent, i - 1)
            return text[:prev_end] + text[end:]
        empty = "{}" if parent.kind == "map" else "[]"
        line_start = self._line_start(start)
        line_end = self._line_end(max(end - 1, start))
        alone = text[line_start:start].strip() == ""
        if n == 1:
            # the container becomes empty: write it as {} or [] where the entry stood
            stop = line_end
            while stop > end and text[stop - 1] in "\r\n":
                stop -= 1
            grand = self._parent_key(loc)
            if alone and grand is not None and start - line_start <= grand.col:
                colon = self._colon_after(grand)
                return text[:colon] + " " + empty + text[stop:]
            return text[:start] + empty + text[stop:]
        if alone:
            if line_end == len(text) and not text.endswith("\n") and line_start > 0:
                # the last line of a file without a final newline: the break before it goes
                # (unless a block scalar above would lose its own final line break: then the
                # file gains a final newline instead; _verified tries the candidates in order)
                cut = line_start - (2 if text[line_start - 2 : line_start] == "\r\n" else 1)
                return [text[:cut], text[:line_start]]
            return text[:line_start] + text[line_end:]
        if i + 1 < n:
            # ``- name: x`` with more keys below: the next key moves up beside the dash
            nxt, _ = self._entry_bounds(parent, i + 1)
            return text[:start] + text[nxt:]
        raise EditError("cannot delete this entry exactly")

    def _parent_key(self, loc: Located) -> Node | None:
        if not loc.path or len(loc.path) < 2:
            return None
        try:
            return self.locate(loc.path[:-1]).key_node
        except KeyError:
            return None


def _replaced(parent_val: Any, loc: Located, value: Any) -> Any:
    if isinstance(parent_val, dict):
        out = dict(parent_val)
        out[scalar_value(loc.key_node)] = value
        return out
    out_list = list(parent_val)
    out_list[loc.index] = value
    return out_list


def _key_matches(key: Node, seg: Segment) -> bool:
    k = key.target if key.kind == "alias" else key
    if k.kind != "scalar":
        return False
    if isinstance(seg, int):
        v = scalar_value(k)
        return v == seg and not isinstance(v, bool)
    return k.value == seg


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
