"""`ftd critique UNIT`: the experts' role-play critique, streamed, then the synthesis's proposals;
`--reviewed` closes the latest critique as "reviewed, nothing to change"."""

from __future__ import annotations

import sys

from .errors import EXIT_FINDINGS, EXIT_OK, CommandError
from .project import session_of, settings_of


def cmd_critique(args) -> int:
    import asyncio

    from ..core.text.textsafe import clean, clean_line
    from ..services.critique.run import CritiqueError, run_critique
    from ..services.llm.door import LLMError

    project, project_settings = settings_of(args.dir)
    session = session_of(project)
    settings, _ = session.effective_settings(project_settings)
    if args.reviewed is not None:
        return _critique_reviewed(project, args)
    from ..services.critique.forecast import critique_forecast, lines as forecast_lines
    from ..services.critique.run import panel_source, plan_critique

    if panel_source(project, args.unit)[1]:
        print(f"critiques/experts.yaml has no {args.unit} panel: using ftd's default, domain-general panel "
              "(write your own for better critiques)", file=sys.stderr)
    try:  # the forecast first, from the very requests the run will send (nothing is sent or written yet)
        # a critique without a critic stops here, not after a forecast
        session.door(settings, project_settings, cache=False).role("critic")
        plan = plan_critique(project, args.unit, with_transcripts=args.with_transcripts, settings=settings)
    except (CritiqueError, LLMError) as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    for line in forecast_lines(critique_forecast(plan, settings)):
        print(clean_line(line))
    if args.forecast:
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            print("not started: add --yes to start the critique without a terminal", file=sys.stderr)
            return EXIT_FINDINGS
        try:
            answer = input("Enter starts the critique (n and Enter: stop) ")
        except (EOFError, KeyboardInterrupt):
            answer = "n"
        if answer.strip().lower() in ("n", "no", "q", "stop"):
            print("not started", file=sys.stderr)
            return EXIT_FINDINGS
    # the user's own config is trusted; only the project's roles need approval (the session's default)
    door = session.door(settings, project_settings, cache=not args.no_cache)
    order: list = []
    shown: dict[str, int] = {}  # voice key -> characters already printed
    state = {"current": 0}

    def out(text: str) -> None:
        sys.stdout.write(clean(text))
        sys.stdout.flush()

    def advance() -> None:
        # print the current voice live; the others wait their turn, then appear whole
        while state["current"] < len(order):
            v = order[state["current"]]
            if v.key not in shown:
                out(f"\n## {v.name} ({v.kind}{', difficult user' if v.difficult_user else ''}) — fictional\n\n")
                shown[v.key] = 0
            out(v.text[shown[v.key]:])
            shown[v.key] = len(v.text)
            if v.status in ("done", "error", "cancelled"):
                if v.error:
                    out(f"\n[{v.status}: {v.error}]\n")
                state["current"] += 1
                continue
            break

    def on_event(kind: str, voice) -> None:
        if voice is not None and voice not in order:
            order.append(voice)
        if kind in ("delta", "status"):
            advance()
        elif kind == "synthesis":
            out("\n\n# Synthesis\n\n")

    try:
        run = asyncio.run(run_critique(door, project, args.unit, on_event, use_cache=not args.no_cache,
                                       with_transcripts=args.with_transcripts, plan=plan,
                                       synthesis_cache=not args.retry_synthesis))
    except (CritiqueError, LLMError) as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    except KeyboardInterrupt:
        print("\ncancelled; the answers that arrived are kept in the log", file=sys.stderr)
        return 130
    finally:
        if door.cache is not None:
            door.cache.close()
    advance()
    if run.synthesis_error and not run.cancelled:
        _no_proposals(args, run)
    for p in run.proposals:
        flag = "  ⚠ touches " + ", ".join(p.flagged) if p.flagged else ""
        problem = f"  (cannot apply: {clean_line(p.problem)})" if p.problem else ""
        edits = len(p.edits)
        print(f"- {clean_line(str(p.data.get('id')))} [{clean_line(str(p.data.get('severity')))}] "
              f"{clean_line(str(p.data.get('title')))}{f'  ({edits} edits)' if edits > 1 else ''}{flag}{problem}")
        if p.disagreement:
            print(f"    experts disagree: {clean_line(p.disagreement)}")
        for m in p.marks:
            print(f"    ⚠ {clean_line(m)}")
        for f in p.findings:
            print(f"    ⚠ new finding: {clean_line(f)}")
    if run.candidates:
        print(f"\n{len(run.candidates)} candidate test case(s) from the experts (UNREVIEWED: take or drop each in the "
              "app, F6 then tab):")
        for c in run.candidates:
            what = (f"calibration example for {c.get('criterion')}, suggested {c.get('label')}" if c.get("kind") == "example"
                    else f"user message: {c.get('message')}")
            print(f"- {clean_line(str(c.get('id')))} {clean_line(what)[:110]} (fictional {clean_line(str(c.get('expert')))})")
    for note in run.material_notes:
        print(f"  note: {clean_line(note)}")
    print(f"\nlog: {run.log_path}")
    if run.proposals:
        print("decide each proposal in the app (F6 on the artifact); critical and major ones gate 'done'")
    failed = [v for v in run.voices if v.status != "done"]
    if failed or run.synthesis_error:
        if failed:
            print(f"{len(failed)} expert(s) failed; see the log", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


def _no_proposals(args, run) -> None:
    """The synthesis gave nothing: say so, and the three ways on with their commands."""
    import shlex

    from ..core.text.textsafe import clean_line

    where = "" if args.dir == "." else " " + shlex.quote(args.dir)
    files = ", ".join(sorted(run.plan.artifact)) if run.plan is not None else args.unit
    print(f"\n{clean_line(run.synthesis_error)}. Three ways on:")
    print("  1. retry the synthesis (the experts' answers come from the response cache; only the synthesis is asked again):")
    print(f"       ftd critique {args.unit}{where} --retry-synthesis --yes")
    print(f"  2. write the changes yourself: edit {files} (ftd{where} opens it), then run a new critique")
    print("  3. mark it reviewed, nothing to change, with a reason (this closes the critique gate):")
    print(f"       ftd critique {args.unit}{where} --reviewed \"why nothing needs to change\"")


def _critique_reviewed(project, args) -> int:
    """`ftd critique UNIT --reviewed REASON`: the latest log closed as "reviewed, nothing to change"."""
    from ..core.project.boundary import FileRefused, read_inside
    from ..core.rules.critique_gate import open_proposals
    from ..core.text.textsafe import clean_line
    from ..core.text.yamldoc import YamlError
    from ..services.critique.log import read_front, record_reviewed
    from ..services.critique.run import logs_of

    reason = " ".join(args.reviewed.split())
    if not reason:
        raise CommandError("--reviewed needs a reason: why nothing needs to change", EXIT_FINDINGS)
    logs = logs_of(project, args.unit)
    if not logs:
        raise CommandError(f"no critique of the {args.unit} yet: nothing to mark reviewed (ftd critique {args.unit} runs one)",
                       EXIT_FINDINGS)
    latest = logs[0]
    rel = latest.relative_to(project.root).as_posix()
    try:
        read_inside(project.root, rel)  # a log linked out of the project is neither read nor written
        front = read_front(latest)
    except FileRefused as exc:
        raise CommandError(f"{rel}: {exc.message}", EXIT_FINDINGS) from None
    except (YamlError, OSError, ValueError) as exc:
        raise CommandError(f"{rel} cannot be read: {clean_line(str(exc))}", EXIT_FINDINGS) from None
    waiting = open_proposals(front)
    if waiting:
        raise CommandError(f"{rel} has {len(waiting)} critical/major proposal(s) awaiting a decision "
                       f"({', '.join(clean_line(w) for w in waiting[:5])}): those are decided one by one (F6 on the "
                       "artifact in the app), not marked reviewed", EXIT_FINDINGS)
    try:
        record_reviewed(latest, reason, project.artifact_hash(args.unit))
    except (OSError, ValueError) as exc:
        raise CommandError(f"could not record it in {rel}: {clean_line(str(exc))}", EXIT_FINDINGS) from None
    print(f"{rel}: reviewed, nothing to change: {clean_line(reason)}")
    print("the critique gate counts it until the artifact changes (ftd status shows it)")
    return EXIT_OK
