"""The user's settings as the app and the CLI start with them: the defaults when there is no file,
without importing pydantic (the app's start-up path), else the validated file.

Its own module so that dirs (no pydantic) and config (pydantic) never import each other."""

from __future__ import annotations

from .dirs import Prefs, config_file


def load_prefs() -> tuple[object, list[str]]:
    """The user config, validated, or the defaults when there is no file (without importing pydantic)."""
    if not config_file().exists():
        return Prefs(), []
    from .config import load_user_config  # pydantic, only when there is a file to validate

    return load_user_config()
