"""The exact edits: set, insert, append, append_block and delete.

Each builds the new text by replacing one span (surgery.py), then verifies it: the result must
parse to exactly the intended value, or the edit is refused (EditError) and nothing changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..yamlpath import Path, Segment, format_path, parse_path
from .emit import render_scalar, render_value
from .limits import EditError, YamlError
from .tree import Located, Node, construct, same_value, scalar_value

if TYPE_CHECKING:
    from .document import YamlDocument


class Edits:
    """The edit half of YamlDocument (a mixin: it uses the document's text, tree and locate)."""

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
                new = type(self)(candidate, bom=self.bom, path=self.path)  # the YamlDocument class
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
