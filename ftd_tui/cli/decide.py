"""`ftd decide`: the person's go / no-go on the latest baseline, recorded in the report."""

from __future__ import annotations

import sys

from ..core.evaluation.runs import inputs_hash_of
from ..core.text.textsafe import clean_line
from .errors import EXIT_FINDINGS, EXIT_OK, CommandError
from .project import load_project, session_of


def cmd_decide(args) -> int:
    from ..services.session import SessionError

    project = load_project(args.dir)
    session = session_of(project)
    if not session.report_path.is_file():
        raise CommandError("no base-model-eval-results.md yet: run `ftd baseline` first", EXIT_FINDINGS)
    ev = project.files["eval-results"].ensure_parsed()
    from ..core.artifacts.eval_results import check_eval_results

    facts, _ = check_eval_results(ev.md, ev.rel, inputs_hash_of(project)) if ev.md is not None else ({}, [])
    if facts.get("run") and not facts.get("matches"):
        print(f"note: run {facts['run']} was made with other artifacts than today's; the decision is recorded but "
              "gate 7 stays open until a run on the current artifacts", file=sys.stderr)
    if facts.get("recommendation"):
        print(f"recommendation: {facts['recommendation']}")
    decision, by, why = args.decision, args.by, args.rationale
    interactive = sys.stdin.isatty()
    if decision is None and interactive:
        decision = input("decision (proceed / prompt-engineer-first / stop): ").strip()
    if by is None and interactive:
        by = input("decided by: ").strip()
    if why is None and interactive:
        why = input("rationale: ").strip()
    if decision not in ("proceed", "prompt-engineer-first", "stop") or not by or not why:
        raise CommandError("a decision needs --decision proceed|prompt-engineer-first|stop, --by NAME and --rationale TEXT",
                           EXIT_FINDINGS)
    try:  # refused if the report changed since it was read above (the stamp taken when the project loaded)
        path = session.record_decision(decision, by, why, expected=project.files["eval-results"].stamp)
    except SessionError as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    print(f"recorded: {decision} by {clean_line(by)} in {path}")
    return EXIT_OK
