"""Every corpus file x every node x every operation: untouched lines stay byte-identical
and the result parses to exactly the intended value."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ftd_tui.core.text.yamldoc import EditError, Node, YamlDocument, construct, same_value

import os
CORPUS = sorted(Path(os.environ.get("FTD_YAML_CORPUS", Path(__file__).parent / "yaml_corpus")).glob("*.yaml"))


def _walk(node: Node | None, path=()):
    """(path, node) for every node reachable without passing through an alias."""
    if node is None:
        return
    yield path, node
    if node.kind == "map":
        for k, v in node.value:
            key = construct(k)
            if v.kind != "alias":
                yield from _walk(v, path + (key,))
            else:
                yield path + (key,), v
    elif node.kind == "seq":
        for i, item in enumerate(node.value):
            if item.kind != "alias":
                yield from _walk(item, path + (i,))
            else:
                yield path + (i,), item


def _lines(b: bytes) -> list[bytes]:
    return b.splitlines(keepends=True)


def _assert_only_region_changed(old: YamlDocument, new: YamlDocument, first: int, last: int, *, eof_ok=False):
    """Lines outside [first, last] (1-based, inclusive, in the old text) are byte-identical,
    line endings keep their style, and the file keeps (or keeps lacking) its final newline."""
    ob, nb = old.to_bytes(), new.to_bytes()
    a, b = ob.splitlines(), nb.splitlines()
    head, tail = a[: first - 1], a[last:]
    assert b[: len(head)] == head, "a line before the edited node changed"
    if tail:
        assert b[len(b) - len(tail) :] == tail, "a line after the edited node changed"
    if not (eof_ok and len(tail) == 0):
        assert nb.endswith(b"\n") == ob.endswith(b"\n"), "final newline added or lost"
    crlf = b"\r\n" in ob
    assert nb.count(b"\r\n") == (nb.count(b"\n") if crlf else 0), "line endings changed style"
    assert nb.startswith(b"\xef\xbb\xbf") == ob.startswith(b"\xef\xbb\xbf"), "BOM added or lost"


def _region(doc: YamlDocument, node: Node, key: Node | None = None) -> tuple[int, int]:
    start = min(node.start, key.start) if key is not None else node.start
    end = max(doc._content_end(node), start + 1)
    return doc.line_col(start)[0], doc.line_col(end - 1)[0]


def _new_scalar(old):
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return old + 7
    if isinstance(old, float):
        return 0.125
    if isinstance(old, str):
        return old + " (edited: a: b, #x)" if "\n" not in old else old + "added line\n"
    return "was null"


def _cases():
    return [pytest.param(f, id=f.name) for f in CORPUS]


@pytest.mark.skipif(not CORPUS, reason="corpus missing")
@pytest.mark.parametrize("path", _cases())
def test_unchanged_roundtrip_is_byte_exact(path: Path):
    data = path.read_bytes()
    doc = YamlDocument.from_bytes(data)
    assert doc.to_bytes() == data


@pytest.mark.parametrize("path", _cases())
def test_values_match_ruamel(path: Path):
    """Our construction agrees with ruamel's own round-trip loader."""
    doc = YamlDocument.from_bytes(path.read_bytes())
    theirs = YAML().load(path.read_bytes())

    def plain(v):
        if isinstance(v, dict):
            return {plain(k): plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, str):
            return str(v)
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float(v)
        if isinstance(v, datetime.datetime):
            return v.replace(tzinfo=None).timetuple()[:6]
        return v

    assert same_value(plain(doc.data), plain(theirs))


@pytest.mark.parametrize("path", _cases())
@pytest.mark.slow
def test_every_node_every_operation(path: Path):
    doc = YamlDocument.from_bytes(path.read_bytes())
    done = 0
    for p, node in _walk(doc.root):
        if not p:
            continue
        loc = doc.locate(p)
        # set: a scalar gets a new scalar; any node can be replaced by a flow mapping
        targets = []
        if node.kind in ("scalar", "alias"):
            targets.append(_new_scalar(construct(node)))
        targets.append({"replaced": [1, "two"]})
        for new_value in targets:
            try:
                new = doc.set(p, new_value)
            except EditError as exc:
                assert "still uses it" in str(exc) and node.kind in ("map", "seq")
                continue
            assert same_value(new.get(p), new_value)
            first, last = _region(doc, node, loc.key_node if node.kind != "scalar" or node.start == node.end else None)
            if node.kind != "scalar" or node.start == node.end:
                first = doc.line_col(loc.key_node.start)[0] if loc.key_node is not None else first
            _assert_only_region_changed(doc, new, first, last)
            done += 1
        # delete
        try:
            new = doc.delete(p)
        except EditError as exc:
            assert "still uses it" in str(exc)
            continue
        expected = copy.deepcopy(doc.data)
        parent = expected
        for seg in p[:-1]:
            parent = parent[seg]
        del parent[p[-1]]
        # aliases to a deleted node's container may also see the change: compare on the edited path only
        got_parent = new.data
        for seg in p[:-1]:
            got_parent = got_parent[seg]
        assert same_value(got_parent, parent)
        start_node = loc.key_node or node
        first = doc.line_col(start_node.start)[0]
        last = doc.line_col(max(doc._content_end(node), start_node.end) - 1)[0]
        if loc.key_node is None and loc.parent is not None and not loc.parent.flow:
            first = doc.line_col(doc.text.rfind("-", 0, node.start))[0]
        if len(loc.parent.value) == 1 and not loc.parent.flow and len(p) >= 2:
            grand = doc.locate(p[:-1]).key_node
            if grand is not None and loc.parent.col <= grand.col:
                first = doc.line_col(grand.start)[0]  # ``key: []`` for an indentless list
        line_start = doc._line_start(start_node.start)
        if (not loc.parent.flow and doc.text[line_start : start_node.start].strip()
                and loc.index + 1 < len(loc.parent.value)):
            # ``- name: x`` loses its first key: the next key moves up beside the dash
            nxt = loc.parent.value[loc.index + 1]
            nxt = nxt[0] if loc.parent.kind == "map" else nxt
            last = doc.line_col(nxt.start)[0]
        if loc.parent.flow and loc.index == len(loc.parent.value) - 1 and loc.index > 0:
            # the last item of a flow collection takes the comma before it along
            prev = loc.parent.value[loc.index - 1]
            prev = prev[1] if loc.parent.kind == "map" else prev
            first = doc.line_col(doc._content_end(prev) - 1)[0]
        # deleting the last line of a file without a final newline may have to add one,
        # when a clip block scalar above would otherwise lose its own line break
        _assert_only_region_changed(doc, new, first, last, eof_ok=True)
        done += 1
        # insert / append into collections
        if node.kind in ("map", "seq"):
            if node.kind == "map":
                new = doc.insert(p, "zz_new_key", "inserted value")
                assert new.get(p + ("zz_new_key",)) == "inserted value"
                assert len(new.get(p)) == len(node.value) + 1
            else:
                new = doc.append(p, {"appended": True})
                assert same_value(new.get(p)[-1], {"appended": True})
                assert len(new.get(p)) == len(node.value) + 1
            end_line = doc.line_col(doc._content_end(node) - 1)[0]
            if node.flow:
                _assert_only_region_changed(doc, new, doc.line_col(node.start)[0], end_line)
            else:  # a block collection gains one line and no other line changes
                _assert_only_region_changed(doc, new, end_line + 1, end_line)
                assert len(new.to_bytes().splitlines()) == len(doc.to_bytes().splitlines()) + 1
            done += 1
    assert done > 0
