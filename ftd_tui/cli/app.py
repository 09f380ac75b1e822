"""`ftd [DIR]`: open the app on a project (or on a folder to make one in)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import CommandError
from .parser import build_app_parser


def run_app(argv: list[str]) -> int:
    args = build_app_parser().parse_args(argv)
    from ..core.project.project import ProjectError, find_root

    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        raise CommandError(f"{target} is not a folder")
    try:
        root, is_project = find_root(target), True
    except ProjectError:
        root, is_project = target.resolve(), False  # the app offers to create a project here
    if not sys.stdout.isatty() and not os.environ.get("FTD_FORCE_APP"):
        raise CommandError("the app needs a terminal; for scripts use `ftd check` or `ftd status`")
    from ..tui.app import run

    return run(root, is_project=is_project, theme=args.theme, review=args.review)
