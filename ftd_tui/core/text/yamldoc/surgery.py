"""Text surgery: the span of original text an edit replaces, and what it is replaced with.

Offsets come from the node tree; everything outside the span is kept byte for byte (comments,
indentation, quoting, line endings, a missing final newline).
"""

from __future__ import annotations

from typing import Any

from .emit import _NEEDS_ESCAPE, render_scalar, render_value
from .limits import EditError
from .tree import _STD_TAG, Located, Node, scalar_value


class TextSurgery:
    """The text half of YamlDocument (a mixin: it reads the document's text and tree)."""

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
