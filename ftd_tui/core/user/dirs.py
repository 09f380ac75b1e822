"""Where ftd keeps the user's things (XDG folders), and the defaults of the user config.
No pydantic here: the app reads these on its start-up path."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..text.textsafe import clean_line


def _home() -> Path:
    try:
        return Path.home()
    except RuntimeError:  # no HOME and no passwd entry (some containers)
        return Path(os.path.expanduser("~"))


def _dir(own: str, xdg: str, fallback: str) -> Path:
    value = os.environ.get(own, "")
    if value:
        return Path(value).expanduser()
    # The XDG spec says a relative value is invalid and must be ignored.
    value = os.environ.get(xdg, "")
    if value and os.path.isabs(value):
        return Path(value) / "ftd"
    return _home() / fallback / "ftd"


def config_dir() -> Path:
    return _dir("FTD_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    return _dir("FTD_STATE_DIR", "XDG_STATE_HOME", ".local/state")


def cache_dir() -> Path:
    return _dir("FTD_CACHE_DIR", "XDG_CACHE_HOME", ".cache")


def config_file() -> Path:
    return config_dir() / "config.yaml"


def locations() -> dict[str, Path]:
    """What `ftd --where` prints. The built-in themes folder belongs to the tui layer,
    so the caller adds it."""
    state = state_dir()
    return {
        "config file": config_file(),
        "themes (user)": config_dir() / "themes",
        "state": state,
        "drafts": state / "drafts",
        "crash reports": state / "crashes",
        "cache": cache_dir(),
    }


def problem(file: Path | str, line: int, column: int, message: str) -> str:
    return f"{clean_line(str(file))}:{line}:{column}: {clean_line(message)}"




@dataclass
class Prefs:
    """The user config's defaults, used as they are when there is no config file."""

    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    editor: str | None = None
    drafts: bool = True
    draft_interval_s: float = 1.0
    review_theme: str | None = None
    models: dict | None = None
