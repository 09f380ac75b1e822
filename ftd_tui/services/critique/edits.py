"""A proposal's edits, applied together to the texts under critique (pure: no project, no disk).

An edit is {file, op, path, value, find, replace}:
  set      YAML path, value (any JSON value; missing keys are created)
  delete   YAML path
  append   YAML path to a list, value
  replace  exact text `find` (occurring once) becomes `replace`: the only op for Markdown files

YAML edits go through the exact-edit document (core/text/yamldoc.py): only the span that changes is
rewritten, so comments and formatting elsewhere stay byte for byte. A new mapping or list (a
new criterion, a calibration example) is written in block style, as a person writes the file,
and verified by reading it back; where that cannot hold the value exactly, yamldoc's own edit is
used. Every edit applies, or none: the first that cannot says which and why, in words."""

from __future__ import annotations

import copy
import re
from typing import Any

from ...core.text.textsafe import clean_line, visible
from ...core.text.yamldoc import EditError, YamlDocument, YamlError, render_scalar, render_value, same_value
from ...core.text.yamlpath import PathSyntaxError, format_path, parse_path

OPS = ("set", "delete", "append", "replace")
YAML_SUFFIXES = (".yaml", ".yml")
NEVER = "ftd.yaml"


class EditFailed(Exception):
    """One edit of a proposal cannot be made; ``index`` is 1-based, ``message`` says why."""

    def __init__(self, index: int, message: str):
        super().__init__(f"edit {index}: {message}" if index else message)
        self.index = index


def proposal_edits(p: dict) -> list[dict]:
    """The proposal's edits; an old log's single ``patch {file, find, replace}`` is one replace."""
    edits = p.get("edits")
    if isinstance(edits, list) and edits:
        return [e if isinstance(e, dict) else {} for e in edits]
    patch = p.get("patch")
    if isinstance(patch, dict) and (patch.get("find") or patch.get("file")):
        return [{"file": patch.get("file"), "op": "replace", "find": patch.get("find"), "replace": patch.get("replace")}]
    return []


def edit_files(edits: list[dict]) -> list[str]:
    """The files the edits name, in order, each once."""
    out: list[str] = []
    for e in edits:
        f = str(e.get("file") or "")
        if f not in out:
            out.append(f)
    return out


def is_yaml(name: str) -> bool:
    return name.lower().endswith(YAML_SUFFIXES)


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _hidden_characters(e: dict) -> bool:
    """A terminal escape or bidi override from the model would enter the artifact unseen."""
    texts = list(_strings(e.get("value"))) + [str(e.get("replace") or "")]
    return any(visible(t) != t.replace("\r\n", "\n") for t in texts)


def apply_edits(edits: list[dict], files: dict[str, str]) -> dict[str, str]:
    """``files``: project-relative path -> current text, for the files under critique. Returns
    the new text of every file the edits change (files they leave unchanged are left out).
    Raises EditFailed naming the first edit that cannot be made; nothing is half applied."""
    if not edits:
        raise EditFailed(0, "the proposal has no edits")
    current = dict(files)
    docs: dict[str, YamlDocument] = {}
    for n, e in enumerate(edits, 1):
        name = str(e.get("file") or "")
        shown = clean_line(name) or "no file"
        op = str(e.get("op") or "")
        if name == NEVER or name.endswith("/" + NEVER) or name == "settings":
            raise EditFailed(n, "proposals never touch ftd.yaml")
        if name not in current:
            raise EditFailed(n, f"it targets {shown}, which is not under review")
        if op not in OPS:
            raise EditFailed(n, f"unknown op '{clean_line(op)}' (set, delete, append or replace)")
        if _hidden_characters(e):
            raise EditFailed(n, "its new text holds control or bidi characters (shown escaped in the log)")
        if op == "replace":
            find, replace = e.get("find"), e.get("replace")
            if not isinstance(find, str) or not find:
                raise EditFailed(n, "a replace edit needs the exact text to find")
            if not isinstance(replace, str):
                replace = "" if replace is None else str(replace)
            text = current[name]
            count = text.count(find)
            if count == 0:
                raise EditFailed(n, f"the text to replace is no longer in {shown}")
            if count > 1:
                raise EditFailed(n, f"the text to replace occurs {count} times in {shown}, not once")
            new = text.replace(find, replace, 1)
            if is_yaml(name):
                try:
                    docs[name] = YamlDocument.from_text(new, path=name)
                except YamlError as exc:
                    raise EditFailed(n, f"the replaced text would make {shown} invalid YAML "
                                        f"({clean_line(exc.message)}, line {exc.line})") from None
            current[name] = new
            continue
        if not is_yaml(name):
            raise EditFailed(n, f"{shown} is not YAML: only a replace edit (find / replace) applies to it")
        raw = e.get("path")
        try:
            path = parse_path(str(raw)) if raw not in (None, "") else ()
        except PathSyntaxError as exc:
            raise EditFailed(n, f"'{clean_line(str(raw))}' is not a YAML path ({clean_line(str(exc))})") from None
        if not path:
            raise EditFailed(n, f"a {op} edit needs a YAML path such as criteria.SG1.question")
        doc = docs.get(name)
        if doc is None:
            try:
                doc = docs[name] = YamlDocument.from_text(current[name], path=name)
            except YamlError as exc:
                raise EditFailed(n, f"{shown} is not valid YAML now ({clean_line(exc.message)}, line {exc.line}): "
                                    "fix it first") from None
        try:
            doc = _apply_yaml(doc, op, path, e.get("value"))
        except KeyError as missing:
            raise EditFailed(n, f"{clean_line(str(missing.args[0]))} does not exist in {shown}") from None
        except EditError as exc:
            why = clean_line(str(exc))
            raise EditFailed(n, f"{why} (in {shown})" if format_path(path) in why else
                             f"{format_path(path)} in {shown}: {why}") from None
        except YamlError as exc:
            raise EditFailed(n, f"{format_path(path)} in {shown}: {clean_line(exc.message)}") from None
        docs[name] = doc
        current[name] = doc.text
    return {name: text for name, text in current.items() if text != files[name]}


