"""`ftd prompts show ROLE`: the exact messages a model role would receive; calls nothing."""

from __future__ import annotations

import sys

from .errors import EXIT_FINDINGS, EXIT_OK, CommandError
from .project import session_of, settings_of


def cmd_prompts(args) -> int:
    from ..services.baseline.preview import PreviewError, preview, render_text
    from ..services.baseline.setup import BaselineError
    from ..core.text.textsafe import clean, json_text

    project, project_settings = settings_of(args.dir)
    settings, _ = session_of(project).effective_settings(project_settings)
    try:
        p = preview(project, args.role, criterion=args.criterion, scenario=args.scenario, exchange=args.exchange,
                    unit=args.unit, expert=args.expert, settings=settings)
    except (PreviewError, BaselineError) as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    if args.format == "json":
        print(json_text({"role": p.role, "model": p.model, "subject": p.subject, "notes": p.notes,
                         "response_format": p.response_format, "messages": p.messages}, indent=2))
    else:
        # project text and model output: control characters stripped, newlines kept
        sys.stdout.write(clean(render_text(p)))
    return EXIT_OK
