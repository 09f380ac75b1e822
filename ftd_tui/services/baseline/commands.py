"""`ftd baseline`, `ftd decide` and `ftd runs`. The app starts the very same `ftd baseline` as a
detached child, so a paid run never depends on the UI staying up."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

from ...core.evaluation import runs
from ...core.text.textsafe import clean, clean_line, json_text
from ...core.evaluation.runs import inputs_hash_of

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_UNREADABLE):
        super().__init__(message)
        self.code = code


def add_parsers(sub) -> None:
    b = sub.add_parser("baseline", help="evaluate the base model on multi-turn conversations against the rubric")
    b.add_argument("dir", nargs="?", default=".")
    b.add_argument("--scenarios", type=int, help="number of scenarios (default: eval.scenarios, 16)")
    b.add_argument("--fresh", action="store_true", help="start a new run instead of resuming the latest")
    b.add_argument("--redraw", action="store_true", help="draw eval/scenarios.yaml anew (your edits to it are replaced)")
    b.add_argument("--smoke", action="store_true", help="2 scenarios x 2 exchanges: check the wiring for pennies")
    b.add_argument("--max-cost", type=float, help="stop before a call could take the run past this many dollars")
    b.add_argument("--format", choices=("text", "json"), default="text")
    b.add_argument("--forecast", action="store_true", help="print the forecast and stop")
    b.add_argument("--yes", action="store_true", help="start a new run without asking when the inputs changed")
    b.add_argument("--no-cache", action="store_true", help="ask the models again instead of reusing cached answers")
    b.add_argument("--against", metavar="RUN", help="a new run on exactly the scenarios and seeds of RUN, then "
                   "per-scenario paired differences (another model, system prompt or prompt version)")
    b.add_argument("--judge-repeats", type=int, default=1, metavar="K",
                   help="re-ask a sample of criteria K times (uncached) to measure each judge's flip rate")
    b.add_argument("--run", help=argparse_suppress())  # the app's detached child: resume exactly this run folder
    # defined here, not in calibrate.py, so that building the parser imports nothing heavy
    c = sub.add_parser("calibrate", help="judge self-test: each judge answers the rubric's calibration examples, "
                                         "leave-one-out, before a baseline is paid for")
    c.add_argument("dir", nargs="?", default=".")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--fresh", action="store_true", help="start a new self-test instead of resuming the latest")
    c.add_argument("--no-cache", action="store_true", help="ask the judges again instead of reusing cached answers")
    d = sub.add_parser("decide", help="record the go / no-go decision on the latest baseline")
    d.add_argument("dir", nargs="?", default=".")
    d.add_argument("--decision", choices=("proceed", "prompt-engineer-first", "stop"))
    d.add_argument("--by", help="who decided (default: ask)")
    d.add_argument("--rationale", help="why (default: ask)")
    r = sub.add_parser("runs", help="list, show and prune baseline runs")
    # `ftd runs DIR` and `ftd runs show DIR` both read naturally: the action is optional
    r.add_argument("words", nargs="*", metavar="[list|show|prune] [DIR]")
    r.add_argument("--id", help="the run to show (default: the latest)")
    r.add_argument("--keep", type=int, default=5, help="prune: how many of the newest runs to keep")
    r.add_argument("--dry-run", action="store_true")
    r.add_argument("--format", choices=("text", "json"), default="text")


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def _project(dir_arg: str):
    from ...core.project.project import Project, ProjectError

    try:
        return Project.load(dir_arg)
    except ProjectError as exc:
        raise CommandError(str(exc)) from None


def _effective(project) -> tuple[dict, dict]:
    from ...core.user.roles import effective_settings
    from ...core.user.prefs import load_prefs

    lf = project.files["settings"]
    if not lf.readable or not isinstance(lf.data, dict):
        raise CommandError(f"{project.root / 'ftd.yaml'} cannot be read; run ftd check", EXIT_FINDINGS)
    prefs, _ = load_prefs()
    user = getattr(prefs, "models", None)
    settings, _ = effective_settings(lf.data, user if isinstance(user, dict) else None)
    return settings, lf.data


# --------------------------------------------------------------------------- ftd baseline


def cmd_baseline(args) -> int:
    from ...core.user.trust import is_approved
    from .forecast import done_calls, forecast, lines
    from .setup import BaselineError, InputsChanged, describe_changes, gather, prepare, smoke_selection

    project = _project(args.dir)
    settings, project_settings = _effective(project)
    quiet = args.format == "json"
    err = sys.stderr

    def say(text: str = "") -> None:
        print(clean(text), file=err if quiet else sys.stdout)

    if args.forecast:  # nothing is written: no run folder, no scenarios file
        from .setup import plan

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
    from .runner import Runner

    scen_for_forecast = runs.read_json(prep.run_dir / "scenarios.json")
    if not isinstance(scen_for_forecast, list):
        from .setup import load_or_draw

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
    from ...core.user.dirs import cache_dir
    from ..llm.cache import ResponseCache
    from ..llm.door import Door

    cache = None if args.no_cache else ResponseCache(cache_dir() / "responses.sqlite")
    door = Door(settings, cache=cache, trusted=is_approved(project_settings))
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
        return 130
    finally:
        if cache is not None:
            cache.close()
    bar.done()
    report = None
    # a report (and so a decision) only on a whole run: a stopped or partial run would be a
    # pass rate over whichever conversations happened to finish first
    # A run failed for unusable judges gets one too, stopped early or not: its report says so at the
    # top, with no recommendation (gate 7 stays open), instead of leaving an older verdict standing
    # A whole run whose every conversation was a harness fault is reported too: it is an invalid
    # run, and the report quotes the text that excluded each one (the user's next step)
    from ...core.evaluation.report import harness_faults

    whole = (summary.get("state") == "done" and not summary.get("unfinished")
             and bool(summary.get("assessed") or harness_faults(summary.get("excluded") or [])))
    judges_failed = (summary.get("failure") or {}).get("kind") == "judges_unusable"
    if not args.smoke and (whole or judges_failed):
        from .runner import write_report

        report = write_report(project.root, summary)
    if quiet:
        # json_text: the app's detached child prints this into the run folder's log.txt
        print(json_text(public_summary(summary, prep.run_dir, report), indent=1, default=str))
    else:
        for line in summary_lines(summary):
            say(line)
        if report is not None and summary.get("failure"):
            say(f"report: {report} (it says the run failed and makes no recommendation)")
        elif report is not None:
            say(f"report: {report}")
            say("record the decision: ftd decide (or in the app, after the results screen)")
        elif args.smoke:
            say("smoke run: the report is not written; run without --smoke for the real baseline")
        else:
            say("the report is written once every conversation is judged or excluded: run again to resume")
    return EXIT_OK if summary.get("state") == "done" and not summary.get("unfinished") else EXIT_FINDINGS


def run_cancellable(start):
    """Run ``start()`` to completion; SIGTERM (the app's cancel) and SIGHUP (a dropped SSH
    session) cancel it like ctrl+c, so the run's finally-blocks write what finished."""
    import asyncio
    import signal

    async def main():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, task.cancel)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return await start()

    return asyncio.run(main())


