"""Theme files (YAML) → textual.theme.Theme, validated so a bad file can never stop the app.

Built-in themes come from the top-level ``themes/`` folder (or the copy packaged at
``ftd_tui/data/themes``), user themes from ``<config dir>/themes``. A user theme with a
built-in's name replaces it. Each bad file is skipped with one message naming
file:line:column; the app shows all of them in a single notice.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

from ..core.text.textsafe import clean_line
from ..core.user.dirs import config_dir, problem
from ..core.text.yamldoc import YamlDocument, YamlError

DEFAULT_THEME = "ftd-dark"


def builtin_theme_dir() -> Path | None:
    """The themes shipped with ftd: the repository's top-level folder, else the packaged copy."""
    here = Path(__file__).resolve()
    for folder in (here.parents[2] / "themes", here.parents[1] / "data" / "themes"):
        if folder.is_dir():
            return folder
    return None


def user_theme_dir() -> Path:
    return config_dir() / "themes"


def load_theme_file(path: Path) -> tuple[Theme | None, str | None]:
    """One theme file, fully validated → (Theme or None, one message or None). Never raises."""
    from .theme_schema import load_theme_file as full

    return full(path)


def _builtin_theme(path: Path) -> Theme | None:
    """Built-in themes ship with ftd and the test suite validates each one fully, so start-up
    reads them without importing pydantic (about 70 ms). Anything odd: the full path."""
    try:
        data = YamlDocument.from_bytes(path.read_bytes()).data
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return None
        fields = dict(data)
        ansi = bool(fields.get("ansi", False))
        if ansi:
            dark = bool(fields.get("dark", True))
            fields["variables"] = {"ansi-background": "ansi_black" if dark else "ansi_white",
                                   "ansi-foreground": "ansi_white" if dark else "ansi_black",
                                   **(fields.get("variables") or {})}
        return Theme(**fields)
    except (OSError, YamlError, TypeError, ValueError):
        return None


def _files(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    try:
        found = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
        return sorted(p for p in found if not p.name.startswith("."))
    except OSError:
        return []


def load_themes() -> tuple[list[Theme], list[str]]:
    """Built-in then user themes, and every problem met on the way. Never raises.

    Theme names are unique in the result: a user theme replaces a built-in of the same
    name; two files of the same origin with one name keep the first and report the second."""
    themes: dict[str, Theme] = {}
    origin: dict[str, Path] = {}
    problems: list[str] = []
    builtin = builtin_theme_dir()
    for folder in (builtin, user_theme_dir()):
        seen: set[str] = set()
        for path in _files(folder):
            theme = _builtin_theme(path) if folder == builtin else None
            found = None
            if theme is None:
                theme, found = load_theme_file(path)
            if found:
                problems.append(found)
            if theme is None:
                continue
            if theme.name in seen:
                problems.append(problem(path, 1, 1, f"theme '{theme.name}' is already defined by "
                                                    f"{clean_line(origin[theme.name].name)}; this file is skipped"))
                continue
            seen.add(theme.name)
            themes[theme.name] = theme
            origin[theme.name] = path
    return list(themes.values()), problems
