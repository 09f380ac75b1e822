"""Round-trip YAML documents: the original text, a node tree with exact spans, minimal edits.

Dumping a ruamel tree re-emits the whole document and, on ordinary but awkward files,
rewrites lines nobody asked to change. So ftd reads the tree only to *understand* a file
and writes by replacing the exact span of text that holds the node being changed.
Every edit is verified by parsing the result and comparing it with the intended value;
an edit that cannot be made exactly is refused, never approximated.

This package's public face (every caller imports from here); inside it:
  limits.py    what is refused (size, depth, alias expansion), the two errors, bytes -> text
  tree.py      Node (exact spans), Located, plain-scalar resolution, construct, same_value
  parsing.py   text -> Node tree through libyaml (ruamel's own parser as the arbiter)
  emit.py      values -> YAML text that reads back as exactly that value
  document.py  YamlDocument: load, save, data, locate, positions
  edits.py     set / insert / append / append_block / delete, each verified
  surgery.py   the span of text an edit replaces, and what replaces it
"""

from .document import YamlDocument
from .emit import render_flow, render_scalar, render_value
from .limits import BOM, MAX_BYTES, MAX_DEPTH, MAX_EXPANDED_NODES, EditError, YamlError, decode_text
from .parsing import parse_nodes
from .tree import Located, Node, construct, same_value, scalar_value

__all__ = ["BOM", "MAX_BYTES", "MAX_DEPTH", "MAX_EXPANDED_NODES", "EditError", "Located", "Node", "YamlDocument",
           "YamlError", "construct", "decode_text", "parse_nodes", "render_flow", "render_scalar", "render_value",
           "same_value", "scalar_value"]