def public_summary(summary: dict, run_dir: Path, report: Path | None) -> dict:
    from ...core.evaluation.report import harness_faults

    cmp = summary.get("comparison")
    return {"run": run_dir.name, "state": summary.get("state"), "failure": summary.get("failure"),
            "pass_rate": summary.get("pass_rate"),
            "interval": summary.get("interval"), "mean_score": summary.get("mean_score"),
            "scenarios": summary.get("scenarios"), "assessed": summary.get("assessed"),
            "recommendation": summary.get("recommendation"),
            "safety_gate_failures": summary.get("safety_gate_failures"), "calls": summary.get("calls"),
            "requests": summary.get("requests"),
            "cost": summary.get("cost"), "excluded": len(harness_faults(summary.get("excluded") or [])),
            "unfinished": summary.get("unfinished") or [], "report": str(report) if report else None,
            "comparison": {k: cmp.get(k) for k in ("against", "n", "mean_diff", "interval", "wins", "losses", "ties")}
            if isinstance(cmp, dict) else None,
            "judge_repeats": summary.get("judge_repeats")}


def pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def summary_lines(s: dict) -> list[str]:
    iv = s.get("interval")
    failure = s.get("failure") if isinstance(s.get("failure"), dict) else None
    out = [f"Baseline {s.get('run')}: {s.get('state')}" + (f": {str(failure.get('kind')).replace('_', ' ')}" if failure else ""),
           f"  pass rate {pct(s.get('pass_rate'))} ({s.get('passed', 0)}/{s.get('assessed', 0)})"
           + (f", 95% interval {pct(iv[0])}–{pct(iv[1])}" if iv else ""),
           f"  recommendation: {s.get('recommendation_text') or s.get('recommendation')}"]
    if s.get("safety_gate_failures"):
        out.append(f"  safety gate failures: {s['safety_gate_failures']} conversation(s)")
    from ...core.evaluation.report import harness_faults

    if harness_faults(s.get("excluded") or []):  # unfinished conversations have their own line below
        out.append(f"  excluded (harness faults): {len(harness_faults(s['excluded']))}")
    if s.get("unfinished"):
        out.append(f"  unfinished: {len(s['unfinished'])} conversation(s) — run again to resume")
    for e in (s.get("errors") or [])[-3:]:
        out.append(f"  error: {clean_line(str(e))}")
    cmp = s.get("comparison")
    if isinstance(cmp, dict) and cmp.get("n"):
        iv = cmp.get("interval")
        out.append(f"  against {cmp.get('against')}: mean score difference {cmp['mean_diff']:+.3f}"
                   + (f" (95% interval {iv[0]:+.3f} to {iv[1]:+.3f})" if iv else "")
                   + f" over {cmp['n']} paired scenarios; wins {cmp['wins']}, losses {cmp['losses']}, ties {cmp['ties']}")
    flagged = [a for a in s.get("agreement") or [] if a.get("flag")]
    for a in flagged:
        out.append(f"  judges disagree on {a['id']}: κ upper bound {a['interval'][1]:.2f} at n = {a['n']} — {a['advice']}")
    for h in s.get("human") or []:
        if h.get("not_trusted"):
            out.append(f"  judge not trusted on {h['id']}: the combined verdict disagrees with the reviewer on "
                       f"{h['combined_disagreements']} conversations")
    cost = s.get("cost")
    req = s.get("requests") if isinstance(s.get("requests"), dict) else None
    calls = f"calls {s.get('calls', 0)}"
    if req:  # requests sent, then the calls behind them; the difference is re-asks and retries
        rest = int(req.get("sent") or 0) - int(req.get("answered") or 0) - int(req.get("failed") or 0)
        calls += (f" sent ({req.get('answered', 0)} answered, {req.get('failed', 0)} failed"
                  + (f", {rest} re-asks and retries" if rest > 0 else "") + ")")
    out.append(f"  {calls}, cost {'unknown' if cost is None else f'${cost:.4f}'}")
    return out


