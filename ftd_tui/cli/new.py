"""`ftd new DIR`: a new project from a sample, or a blank one."""

from __future__ import annotations

from pathlib import Path

from .errors import EXIT_OK, CommandError


def cmd_new(args) -> int:
    from ..core.project.templates import TemplateError, create_project

    try:
        created = create_project(Path(args.dir), args.template)
    except TemplateError as exc:
        raise CommandError(str(exc)) from None
    print(f"created {created} from the '{args.template}' template")
    print(f"next: ftd check {created}   or open it: ftd {created}")
    return EXIT_OK
