"""Shared by every artifact's checks: locating nodes, schema errors, unknown keys, weights."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Union

from ..rules.diagnostics import Diagnostic, Severity, make
from ..text.textsafe import clean_line
from ..text.yamldoc import YamlDocument
from ..text.yamlpath import Path, format_path


class Where:
    """Turns a path in a parsed document into file:line:column diagnostics."""

    def __init__(self, doc: YamlDocument | None, file: str, line_offset: int = 0):
        self.doc = doc
        self.file = file
        self.line_offset = line_offset

    def at(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        if self.doc is None:
            return 1 + self.line_offset, 1
        line, col = self.doc.position(path, key=key)
        return line + self.line_offset, col

    def diag(self, rule: str, path: Path, message: str, hint: str = "", *, key: bool = False,
             severity: Severity | None = None) -> Diagnostic:
        line, col = self.at(path, key=key)
        return make(rule, self.file, line, col, message, hint, severity)

    def file_diag(self, rule: str, message: str, hint: str = "", line: int = 1, column: int = 1) -> Diagnostic:
        return make(rule, self.file, line + self.line_offset, column, message, hint)


def show(value: Any, limit: int = 60) -> str:
    """A short, terminal-safe rendering of a project value for a message."""
    text = clean_line(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fields(model: type) -> dict[str, Any]:
    out = {}
    for name, info in model.model_fields.items():
        out[info.alias or name] = info.annotation
    return out


def _models_in(annotation: Any) -> list[tuple[str, Any]]:
    """('model', cls) / ('list', inner) / ('dict', inner) shapes an annotation admits."""
    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        shapes = []
        for arg in typing.get_args(annotation):
            shapes.extend(_models_in(arg))
        return shapes
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        return [("list", args[0])] if args else []
    if origin is dict:
        args = typing.get_args(annotation)
        return [("dict", args[1])] if len(args) == 2 else []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("model", annotation)]
    return []


def unknown_keys(model: type, data: Any, where: Where, path: Path = ()) -> list[Diagnostic]:
    """Keys the schema does not know. Models may set ``unknown_key_rule`` (default KEY001)."""
    out: list[Diagnostic] = []
    if not isinstance(data, dict):
        return out
    fields = _fields(model)
    rule = getattr(model, "unknown_key_rule", "KEY001")
    if getattr(model, "open_keys", False):
        return out
    for key, value in data.items():
        if not isinstance(key, str) or key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(fields)
            where_path = path + (key,)
            msg = f"unknown key '{show(key)}' in {format_path(path) or 'the top level'}"
            if rule == "KEY002":
                msg += " (a model role accepts only the documented litellm arguments)"
            out.append(where.diag(rule, where_path, msg, hint, key=True))
            continue
        for shape, inner in _models_in(fields[key]):
            if shape == "model" and isinstance(value, dict):
                out.extend(unknown_keys(inner, value, where, path + (key,)))
                break
            if shape == "list" and isinstance(value, list):
                for i, item in enumerate(value):
                    for s2, m2 in _models_in(inner):
                        if s2 == "model" and isinstance(item, dict):
                            out.extend(unknown_keys(m2, item, where, path + (key, i)))
                            break
                break
            if shape == "dict" and isinstance(value, dict):
                for k2, item in value.items():
                    for s2, m2 in _models_in(inner):
                        if s2 == "model" and isinstance(item, dict):
                            out.extend(unknown_keys(m2, item, where, path + (key, k2)))
                            break
                break
    return out


def schema_errors(model: type, data: Any, where: Where, rule: str, path: Path = ()) -> tuple[Any, list[Diagnostic]]:
    """Validate with pydantic; every error points at its node."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        return None, [where.diag("YML007", path, "expected a mapping of keys to values here")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False, include_input=False):
            real: list = []
            cur: Any = data
            for seg in err["loc"]:
                if isinstance(cur, dict) and seg in cur:
                    real.append(seg)
                    cur = cur[seg]
                elif isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur):
                    real.append(seg)
                    cur = cur[seg]
                elif isinstance(cur, (dict, list)) and isinstance(seg, (str, int)) and err["type"] == "missing":
                    real.append(seg)
                    break
            shown = format_path(path + tuple(real)) or "the top level"
            msg = err["msg"]
            if err["type"] == "missing":
                out.append(where.diag(rule, path + tuple(real[:-1]), f"{shown} is required", key=True))
            else:
                out.append(where.diag(rule, path + tuple(real), f"{shown}: {msg}"))
        # one message per node is enough (a union reports each of its branches)
        seen, unique = set(), []
        for d in out:
            if (d.line, d.column) not in seen:
                seen.add((d.line, d.column))
                unique.append(d)
        return None, unique


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def weights_sum_ok(values: list[Any], tolerance: float) -> tuple[bool, float | None]:
    nums = [number(v) for v in values]
    if any(n is None for n in nums):
        return True, None  # the schema check reports non-numbers
    total = sum(nums)  # type: ignore[arg-type]
    return abs(total - 1.0) <= tolerance + 1e-12, total


def fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x == x else "nan"