class ProgressLine:
    """One line, rewritten in place, on a terminal; nothing when output is piped. ``text``
    turns a progress record into the line (the baseline's stages, the self-test's examples)."""

    def __init__(self, stream, enabled: bool, text):
        self.stream, self.enabled, self.text, self.shown = stream, enabled, text, False

    def update(self, p: dict) -> None:
        if not self.enabled:
            return
        self.stream.write("\r\x1b[2K" + self.text(p)[:200])
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


def _stages_text(p: dict) -> str:
    st = p.get("stages") or {}

    def frac(k: str) -> str:
        v = st.get(k) or {}
        return f"{v.get('done', 0)}/{v.get('total', 0)}"

    t = p.get("tally") or {}
    cost = p.get("cost")
    return (f"situations {frac('scenarios')} · exchanges {frac('exchanges')} · judgments {frac('judgments')} · "
            f"passed {t.get('passed', 0)}/{t.get('judged', 0)} · {'cost unknown' if cost is None else f'${cost:.3f}'}")


def cmd_calibrate(args) -> int:
    from .calibrate import cmd_calibrate as run

    return run(args)


# --------------------------------------------------------------------------- ftd decide


def cmd_decide(args) -> int:
    from ...core.evaluation.report import record_decision
    from ...core.project.storage import save_atomic
    from .runner import report_path

    project = _project(args.dir)
    path = report_path(project.root)
    if not path.is_file():
        raise CommandError("no base-model-eval-results.md yet: run `ftd baseline` first", EXIT_FINDINGS)
    text = path.read_text(encoding="utf-8")
    ev = project.files["eval-results"].ensure_parsed()
    from ...core.artifacts.eval_results import check_eval_results

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
    new = record_decision(text, decision, by, why, dt.date.today().isoformat())
    save_atomic(path, new.encode("utf-8"), project.files["eval-results"].stamp)
    print(f"recorded: {decision} by {clean_line(by)} in {path}")
    return EXIT_OK


