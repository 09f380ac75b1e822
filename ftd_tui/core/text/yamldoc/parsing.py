"""Text to a node tree, refusing what ftd never reads: tags that construct objects, more
than one document, null or collection keys, alias bombs and nesting past MAX_DEPTH.

Parsing uses libyaml through ruamel.yaml.clib (about 40x faster than the pure-Python
parser; the live diagnostics path depends on it) and falls back to ruamel's own parser.
"""

from __future__ import annotations

import re

from .limits import MAX_DEPTH, MAX_EXPANDED_NODES, YamlError
from .tree import _SAFE_TAGS, _STD_TAG, Node, _resolve_plain

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
        except Exception:  # the fallback parser failing in a way of its own: libyaml's located error stands
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
