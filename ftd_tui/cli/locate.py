"""`ftd locate`: where ftd keeps its config, themes, drafts and crash reports."""

from __future__ import annotations

from .errors import EXIT_OK


def cmd_locate(args) -> int:
    from ..core.text.textsafe import clean
    from ..core.user.config import locations

    places = dict(locations())
    try:
        from ..tui.themes import builtin_theme_dir

        places["themes (built in)"] = builtin_theme_dir()
    except Exception:  # the UI layer is optional for this command
        pass
    width = max(len(k) for k in places)
    for name, path in places.items():
        print(f"{name:<{width}}  {clean(str(path))}")
    return EXIT_OK
