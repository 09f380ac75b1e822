"""Full validation of a theme file (pydantic): used for user themes and by the tests on
the built-in ones. Kept out of themes.py so that start-up does not import pydantic."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme

from ..core.text.textsafe import clean_line
from ..core.user.config import problem, read_yaml, validate
from ..core.text.yamldoc import YamlDocument

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VARIABLE = re.compile(r"^[A-Za-z_-][A-Za-z0-9_-]{0,63}$")
_PERCENT = re.compile(r"^\d{1,3}(\.\d+)?%$")


def _colour(value: str) -> str:
    try:
        Color.parse(value)
    except Exception:  # ColorParseError, and whatever else odd text may provoke
        raise ValueError(
            f"'{clean_line(value)}' is not a colour (use #rrggbb, rgb(r,g,b), a CSS name or ansi_*)"
        ) from None
    return value


def _variable_value(name: str, value: str) -> None:
    """Variables end up pasted into Textual's CSS; a bad one would abort the stylesheet
    (and the app) at start-up, so check the two shapes Textual's own themes use."""
    words = value.split()
    if name.endswith("style") or name.endswith("style-hover"):
        bad = [w for w in words if w not in VALID_STYLE_FLAGS]
        if bad or not words:
            raise ValueError(f"{name}: '{clean_line(value)}' is not a text style (e.g. bold, reverse, none)")
        return
    # colour, optionally with an opacity: "#aabbcc", "auto 87%", "ansi_default 50%"
    if not 1 <= len(words) <= 2 or (len(words) == 2 and not _PERCENT.match(words[1])):
        raise ValueError(f"{name}: '{clean_line(value)}' is not a colour with an optional percentage")
    if words[0] != "auto":
        try:
            Color.parse(words[0])
        except ColorParseError:
            raise ValueError(f"{name}: '{clean_line(words[0])}' is not a colour") from None


class ThemeFile(BaseModel):
    """The keys of a theme file; they map one to one onto textual.theme.Theme."""

    model_config = ConfigDict(extra="ignore")

    name: str
    primary: str
    secondary: str | None = None
    accent: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    dark: bool = True
    ansi: bool = False
    luminosity_spread: float = Field(0.15, ge=0, le=1)
    text_alpha: float = Field(0.95, ge=0, le=1)
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits, '-', '_' or '.', starting with a letter or digit (at most 64)")
        return value

    @field_validator("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
                     "boost", "warning", "error", "success")
    @classmethod
    def _colours(cls, value: str | None) -> str | None:
        return None if value is None else _colour(value)

    def to_theme(self) -> Theme:
        fields = self.model_dump()
        if self.ansi:
            # Textual's own CSS uses these, but only its non-ANSI generator defines them;
            # an ANSI theme without them aborts the stylesheet (Textual 8.2.8).
            dark = self.dark
            fields["variables"] = {
                "ansi-background": "ansi_black" if dark else "ansi_white",
                "ansi-foreground": "ansi_white" if dark else "ansi_black",
                **self.variables,
            }
        return Theme(**fields)


def _variable_problems(model: ThemeFile, doc: YamlDocument | None, path: Path) -> list[str]:
    out = []
    for name, value in model.variables.items():
        try:
            if not _VARIABLE.match(name):
                raise ValueError(f"{clean_line(name)}: not a variable name (letters, digits, '-', '_')")
            _variable_value(name, value)
        except ValueError as exc:
            line, col = doc.position(("variables", name)) if doc is not None else (1, 1)
            out.append(problem(path, line, col, f"variables.{exc}"))
    return out


def _read_theme(path: Path) -> tuple[Theme | None, list[str]]:
    data, doc, problems = read_yaml(path)
    if problems:
        return None, problems
    if data is None:
        return None, [problem(path, 1, 1, "is empty; a theme needs at least a name and a primary colour")]
    # No salvage: half a theme (its bad colour dropped) would surprise more than help.
    # An unknown key is most often a misspelt colour, which would otherwise fall back
    # silently to a derived one; skipping the theme makes the typo visible.
    model, problems = validate(ThemeFile, data, doc, path, salvage=False)
    if not isinstance(model, ThemeFile):
        return None, problems
    problems += _variable_problems(model, doc, path)
    if problems:
        return None, problems
    try:
        return model.to_theme(), []
    except Exception as exc:  # Theme is third-party code; it must not take the app down
        return None, problems + [problem(path, 1, 1, f"Textual refused this theme: {clean_line(str(exc))}")]


def load_theme_file(path: Path) -> tuple[Theme | None, str | None]:
    """One theme file → (Theme or None, one message or None). Never raises.

    A file with any problem, an unknown key included, is skipped. Only the first
    problem is spelled out so the app's one notice stays readable; fixing it and
    reloading shows the next."""
    try:
        theme, problems = _read_theme(path)
    except Exception as exc:  # a last guard: a theme file must never stop the app
        return None, problem(path, 1, 1, f"cannot be loaded: {type(exc).__name__}: {exc}")
    if not problems:
        return theme, None
    more = len(problems) - 1
    suffix = f" (+{more} more in this file)" if more else ""
    return theme, problems[0] + suffix