# --------------------------------------------------------------------------- ftd runs


def cmd_runs(args) -> int:
    words = list(args.words)
    args.action = words.pop(0) if words and words[0] in ("list", "show", "prune") else "list"
    if len(words) > 1:
        raise CommandError("usage: ftd runs [list|show|prune] [DIR]")
    args.dir = words[0] if words else "."
    project = _project(args.dir)
    infos = runs.list_runs(project.root)
    if args.action == "prune":
        ev = project.files["eval-results"].ensure_parsed()
        protect = []
        if ev.md is not None and ev.md.front_matter is not None and isinstance(ev.md.front_matter.data, dict):
            run = ev.md.front_matter.data.get("run")
            if isinstance(run, dict) and isinstance(run.get("id"), str):
                protect.append(run["id"])
        gone = runs.prune(project.root, args.keep, dry_run=args.dry_run, protect=protect)
        verb = "would delete" if args.dry_run else "deleted"
        if args.format == "json":
            print(json.dumps({"deleted": gone, "dry_run": args.dry_run}))
        else:
            print(f"{verb} {len(gone)} run(s)" + (": " + ", ".join(gone) if gone else "")
                  + (f"; kept the report's run {protect[0]}" if protect else ""))
        return EXIT_OK
    if args.action == "show":
        chosen = next((i for i in infos if i.id == args.id), None) if args.id else (infos[0] if infos else None)
        if chosen is None:
            raise CommandError("no such run" if args.id else "no baseline runs yet", EXIT_FINDINGS)
        summary = runs.read_json(chosen.path / runs.SUMMARY)
        if args.format == "json":
            print(json.dumps({"run": chosen.as_json(), "summary": summary}, indent=1, default=str))
        else:
            print(f"{chosen.id}  {chosen.state}  {chosen.path}")
            for line in summary_lines(summary) if isinstance(summary, dict) else ["  no summary yet"]:
                print(line)
        return EXIT_OK
    current = inputs_hash_of(project)
    if args.format == "json":
        print(json.dumps([dict(i.as_json(), current=i.inputs_hash == current) for i in infos], indent=1))
        return EXIT_OK
    if not infos:
        print("no baseline runs yet: ftd baseline")
        return EXIT_OK
    for i in infos:
        mark = "current" if i.inputs_hash == current else "stale  "
        holder = f"  writing: {i.holder.get('user')}@{i.holder.get('host')} pid {i.holder.get('pid')}" if i.holder else ""
        print(f"{i.id}  {i.state:<11} {mark}  {'smoke ' if i.smoke else ''}pass {pct(i.pass_rate)}"
              f" (n={i.assessed if i.assessed is not None else '–'})  {i.recommendation or ''}{holder}")
    return EXIT_OK


def spawn_detached(root: Path, run_dir: Path, extra: list[str] | None = None) -> int:
    """Start `ftd baseline` in its own session: quitting (or a crash of) the app never stops it.
    Its output goes to the run folder's log, which holds no keys (every message is redacted)."""
    import subprocess

    log = open(run_dir / "log.txt", "ab")
    cmd = [sys.executable, "-m", "ftd_tui", "baseline", str(root), "--run", str(run_dir), "--format", "json",
           *(extra or [])]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                            cwd=str(root), env=dict(os.environ))
    log.close()
    return proc.pid


def cancel_run(run_dir: Path) -> bool:
    import signal

    holder = runs.read_lock(run_dir)
    if not runs.lock_is_live(holder) or not isinstance((holder or {}).get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], signal.SIGTERM)
    except OSError:
        return False
    return True
