"""`ftd trust`: approve the project's non-default endpoints and key variables."""

from __future__ import annotations

from .errors import EXIT_OK
from .project import session_of, settings_of


def cmd_trust(args) -> int:
    from ..core.text.textsafe import clean_line
    from ..core.user.trust import needs_approval  # listed even when approved: `ftd trust` shows what it approves

    project, settings = settings_of(args.dir)
    items = needs_approval(settings)
    if not items:
        print("nothing to approve: every role uses its provider's default endpoint and key variable, or this machine")
        return EXIT_OK
    for item in items:
        print(f"  {clean_line(item)}")
    session_of(project).approve(settings)
    print(f"approved for this models section ({len(items)} item(s)); a change to it asks again")
    return EXIT_OK
