"""`ftd status`: one screen of gates, critiques and the next step."""

from __future__ import annotations

import sys

from .errors import EXIT_OK
from .output import color, use_color
from .project import analyse


def cmd_status(args) -> int:
    from ..core.rules.gates import next_action
    from ..core.text.textsafe import clean_line

    project, result, gates = analyse(args.dir)
    paint = color(use_color(sys.stdout))
    settings = project.files["settings"].data if project.files["settings"].readable else {}
    domain = settings.get("domain") if isinstance(settings, dict) else None
    print(paint(f"ftd · {clean_line(str(domain or project.root.name))}", "bold") + f"  ({clean_line(str(project.root))})")
    print()
    for g in gates:
        mark = paint("✓", "ok") if g.passed else paint("✗", "error")
        label = f"{g.step}." if g.step <= 7 else "  "
        state = "passed" if g.passed else "open"
        print(f" {mark} {label} {g.name:<44} {state}")
        print(f"      {clean_line(g.reason)}")
    print()
    for unit, status in result.critiques.items():
        mark = paint("✓", "ok") if status.dispositioned and not status.stale else paint("·", "warning")
        print(f" {mark} critique: {unit:<9} {clean_line(status.reason)}")
    counts = {s: sum(1 for d in result.diagnostics if d.severity == s) for s in ("error", "warning", "info")}
    print()
    print(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info (ftd check for details)")
    print(paint("Next: ", "bold") + clean_line(next_action(gates)))
    return EXIT_OK
