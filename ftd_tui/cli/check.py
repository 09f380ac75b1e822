"""`ftd check`: every rule, then the gates; exit 1 on errors."""

from __future__ import annotations

import json
import sys

from .errors import EXIT_FINDINGS, EXIT_OK
from .output import color, use_color
from .project import analyse


def cmd_check(args) -> int:
    from ..core.rules.diagnostics import more_findings, per_file_shown
    from ..core.rules.gates import next_action
    from ..core.text.textsafe import clean, clean_line

    project, result, gates = analyse(args.dir)
    has_errors = any(d.severity == "error" for d in result.diagnostics)
    if args.format == "json":
        out = {
            "diagnostics": [d.as_json() for d in result.diagnostics],
            "gates": [g.as_json() for g in gates],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
        return EXIT_FINDINGS if has_errors else EXIT_OK
    paint = color(use_color(sys.stdout))
    lines = [paint("Next: ", "bold") + clean_line(next_action(gates)), ""]
    current = None
    shown, hidden = (result.diagnostics, {}) if args.all else per_file_shown(result.diagnostics)

    def more(file: str | None) -> None:
        if hidden.get(file):
            lines.append(paint(more_findings(hidden[file]), "dim"))

    for d in shown:
        if d.file != current:
            if current is not None:
                more(current)
                lines.append("")
            current = d.file
        loc = f"{d.file}:{d.line}:{d.column}"
        lines.append(f"{loc}  {d.rule}  {paint(d.severity, d.severity)}  {clean_line(d.message)}")
        if d.hint:
            lines.append(" " * 4 + paint("hint: " + clean_line(d.hint), "dim"))
    more(current)
    if result.diagnostics:
        lines.append("")
    lines.append(paint("Gates", "bold"))
    for g in gates:
        mark = paint("✓ passed", "ok") if g.passed else paint("✗ open  ", "error")
        label = f"{g.step}" if g.step <= 7 else "="
        lines.append(f"  {mark}  {label} {g.name}: {clean_line(g.reason)}")
        if not g.passed and g.next_step:
            lines.append(" " * 14 + "next: " + clean_line(g.next_step))
    counts = {s: sum(1 for d in result.diagnostics if d.severity == s) for s in ("error", "warning", "info")}
    lines.append("")
    lines.append(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info — {clean(str(project.root))}")
    print("\n".join(lines))
    return EXIT_FINDINGS if has_errors else EXIT_OK