# ---- YAML edits -----------------------------------------------------------------------------

def _apply_yaml(doc: YamlDocument, op: str, path: tuple, value: Any) -> YamlDocument:
    if op == "delete":
        return doc.delete(path)
    if op == "append":
        doc.locate(path)  # a KeyError names the missing list
        if isinstance(value, dict) and value:
            return _block_append(doc, path, value) or doc.append(path, value)
        return doc.append(path, value)
    # set
    try:
        loc = doc.locate(path)
    except KeyError:
        loc = None
    if loc is None:
        if isinstance(value, (dict, list)) and value:
            made = _block_insert(doc, path, value)
            if made is not None:
                return made
        _parent_exists(doc, path)
        return doc.set(path, value, create=True)
    if isinstance(value, (dict, list)) and value and loc.node.kind in ("map", "seq") and not loc.in_flow \
            and not loc.node.flow and loc.key_node is not None:
        made = _block_replace(doc, loc, path, value)
        if made is not None:
            return made
    return doc.set(path, value)


def _parent_exists(doc: YamlDocument, path: tuple) -> None:
    """A set creates the last key only: a missing parent is reported as missing (criteria.SF9
    in criteria.SF9.question), not silently made."""
    if len(path) > 1:
        doc.locate(path[:-1])


def _expected(doc: YamlDocument, path: tuple, op: str, value: Any) -> Any:
    data = copy.deepcopy(doc.data)
    cur = data
    for seg in path[:-1]:
        cur = cur[seg]
    if op == "append":
        cur[path[-1]].append(value)
    else:
        cur[path[-1]] = value
    return data


def _verified(doc: YamlDocument, text: str, path: tuple, op: str, value: Any) -> YamlDocument | None:
    try:
        new = YamlDocument(text, bom=doc.bom, path=doc.path)
        return new if same_value(new.data, _expected(doc, path, op, value)) else None
    except (YamlError, KeyError, IndexError, TypeError, AttributeError):
        return None


_LITERAL_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\u2028\u2029\t\r]")
WRAP = 88


def _scalar_lines(head: str, value: Any, indent: int) -> list[str]:
    """``head`` ("key:" or "-") with a scalar: a literal block for several lines, a folded block
    for a long line (as the sample rubrics are written), else one line."""
    pad = " " * (indent + 2)
    if isinstance(value, str) and not _LITERAL_BAD.search(value) and value.strip() and not value[0].isspace():
        body = value[:-1] if value.endswith("\n") else value
        if "\n" in value and not body.endswith("\n"):
            lines = body.split("\n")
            if all(l == l.rstrip() for l in lines) and all(l.strip() or not l for l in lines):
                chomp = "" if value.endswith("\n") else "-"
                return [f"{head} |{chomp}"] + [(pad + l) if l else "" for l in lines]
        elif "\n" not in value and len(value) > WRAP - indent and "  " not in value and value == value.strip() \
                and not value.startswith("#"):
            words, lines, line = value.split(" "), [], ""
            for w in words:
                if line and len(pad) + len(line) + 1 + len(w) > WRAP:
                    lines.append(line)
                    line = w
                else:
                    line = f"{line} {w}" if line else w
            lines.append(line)
            if all(not l.startswith(("#", "-", " ")) for l in lines[1:]):
                return [f"{head} >-"] + [pad + l for l in lines]
    return [f"{head} {render_value(value, in_flow=False)}"]


