"""The user's own settings and where ftd keeps things on this machine.

Pure on purpose: the CLI's `ftd --where` and the app both read these, and a bad
config file must never stop either from starting. Every problem becomes one line
of text with file:line:column, and the defaults stand in for what was wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..artifacts.common import Where, schema_errors, unknown_keys
from ..rules.diagnostics import Diagnostic
from ..text.textsafe import clean, clean_line
from ..text.yamldoc import MAX_BYTES, YamlDocument, YamlError

from .dirs import cache_dir, config_dir, config_file, locations, problem, state_dir  # noqa: F401


# --------------------------------------------------------------------------- reading YAML files

# schema_errors needs a registered rule id; it never reaches the user (messages are
# plain text), so borrow the generic "wrong type" rule.
_SCHEMA_RULE = "SET001"


def _as_problem(d: Diagnostic) -> str:
    # pydantic prefixes our own validators' words with "Value error, "; users need only ours
    text = d.message.replace(": Value error, ", ": ", 1)
    text = f"{text} ({d.hint})" if d.hint else text
    return problem(d.file, d.line, d.column, text)


def read_yaml(path: Path) -> tuple[Any, YamlDocument | None, list[str]]:
    """(data, document, problems) for a small YAML file the user wrote. Never raises.

    A missing file is not a problem (None, None, []); an empty one reads as None."""
    try:
        if not path.exists():
            return None, None, []
        # A FIFO or device in the file's place would block or stream forever.
        if not path.is_file():
            return None, None, [problem(path, 1, 1, "is not a regular file; ignored")]
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, None, [problem(path, 1, 1, f"cannot be read: {exc.strerror or exc}")]
    try:
        doc = YamlDocument.from_bytes(raw, path=str(path))
        return doc.data, doc, []
    except YamlError as exc:
        return None, None, [problem(path, exc.line, exc.column, exc.message)]
    except Exception as exc:  # the parser is third-party code; a crash here must not stop start-up
        return None, None, [problem(path, 1, 1, f"cannot be parsed: {type(exc).__name__}: {exc}")]


def validate(model: type[BaseModel], data: Any, doc: YamlDocument | None, file: Path | str,
             *, salvage: bool = True) -> tuple[BaseModel | None, list[str]]:
    """Validate a mapping into ``model``; problems as file:line:column lines.

    Unknown keys are reported and ignored. With ``salvage`` the entries that fail are
    dropped and the rest validated again, so one typo does not discard a whole file;
    without it, any error returns None."""
    where = Where(doc, clean_line(str(file)))
    if not isinstance(data, dict):
        line, col = where.at(())
        return None, [problem(file, line, col, "expected a mapping of keys to values at the top level")]
    obj, diags = schema_errors(model, data, where, _SCHEMA_RULE)
    diags = sorted(unknown_keys(model, data, where) + diags, key=lambda d: (d.line, d.column))
    problems = [_as_problem(d) for d in diags]
    if obj is not None or not salvage:
        return obj, problems
    return _salvage(model, data), problems


def _salvage(model: type[BaseModel], data: dict) -> BaseModel | None:
    from pydantic import ValidationError

    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for _ in range(3):  # each round removes at least one entry; a few rounds suffice
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                loc = err["loc"]
                if not loc:
                    return None
                top = loc[0]
                inner = data.get(top)
                if len(loc) > 1 and isinstance(inner, dict) and loc[1] in inner:
                    inner.pop(loc[1])
                else:
                    data.pop(top, None)
    return None


# --------------------------------------------------------------------------- the user config

_KEY = re.compile(r"^[^\s,]+$")


def _key_list(keys: str) -> str:
    parts = [k.strip() for k in keys.split(",")]
    bad = [k for k in parts if not _KEY.match(k) or clean(k) != k]
    if bad:
        shown = ", ".join(repr(clean_line(k)) for k in bad)
        raise ValueError(f"{shown} is not a key name; write keys like \"ctrl+s,f2\"")
    return ",".join(parts)


KeyList = Annotated[str, AfterValidator(_key_list)]


class UserConfig(BaseModel):
    """~/.config/ftd/config.yaml. Every field is optional; a bad value falls back to its default."""

    model_config = ConfigDict(extra="ignore")

    theme: str | None = None
    # binding id -> comma-separated keys, e.g. save-artifact: "ctrl+s,f2"
    keymap: dict[str, KeyList] = Field(default_factory=dict)
    # overrides $VISUAL / $EDITOR for the "open in editor" escape hatch
    editor: str | None = None
    drafts: bool = True
    draft_interval_s: float = Field(1.0, ge=0.2, le=60)
    review_theme: str | None = None
    # model roles for every project: a project's ftd.yaml wins role by role (ftd doctor --setup writes it)
    models: dict[str, Any] | None = None

    @field_validator("theme", "review_theme", "editor")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None:
            if clean(value) != value:
                raise ValueError("must not contain control characters or escape sequences")
            value = value.strip()
            if not value:
                raise ValueError("must not be empty (leave the key out for the default)")
        return value


def load_user_config(path: Path | None = None) -> tuple[UserConfig, list[str]]:
    """The user's config and a list of problems. Never raises; a missing file is fine."""
    try:
        path = path or config_file()
        data, doc, problems = read_yaml(path)
        if problems or data is None:
            return UserConfig(), problems
        obj, problems = validate(UserConfig, data, doc, path)
        return (obj if isinstance(obj, UserConfig) else UserConfig()), problems
    except Exception as exc:  # a last guard: the config must never stop ftd from starting
        return UserConfig(), [problem(path or "config.yaml", 1, 1, f"cannot be loaded: {type(exc).__name__}: {exc}")]
