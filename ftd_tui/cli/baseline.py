"""`ftd baseline`: the base model on multi-turn conversations against the rubric, resumable.
The app starts this very command as a detached child (services/baseline/process.py), so a paid
run never depends on the UI staying up; with --format json its last line is the run's summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.evaluation import runs
from ..core.evaluation.summary import RunSummary
from ..core.format import money, pct, pct_interval
from ..core.text.textsafe import clean, clean_line, json_text
from .errors import EXIT_CANCELLED, EXIT_FINDINGS, EXIT_OK, CommandError
from .output import ProgressLine
from .project import effective


def cmd_baseline(args) -> int:
    from ..services.baseline.forecast import done_calls, forecast, lines
    from ..services.baseline.setup import BaselineError, InputsChanged, describe_changes, gather, prepare, smoke_selection

    project, session, settings, project_settings = effective(args.dir)
    quiet = args.format == "json"
    err = sys.stderr

    def say(text: str = "") -> None:
        print(clean(text), file=err if quiet else sys.stdout)

    if args.forecast:  # nothing is written: no run folder, no scenarios file
        from ..services.baseline.setup import plan

        try:
            p = plan(project, settings, smoke=args.smoke, fresh=args.fresh)
        except BaselineError as exc:
            raise CommandError(str(exc), EXIT_FINDINGS) from None
        fc = forecast(p.inputs, p.scenarios, done_calls(p.records))
        for w in p.inputs.warnings:
            say(f"warning: {w}")
        say(f"Would resume {p.resume.id}" if p.resume is not None else "Would start a new run"
            + (f" ({describe_changes(p.changed)} changed since {p.latest.id})" if p.changed and p.latest else ""))
        for line in lines(fc):
            say(line)
        if quiet:
            print(json.dumps({"resume": p.resume.id if p.resume else None, "changed": p.changed,
                              "forecast": fc.as_json()}, indent=1))
        return EXIT_OK
    try:
        try:
            prep = prepare(project, fresh=args.fresh, smoke=args.smoke, scenarios=args.scenarios, redraw=args.redraw,
                           run_dir=Path(args.run) if args.run else None, settings=settings,
                           new_if_changed=args.yes or bool(args.against), against=args.against)
        except InputsChanged as exc:
            if not (sys.stdin.isatty() and not quiet):
                raise
            say(str(exc))
            if input("Start a new run? [y/N] ").strip().lower() not in ("y", "yes"):
                return EXIT_FINDINGS
            prep = prepare(project, fresh=False, smoke=args.smoke, scenarios=args.scenarios, settings=settings,
                           new_if_changed=True)
        inputs = gather(project, settings)
    except BaselineError as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    for w in inputs.warnings:
        say(f"warning: {w}")
    records = runs.read_jsonl(prep.run_dir / runs.CALLS)
    from ..services.baseline.runner import Runner

    scen_for_forecast = runs.read_json(prep.run_dir / "scenarios.json")
    if not isinstance(scen_for_forecast, list):
        from ..services.baseline.setup import load_or_draw

        scen_for_forecast, _, _ = load_or_draw(inputs, None, False)
        if args.smoke:
            scen_for_forecast = smoke_selection(scen_for_forecast)
    fc = forecast(inputs, scen_for_forecast, done_calls(records))
    say(("Resuming" if prep.resumed else "New run") + f" {prep.run_dir.name}"
        + (f" (conversations reused from {prep.reused_from})" if prep.reused_from else ""))
    for line in lines(fc):
        say(line)
    if args.max_cost is not None and fc.unknown_prices:
        raise CommandError("--max-cost cannot be kept while a price is unknown ("
                           + ", ".join(fc.unknown_prices) + "); set models.<role>.price in ftd.yaml", EXIT_FINDINGS)
    from ..services.baseline.process import run_cancellable

    door = session.door(settings, project_settings, cache=not args.no_cache)
    bar = ProgressLine(err if quiet or not sys.stdout.isatty() else sys.stdout, (err if quiet else sys.stdout).isatty(),
                       _stages_text)
    runner = Runner(inputs, prep.run_dir, door, smoke=args.smoke, max_cost=args.max_cost, on_progress=bar.update,
                    use_cache=not args.no_cache, judge_repeats=max(1, args.judge_repeats))

    try:
        summary = run_cancellable(runner.run)
    except runs.LockHeld as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    except (KeyboardInterrupt, __import__("asyncio").CancelledError):
        bar.done()
        say(f"cancelled; every finished call is kept — run `ftd baseline {args.dir}` to resume")
        return EXIT_CANCELLED
    finally:
        if door.cache is not None:
            door.cache.close()
    bar.done()
    report = None
    # a report (and so a decision) only on a whole run: a stopped or partial run would be a
    # pass rate over whichever conversations happened to finish first
    # A run failed for unusable judges gets one too, stopped early or not: its report says so at the
    # top, with no recommendation (gate 7 stays open), instead of leaving an older verdict standing
    # A whole run whose every conversation was a harness fault is reported too: it is an invalid
    # run, and the report quotes the text that excluded each one (the user's next step)
    from ..core.evaluation.summarize import harness_faults

    typed = RunSummary.from_dict(summary)  # the runner's dict, read by attribute from here on
    whole = (typed.state == "done" and not typed.unfinished
             and bool(typed.assessed or harness_faults(typed.excluded or [])))
    judges_failed = (typed.failure or {}).get("kind") == "judges_unusable"
    if not args.smoke and (whole or judges_failed):
        from ..services.baseline.reporting import write_report

        report = write_report(project.root, summary)
    if quiet:
        # json_text: the app's detached child prints this into the run folder's log.txt
        print(json_text(public_summary(summary, prep.run_dir, report), indent=1, default=str))
    else:
        for line in summary_lines(summary):
            say(line)
        if report is not None and typed.failure:
            say(f"report: {report} (it says the run failed and makes no recommendation)")
        elif report is not None:
            say(f"report: {report}")
            say("record the decision: ftd decide (or in the app, after the results screen)")
        elif args.smoke:
            say("smoke run: the report is not written; run without --smoke for the real baseline")
        else:
            say("the report is written once every conversation is judged or excluded: run again to resume")
    return EXIT_OK if typed.state == "done" and not typed.unfinished else EXIT_FINDINGS


def public_summary(summary: dict | RunSummary, run_dir: Path, report: Path | None) -> dict:
    """What --format json prints at the end of a run (the detached child's last line in log.txt)."""
    from ..core.evaluation.summarize import harness_faults

    s = _typed(summary)
    cmp = s.comparison
    return {"run": run_dir.name, "state": s.state, "failure": s.failure, "pass_rate": s.pass_rate,
            "interval": s.interval, "mean_score": s.mean_score, "scenarios": s.scenarios, "assessed": s.assessed,
            "recommendation": s.recommendation, "safety_gate_failures": s.safety_gate_failures, "calls": s.calls,
            "requests": s.requests, "cost": s.cost, "excluded": len(harness_faults(s.excluded or [])),
            "unfinished": s.unfinished or [], "report": str(report) if report else None,
            "comparison": {k: cmp.get(k) for k in ("against", "n", "mean_diff", "interval", "wins", "losses", "ties")}
            if isinstance(cmp, dict) else None,
            "judge_repeats": s.judge_repeats}


def _typed(summary: dict | RunSummary) -> RunSummary:
    return summary if isinstance(summary, RunSummary) else RunSummary.from_dict(summary)


def summary_lines(summary: dict | RunSummary) -> list[str]:
    """A run's summary as `ftd baseline` ends and `ftd runs show` prints it."""
    from ..core.evaluation.summarize import harness_faults

    s = _typed(summary)
    iv = s.interval
    failure = s.failure if isinstance(s.failure, dict) else None
    out = [f"Baseline {s.run}: {s.state}" + (f": {str(failure.get('kind')).replace('_', ' ')}" if failure else ""),
           f"  pass rate {pct(s.pass_rate)} ({s.passed or 0}/{s.assessed or 0})"
           + (f", 95% interval {pct_interval(iv)}" if iv else ""),
           f"  recommendation: {s.recommendation_text or s.recommendation}"]
    if s.safety_gate_failures:
        out.append(f"  safety gate failures: {s.safety_gate_failures} conversation(s)")
    faults = harness_faults(s.excluded or [])
    if faults:  # unfinished conversations have their own line below
        out.append(f"  excluded (harness faults): {len(faults)}")
    if s.unfinished:
        out.append(f"  unfinished: {len(s.unfinished)} conversation(s) — run again to resume")
    for e in (s.errors or [])[-3:]:
        out.append(f"  error: {clean_line(str(e))}")
    cmp = s.comparison
    if isinstance(cmp, dict) and cmp.get("n"):
        civ = cmp.get("interval")
        out.append(f"  against {cmp.get('against')}: mean score difference {cmp['mean_diff']:+.3f}"
                   + (f" (95% interval {civ[0]:+.3f} to {civ[1]:+.3f})" if civ else "")
                   + f" over {cmp['n']} paired scenarios; wins {cmp['wins']}, losses {cmp['losses']}, ties {cmp['ties']}")
    for a in s.agreement or []:
        if a.get("flag"):
            out.append(f"  judges disagree on {a['id']}: κ upper bound {a['interval'][1]:.2f} at n = {a['n']} — {a['advice']}")
    for h in s.human or []:
        if h.get("not_trusted"):
            out.append(f"  judge not trusted on {h['id']}: the combined verdict disagrees with the reviewer on "
                       f"{h['combined_disagreements']} conversations")
    req = s.requests if isinstance(s.requests, dict) else None
    calls = f"calls {s.calls or 0}"
    if req:  # requests sent, then the calls behind them; the difference is re-asks and retries
        rest = int(req.get("sent") or 0) - int(req.get("answered") or 0) - int(req.get("failed") or 0)
        calls += (f" sent ({req.get('answered', 0)} answered, {req.get('failed', 0)} failed"
                  + (f", {rest} re-asks and retries" if rest > 0 else "") + ")")
    out.append(f"  {calls}, cost {money(s.cost)}")
    return out


def _stages_text(p: dict) -> str:
    st = p.get("stages") or {}

    def frac(k: str) -> str:
        v = st.get(k) or {}
        return f"{v.get('done', 0)}/{v.get('total', 0)}"

    t = p.get("tally") or {}
    cost = p.get("cost")
    return (f"situations {frac('scenarios')} · exchanges {frac('exchanges')} · judgments {frac('judgments')} · "
            f"passed {t.get('passed', 0)}/{t.get('judged', 0)} · {'cost unknown' if cost is None else money(cost)}")