def _block_lines(value: Any, indent: int) -> list[str]:
    """The lines of a mapping or list written as a block, its entries at ``indent``."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            head = f"{pad}{render_scalar(k)}:"
            if isinstance(v, (dict, list)) and v:
                lines += [head] + _block_lines(v, indent + 2)
            else:
                lines += _scalar_lines(head, v, indent)
    else:
        for item in value:
            if isinstance(item, dict) and item:
                sub = _block_lines(item, indent + 2)
                sub[0] = f"{pad}- " + sub[0][indent + 2:]
                lines += sub
            elif isinstance(item, list) and item:
                lines += [f"{pad}-"] + _block_lines(item, indent + 2)
            else:
                lines += _scalar_lines(f"{pad}-", item, indent)
    return lines


def _gap_before_last(doc: YamlDocument, node) -> bool:
    """Whether the mapping's entries are set apart by blank lines (the rubric's criteria are)."""
    if node.kind != "map" or len(node.value) < 2:
        return False
    prev_end = doc._content_end(node.value[-2][1])
    between = doc.text[prev_end:node.value[-1][0].start]
    return "\n\n" in between.replace("\r\n", "\n").replace(" ", "")


def _insert_at_end(doc: YamlDocument, node, lines: list[str], gap: bool) -> str:
    eol, text = doc.eol, doc.text
    at = doc._line_end(max(doc._content_end(node) - 1, 0))
    block = eol.join(([""] if gap else []) + lines)
    if at == len(text) and not text.endswith("\n"):
        return text + eol + block
    return text[:at] + block + eol + text[at:]


def _block_insert(doc: YamlDocument, path: tuple, value: Any) -> YamlDocument | None:
    """A new key holding a mapping or list, written as a block at the end of its block mapping."""
    if len(path) < 1 or isinstance(path[-1], int):
        return None
    try:
        parent = doc.locate(path[:-1]) if len(path) > 1 else None
    except KeyError:
        return None
    node = parent.node if parent is not None else doc.root
    if node is None or node.kind != "map" or node.flow or (parent is not None and parent.in_flow) or not node.value:
        return None
    col = node.value[0][0].col
    lines = [" " * col + f"{render_scalar(path[-1])}:"] + _block_lines(value, col + 2)
    return _verified(doc, _insert_at_end(doc, node, lines, _gap_before_last(doc, node)), path, "set", value)


def _block_append(doc: YamlDocument, path: tuple, value: dict) -> YamlDocument | None:
    """A mapping appended to a block list as a block item (a calibration example, a dimension)."""
    loc = doc.locate(path)
    node = loc.node
    if node.kind != "seq" or node.flow or loc.in_flow or not node.value:
        return None
    lines = _block_lines([value], node.col)
    return _verified(doc, _insert_at_end(doc, node, lines, False), path, "append", value)


def _block_replace(doc: YamlDocument, loc, path: tuple, value: Any) -> YamlDocument | None:
    """A block mapping or list replaced whole by a new block, at the old one's indentation."""
    node, text = loc.node, doc.text
    if (node.kind == "map") != isinstance(value, dict):
        return None
    colon = doc._colon_after(loc.key_node)
    end = doc._content_end(node)
    indent = node.value[0][0].col if node.kind == "map" and node.value else node.col
    if indent <= loc.key_node.col and not (node.kind == "seq" and indent == loc.key_node.col):
        return None
    lines = _block_lines(value, indent)
    line_end = doc._line_end(colon)
    head = text[colon:line_end]
    if head.strip() and not head.strip().startswith("#"):
        return None  # something else after the colon (a tag, an anchor): leave it to yamldoc
    new_text = text[:line_end] + doc.eol.join(lines) + text[end:]
    if not text[end:].startswith(("\n", "\r\n")) and end < len(text):
        new_text = text[:line_end] + doc.eol.join(lines) + doc.eol + text[end:]
    return _verified(doc, new_text, path, "set", value)
