"""`ftd` entry point. Arguments are parsed before anything heavy is imported: `ftd --help`
and `ftd check` never load Textual or litellm."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

SUBCOMMANDS = ("check", "status", "tokens", "models", "critique", "baseline", "calibrate", "decide", "runs", "doctor", "trust", "new", "schema",
               "get", "set", "locate", "prompts")
EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2

USAGE = """\
ftd [DIR] [--theme NAME] [--review]        open the app on a project (default: this folder)
ftd check [DIR] [--format text|json] [--all]  every rule, then the gates; exit 1 on errors
ftd status [DIR]                           one screen: gates and the next step
ftd tokens [DIR] [--format text|json]      token budget, conversation length and cost estimates
ftd models [DIR] [--format text|json]      the base models ftd knows: catalog and local snapshots
ftd critique UNIT [DIR] [--no-cache] [--forecast] [--yes] [--reviewed REASON]
                                           expert role-play critique of taxonomy | rubric | personas | prompts
ftd baseline [DIR] [--scenarios N] [--fresh] [--smoke] [--max-cost X] [--format text|json]
                                           evaluate the base model on multi-turn conversations (resumes)
ftd calibrate [DIR] [--format text|json]   judges answer the rubric's own examples, leave-one-out
ftd decide [DIR]                           record the go / no-go decision on the latest baseline
ftd runs [list|show|prune] [DIR]           baseline runs: list, show one, prune old ones
ftd doctor [DIR]                           test each model role: key, server, model, latency
ftd prompts show ROLE [DIR] [--criterion ID] [--scenario ID]
                                           the exact messages a role would receive; calls nothing
ftd trust [DIR]                            approve the project's non-default endpoints / key variables
ftd new DIR [--template NAME]              a new project from a sample, or --template blank
ftd schema [ARTIFACT]                      JSON Schema for editors (settings, taxonomy, rubric, …)
ftd get FILE PATH                          read a value, e.g. criteria.CQ1.na_valid
ftd set FILE PATH VALUE [--create] [--force]  change one value, touching nothing else in the file
ftd locate                                 where ftd keeps its config, themes, drafts and crash reports
"""


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_UNREADABLE):
        super().__init__(message)
        self.code = code


def _color(enabled: bool):
    codes = {"error": "31;1", "warning": "33", "info": "36", "ok": "32", "dim": "2", "bold": "1"}

    def paint(text: str, what: str) -> str:
        return f"\x1b[{codes[what]}m{text}\x1b[0m" if enabled else text

    return paint


def _use_color(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ftd", description="Design-phase workbench for fine-tuning an LLM on multi-turn conversations.",
                                usage=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command")
    c = sub.add_parser("check", help="run every rule and the gates")
    c.add_argument("dir", nargs="?", default=".")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--all", action="store_true", help="show every finding (text shows the first 50 of each file)")
    s = sub.add_parser("status", help="gates and the next step")
    s.add_argument("dir", nargs="?", default=".")
    tk = sub.add_parser("tokens", help="token economics: conversation length against the budget, and cost")
    tk.add_argument("dir", nargs="?", default=".")
    tk.add_argument("--format", choices=("text", "json"), default="text")
    cr = sub.add_parser("critique", help="expert role-play critique of an artifact")
    cr.add_argument("unit", choices=("taxonomy", "rubric", "personas", "prompts"))
    cr.add_argument("dir", nargs="?", default=".")
    cr.add_argument("--no-cache", action="store_true", help="ask the models again instead of reusing cached answers")
    cr.add_argument("--with-transcripts", action="store_true",
                    help="also show the experts the latest baseline's best and worst conversations with their judgments")
    cr.add_argument("--forecast", action="store_true", help="print the calls, tokens and cost it would take, and stop")
    cr.add_argument("--yes", action="store_true", help="start without asking (needed without a terminal)")
    cr.add_argument("--retry-synthesis", action="store_true",
                    help="ask the synthesis again; the experts' answers come from the response cache")
    cr.add_argument("--reviewed", metavar="REASON",
                    help="close the latest critique as 'reviewed, nothing to change', with this reason (calls nothing)")
    from .services.baseline.commands import add_parsers
    from .core.economics.catalog import add_parser as add_models

    add_parsers(sub)
    add_models(sub)
    dr = sub.add_parser("doctor", help="test every model role (a tiny call each)")
    dr.add_argument("dir", nargs="?", default=".")
    dr.add_argument("--setup", action="store_true",
                    help="with no working setup, propose a models block for your user config from the keys and "
                         "local servers found")
    dr.add_argument("--write", action="store_true", help="with --setup: write the proposed block without asking")
    tr = sub.add_parser("trust", help="approve the project's endpoints and key variables")
    tr.add_argument("dir", nargs="?", default=".")
    n = sub.add_parser("new", help="create a project")
    n.add_argument("dir")
    n.add_argument("--template", default="wellbeing-coaching",
                   help="a sample project (wellbeing-coaching, software-support, math-tutoring) or 'blank'")
    sc = sub.add_parser("schema", help="JSON Schema of an artifact")
    sc.add_argument("artifact", nargs="?")
    g = sub.add_parser("get", help="read one value from a YAML file")
    g.add_argument("file")
    g.add_argument("path")
    st = sub.add_parser("set", help="change one value in a YAML file")
    st.add_argument("file")
    st.add_argument("path")
    st.add_argument("value")
    st.add_argument("--create", action="store_true", help="create missing keys on the way")
    st.add_argument("--force", action="store_true", help="replace the file even when it is read-only (mode 444)")
    sub.add_parser("locate", help="config, themes, state and cache folders")
    from .services.baseline.preview import ROLES, UNITS

    pr = sub.add_parser("prompts", help="the exact messages a model role would receive (calls nothing)")
    pr_sub = pr.add_subparsers(dest="prompts_command", required=True)
    ps = pr_sub.add_parser("show", help="print what ROLE would be sent for the current artifacts")
    ps.add_argument("role", choices=ROLES)
    ps.add_argument("dir", nargs="?", default=".")
    ps.add_argument("--criterion", help="judge: the criterion asked (default: the rubric's first)")
    ps.add_argument("--scenario", help="judge, simulator, base, scenario-writer: the scenario id (default: the first; "
                                       "for a gate criterion, the first scenario built for it)")
    ps.add_argument("--exchange", type=int, help="simulator, base: the exchange number (past 1 needs a run's transcript)")
    ps.add_argument("--unit", choices=UNITS, default="rubric", help="expert, synthesis: the artifact under critique")
    ps.add_argument("--expert", help="expert: a number on the panel (1 = first) or a name")
    ps.add_argument("--format", choices=("text", "json"), default="text")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS or (argv and argv[0] in ("-h", "--help", "--version")):
            args = build_parser("ftd").parse_args(argv)
            if args.version:
                from . import __version__

                print(f"ftd {__version__}")
                return EXIT_OK
            if args.command is None:
                build_parser("ftd").print_help()
                return EXIT_OK
            return COMMANDS[args.command](args)
        return run_app(argv)
    except CliError as exc:
        print(f"ftd: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug of ftd's: one plain line, the redacted traceback in a file
        return _crashed(exc, argv)


EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: not a finding about the project, a fault in ftd


def _crashed(exc: BaseException, argv: list[str]) -> int:
    from .core.text.redact import redact, write_crash_report
    from .core.text.textsafe import clean_line
    from .core.user.dirs import state_dir

    try:
        where = f"details (redacted) in {write_crash_report(exc, state_dir() / 'crashes', argv)}"
    except OSError as err:
        where = f"the crash report could not be written ({err.strerror or err})"
    print(redact(clean_line(f"ftd: internal error ({type(exc).__name__}); {where}")), file=sys.stderr)
    return EXIT_INTERNAL


# --------------------------------------------------------------------------- check / status


def _load(dir_arg: str):
    from .core.project.project import Project, ProjectError

    try:
        return Project.load(dir_arg)
    except ProjectError as exc:
        raise CliError(str(exc)) from None


def _analyse(dir_arg: str):
    from .core.rules.checks import check_project
    from .core.rules.gates import compute_gates

    project = _load(dir_arg)
    result = check_project(project)
    return project, result, compute_gates(project, result)


def cmd_check(args) -> int:
    from .core.rules.diagnostics import more_findings, per_file_shown
    from .core.rules.gates import next_action
    from .core.text.textsafe import clean, clean_line

    project, result, gates = _analyse(args.dir)
    has_errors = any(d.severity == "error" for d in result.diagnostics)
    if args.format == "json":
        out = {
            "diagnostics": [d.as_json() for d in result.diagnostics],
            "gates": [g.as_json() for g in gates],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False, default=str))
        return EXIT_FINDINGS if has_errors else EXIT_OK
    paint = _color(_use_color(sys.stdout))
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


def cmd_status(args) -> int:
    from .core.rules.gates import next_action
    from .core.text.textsafe import clean_line

    project, result, gates = _analyse(args.dir)
    paint = _color(_use_color(sys.stdout))
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


# --------------------------------------------------------------------------- tokens


def cmd_tokens(args) -> int:
    from .core.economics.overview import chosen_model, project_costs, project_estimate, report_lines, save_counts
    from .core.text.textsafe import clean_line

    project = _load(args.dir)
    est, counter = project_estimate(project)
    if est is None:
        from .core.economics.estimate import inputs_from

        problems = inputs_from(project.files, {}, None).problems
        raise CliError("no estimate: " + "; ".join(problems or ["the persona template and taxonomy are needed"]), EXIT_FINDINGS)
    costs = project_costs(project, est, counter)
    save_counts()
    model, _ = chosen_model(project)
    if args.format == "json":
        out = {"tokenizer": est.tokenizer, "exact": est.exact, "system_prompt_tokens": est.system_prompt_tokens,
               "per_exchange_tokens": est.per_exchange_tokens, "transcript_tokens": est.transcript_tokens,
               "max_transcript_tokens": est.max_transcript_tokens, "context_window": est.context_window,
               "exchanges_fit": est.exchanges_fit, "tier": est.tier, "exchanges": est.exchanges,
               "breakdown": {"system_prompt": est.system_prompt_tokens, "user": est.user_tokens,
                             "assistant": est.assistant_tokens, "template_per_exchange": est.overhead_per_exchange,
                             "template_fixed": est.fixed_overhead},
               "tokens_per_word": est.tokens_per_word, "slicing": est.slicing,
               "examples_per_conversation": est.examples_per_conversation,
               "cost": {"generation": costs["generation"]["cost"], "judging": costs["judging"]["cost"],
                        "training": costs["training"].get("cost"), "currency": "USD"},
               "cost_detail": costs, "problems": est.problems}
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return EXIT_OK
    print("\n".join(clean_line(l) if l else "" for l in report_lines(est, costs, model)))
    return EXIT_OK


# --------------------------------------------------------------------------- critique


def cmd_critique(args) -> int:
    import asyncio

    from .core.text.textsafe import clean, clean_line
    from .core.user.dirs import cache_dir
    from .services.critique.run import CritiqueError, run_critique
    from .services.llm.cache import ResponseCache
    from .services.llm.door import Door, LLMError

    from .core.user.roles import effective_settings
    from .core.user.trust import is_approved

    project, project_settings = _settings_of(args.dir)
    settings, _ = effective_settings(project_settings, _user_models())
    if args.reviewed is not None:
        return _critique_reviewed(project, args)
    from .services.critique.forecast import critique_forecast, lines as forecast_lines
    from .services.critique.run import panel_source, plan_critique

    if panel_source(project, args.unit)[1]:
        print(f"critiques/experts.yaml has no {args.unit} panel: using ftd's default, domain-general panel "
              "(write your own for better critiques)", file=sys.stderr)
    try:  # the forecast first, from the very requests the run will send (nothing is sent or written yet)
        Door(settings).role("critic")  # a critique without a critic stops here, not after a forecast
        plan = plan_critique(project, args.unit, with_transcripts=args.with_transcripts, settings=settings)
    except (CritiqueError, LLMError) as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None
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
    cache = None if args.no_cache else ResponseCache(cache_dir() / "responses.sqlite")
    # the user's own config is trusted; only the project's roles need approval
    door = Door(settings, cache=cache, trusted=is_approved(project_settings))
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
        raise CliError(str(exc), EXIT_FINDINGS) from None
    except KeyboardInterrupt:
        print("\ncancelled; the answers that arrived are kept in the log", file=sys.stderr)
        return 130
    finally:
        if cache is not None:
            cache.close()
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

    from .core.text.textsafe import clean_line

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
    from .core.project.boundary import FileRefused, read_inside
    from .core.rules.critique_gate import open_proposals
    from .core.text.textsafe import clean_line
    from .core.text.yamldoc import YamlError
    from .services.critique.log import read_front, record_reviewed
    from .services.critique.run import logs_of

    reason = " ".join(args.reviewed.split())
    if not reason:
        raise CliError("--reviewed needs a reason: why nothing needs to change", EXIT_FINDINGS)
    logs = logs_of(project, args.unit)
    if not logs:
        raise CliError(f"no critique of the {args.unit} yet: nothing to mark reviewed (ftd critique {args.unit} runs one)",
                       EXIT_FINDINGS)
    latest = logs[0]
    rel = latest.relative_to(project.root).as_posix()
    try:
        read_inside(project.root, rel)  # a log linked out of the project is neither read nor written
        front = read_front(latest)
    except FileRefused as exc:
        raise CliError(f"{rel}: {exc.message}", EXIT_FINDINGS) from None
    except (YamlError, OSError, ValueError) as exc:
        raise CliError(f"{rel} cannot be read: {clean_line(str(exc))}", EXIT_FINDINGS) from None
    waiting = open_proposals(front)
    if waiting:
        raise CliError(f"{rel} has {len(waiting)} critical/major proposal(s) awaiting a decision "
                       f"({', '.join(clean_line(w) for w in waiting[:5])}): those are decided one by one (F6 on the "
                       "artifact in the app), not marked reviewed", EXIT_FINDINGS)
    try:
        record_reviewed(latest, reason, project.artifact_hash(args.unit))
    except (OSError, ValueError) as exc:
        raise CliError(f"could not record it in {rel}: {clean_line(str(exc))}", EXIT_FINDINGS) from None
    print(f"{rel}: reviewed, nothing to change: {clean_line(reason)}")
    print("the critique gate counts it until the artifact changes (ftd status shows it)")
    return EXIT_OK


# --------------------------------------------------------------------------- trust / doctor


def _settings_of(dir_arg: str) -> tuple[object, dict]:
    project = _load(dir_arg)
    lf = project.files["settings"]
    if not lf.readable or not isinstance(lf.data, dict):
        raise CliError(f"{project.root / 'ftd.yaml'} cannot be read; run ftd check", EXIT_FINDINGS)
    return project, lf.data


def cmd_trust(args) -> int:
    from .core.text.textsafe import clean_line
    from .core.user.trust import approve, needs_approval

    project, settings = _settings_of(args.dir)
    items = needs_approval(settings)
    if not items:
        print("nothing to approve: every role uses its provider's default endpoint and key variable, or this machine")
        return EXIT_OK
    for item in items:
        print(f"  {clean_line(item)}")
    approve(settings, project.root)
    print(f"approved for this models section ({len(items)} item(s)); a change to it asks again")
    return EXIT_OK


def _user_models() -> dict | None:
    from .core.user.prefs import load_prefs

    prefs, _ = load_prefs()
    models = getattr(prefs, "models", None)
    return models if isinstance(models, dict) else None


def cmd_doctor(args) -> int:
    import asyncio

    from .core.user.providers import iter_roles
    from .core.user.roles import effective_settings
    from .core.text.textsafe import clean_line
    from .core.user.trust import is_approved, needs_approval
    from .services.llm.doctor import probe_roles

    _, project_settings = _settings_of(args.dir)
    settings, sources = effective_settings(project_settings, _user_models())
    results = []
    if iter_roles(settings):
        if not is_approved(project_settings):
            print("these need your approval before any call (run `ftd trust`):")
            for item in needs_approval(project_settings):
                print(f"  {clean_line(item)}")
            print("not tested: nothing was sent; approve with `ftd trust` (or in the app), then run ftd doctor again")
            return EXIT_FINDINGS
        results = asyncio.run(probe_roles(settings))
        for r in results:
            top = r.role.split(".")[0]
            where = f" [{sources.get(top, 'ftd.yaml')}]"
            print(f"{'✓' if r.ok else '✗'} {r.role:<10} {clean_line(r.model):<40} {r.key:<24} {clean_line(r.verdict)}{where}")
    else:
        print("no model roles in ftd.yaml or your user config (models: critic, user_sim, judges, base)")
    working = bool(results) and all(r.ok for r in results)
    if working:
        print(f"ok: all {len(results)} role(s) answered")
        return EXIT_OK
    if args.setup:
        return _setup_models(args.write)
    if not results or not any(r.ok for r in results):
        print("run `ftd doctor --setup` to propose a models block from the keys and local servers found")
    print(_doctor_verdict(results))  # the last line says why the exit is 1
    return EXIT_FINDINGS


def _doctor_verdict(results: list) -> str:
    if not results:
        return "not working: no model role is configured"
    failed = [r.role for r in results if not r.ok]
    return (f"not working: {len(results) - len(failed)} of {len(results)} role(s) answered; "
            f"failing: {', '.join(failed)}")


def _local_servers() -> list[tuple[str, str]]:
    """OpenAI-compatible or Ollama servers answering on this machine (loopback only)."""
    import json as _json
    import urllib.request

    found = []
    for base, probe, kind in (("http://localhost:11434", "/api/tags", "ollama"),
                              ("http://localhost:8000/v1", "/models", "openai"),
                              ("http://localhost:8080/v1", "/models", "openai")):
        try:
            with urllib.request.urlopen(base + probe, timeout=0.5) as resp:
                data = _json.loads(resp.read().decode() or "{}")
        except Exception:
            continue
        if kind == "ollama":
            names = [m.get("name") for m in data.get("models", []) if isinstance(m, dict)]
            if names:
                found.append((f"ollama_chat/{names[0]}", base))
        else:
            names = [m.get("id") for m in data.get("data", []) if isinstance(m, dict)]
            if names:
                found.append((f"hosted_vllm/{names[0]}", base))
    return found


def _setup_models(write: bool) -> int:
    from .core.project.storage import ConflictError, FileStamp, save_atomic
    from .core.user.roles import suggest_models
    from .core.text.textsafe import clean_line
    from .core.user.dirs import config_file
    from .core.text.yamldoc import YamlDocument, YamlError, render_flow

    models, notes = suggest_models(_local_servers())
    for note in notes:
        print(f"note: {clean_line(note)}")
    if not models:
        return EXIT_FINDINGS
    print("proposed for your user config (every project without its own roles uses them):")
    print("models:")
    for name, value in models.items():
        print(f"  {name}: {render_flow(value)}")
    path = config_file()
    if not write:
        if not sys.stdin.isatty():
            print(f"rerun with --write to put it in {path}")
            return EXIT_FINDINGS
        answer = input(f"write it to {path}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            return EXIT_FINDINGS
    try:
        if path.exists():
            data = path.read_bytes()
            doc = YamlDocument.from_bytes(data)
            new = doc.set("models", models, create=True)
            save_atomic(path, new.to_bytes(), FileStamp.of(path, data))
        else:
            save_atomic(path, ("models:\n" + "".join(f"  {k}: {render_flow(v)}\n" for k, v in models.items())).encode(),
                        None, create=True)
    except (YamlError, ConflictError, OSError) as exc:
        raise CliError(f"{path}: {exc}", EXIT_FINDINGS) from None
    print(f"written to {path}; `ftd doctor` tests it")
    return EXIT_OK


# --------------------------------------------------------------------------- new / schema


def cmd_new(args) -> int:
    from .core.project.templates import TemplateError, create_project

    try:
        created = create_project(Path(args.dir), args.template)
    except TemplateError as exc:
        raise CliError(str(exc)) from None
    print(f"created {created} from the '{args.template}' template")
    print(f"next: ftd check {created}   or open it: ftd {created}")
    return EXIT_OK


def cmd_schema(args) -> int:
    from .core.artifacts.schemas import SCHEMA_IDS, json_schema

    if not args.artifact:
        print("JSON Schema is available for: " + ", ".join(SCHEMA_IDS))
        print("usage: ftd schema rubric > rubric.schema.json   (then point your YAML language server at it)")
        return EXIT_OK
    if args.artifact not in SCHEMA_IDS:
        raise CliError(f"no schema for '{args.artifact}'; choose one of: {', '.join(SCHEMA_IDS)}")
    print(json.dumps(json_schema(args.artifact), indent=2))
    return EXIT_OK


# --------------------------------------------------------------------------- get / set


def _open_yaml(file_arg: str):
    from .core.project.storage import FileStamp
    from .core.text.yamldoc import YamlDocument, YamlError

    from .core.project.boundary import FileRefused, read_regular

    path = Path(file_arg)
    if not os.path.lexists(path):
        raise CliError(f"{file_arg}: no such file")
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise CliError(f"{file_arg}: get and set work on YAML files")
    try:  # a regular file, capped while reading: a FIFO, a device or a mode-000 file is a message
        data = read_regular(path)
        stamp = FileStamp.of(path, data)
    except FileRefused as exc:
        raise CliError(f"{file_arg}:1:1: {exc.rule} {exc.message}" + (f" ({exc.hint})" if exc.hint else "")) from None
    except OSError as exc:
        raise CliError(f"{file_arg}: cannot be read: {exc.strerror or exc}") from None
    try:
        doc = YamlDocument.from_bytes(data, path=str(path))
        doc.data  # noqa: B018
    except YamlError as exc:
        raise CliError(f"{file_arg}:{exc.line}:{exc.column}: {exc.rule} {exc.message}") from None
    return path, doc, stamp


def cmd_get(args) -> int:
    from .core.text.textsafe import clean
    from .core.text.yamlpath import PathSyntaxError, parse_path

    _, doc, _ = _open_yaml(args.file)
    try:
        value = doc.get(parse_path(args.path))
    except PathSyntaxError as exc:
        raise CliError(f"bad path: {exc}") from None
    except KeyError as exc:
        raise CliError(f"{args.file}: no value at {exc.args[0]}", EXIT_FINDINGS) from None
    if isinstance(value, (dict, list)):
        print(clean(json.dumps(value, indent=2, ensure_ascii=False, default=str)))
    elif value is None:
        print("null")
    elif isinstance(value, bool):
        print("true" if value else "false")
    else:
        print(clean(str(value)))
    return EXIT_OK


def _refuse_key(file_arg: str, target, value, *, parsed: bool) -> None:
    """A key pasted as a VALUE would land in a file that travels through git: refuse it, exit 1,
    nothing written, and never echo it. Also any api_key_env that is not a variable name
    (SET004's rule), at the path or inside a mapping VALUE."""
    from .core.user.providers import is_env_name
    from .core.text.redact import looks_like_key
    from .core.text.yamlpath import format_path

    def bad_env(path: tuple, v) -> bool:
        if isinstance(v, dict):
            return any(bad_env(path + (k,), x) for k, x in v.items())
        if isinstance(v, list):
            return any(bad_env(path + (i,), x) for i, x in enumerate(v))
        return bool(path) and path[-1] == "api_key_env" and v is not None and not (isinstance(v, str) and is_env_name(v))

    where = format_path(tuple(target))
    where = "that path" if looks_like_key(where) else where
    if isinstance(value, str) and looks_like_key(value):
        raise CliError(f"{file_arg}: refused: the value for {where} looks like a key (not shown); nothing written. "
                       "Keys belong in the environment (export OPENAI_API_KEY=…); ftd.yaml names the variable "
                       "(api_key_env: OPENAI_API_KEY)", EXIT_FINDINGS)
    if parsed and bad_env(tuple(target), value):
        raise CliError(f"{file_arg}: refused: api_key_env must be the NAME of an environment variable (letters, "
                       f"digits, _); the value given for {where} is not one and is not shown; nothing written",
                       EXIT_FINDINGS)


def cmd_set(args) -> int:
    """The whole read, edit and save under the folder's lock (ftd's own writers take turns): two
    `ftd set` on one file both land, one after the other, or one says why it wrote nothing."""
    from .core.project.storage import ConflictError, folder_lock

    try:
        with folder_lock(Path(args.file)):
            return _set_locked(args)
    except ConflictError as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None


def _set_locked(args) -> int:
    from .core.project.storage import ConflictError, ReadOnlyError, save_atomic
    from .core.text.yamldoc import EditError, YamlDocument, YamlError
    from .core.text.yamlpath import PathSyntaxError, format_path, parse_path

    path, doc, stamp = _open_yaml(args.file)
    try:
        target = parse_path(args.path)
    except PathSyntaxError as exc:
        raise CliError(f"bad path: {exc}") from None
    _refuse_key(args.file, target, args.value, parsed=False)  # before parsing: a YAML error could quote it
    try:
        value = YamlDocument(args.value).data if args.value.strip() else ""
    except YamlError as exc:
        raise CliError(f"VALUE is not a YAML scalar or flow value: {exc.message} (column {exc.column})") from None
    _refuse_key(args.file, target, value, parsed=True)
    try:
        new = doc.set(target, value, create=args.create)
    except KeyError as exc:
        raise CliError(f"{args.file}: no value at {exc.args[0]} (add --create to create it)", EXIT_FINDINGS) from None
    except EditError as exc:
        raise CliError(f"{args.file}: {exc}", EXIT_FINDINGS) from None
    if new.text == doc.text:
        print(f"{args.file}: {format_path(target)} already has that value; nothing written")
        return EXIT_OK
    try:
        save_atomic(path, new.to_bytes(), stamp, replace_readonly=getattr(args, "force", False))
    except ConflictError as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None
    except ReadOnlyError as exc:
        raise CliError(f"{exc} (add --force to replace it anyway)", EXIT_FINDINGS) from None
    except PermissionError:  # a read-only folder: the temp file beside the target cannot be made
        raise CliError(f"{args.file}: cannot be written: permission denied in its folder {path.parent}/ "
                       "(a save writes a temp file there, then renames it)") from None
    except OSError as exc:
        raise CliError(f"{args.file}: cannot be written: {exc.strerror or exc}") from None
    line = new.position(target)[0]
    print(f"{args.file}:{line}: set {format_path(target)}")
    return EXIT_OK


# --------------------------------------------------------------------------- the app


def run_app(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="ftd", usage=USAGE)
    p.add_argument("dir", nargs="?", default=".")
    p.add_argument("--theme", help="a theme name (see the palette's 'Change theme', or ftd locate for the themes folder)")
    p.add_argument("--review", action="store_true", help="start in review mode: read-only, single-letter browsing")
    args = p.parse_args(argv)
    from .core.project.project import ProjectError, find_root

    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        raise CliError(f"{target} is not a folder")
    try:
        root, is_project = find_root(target), True
    except ProjectError:
        root, is_project = target.resolve(), False  # the app offers to create a project here
    if not sys.stdout.isatty() and not os.environ.get("FTD_FORCE_APP"):
        raise CliError("the app needs a terminal; for scripts use `ftd check` or `ftd status`")
    from .tui.app import run

    return run(root, is_project=is_project, theme=args.theme, review=args.review)


def cmd_prompts(args) -> int:
    from .services.baseline.preview import PreviewError, preview, render_text
    from .services.baseline.setup import BaselineError
    from .core.user.roles import effective_settings
    from .core.text.textsafe import clean, json_text

    project, project_settings = _settings_of(args.dir)
    settings, _ = effective_settings(project_settings, _user_models())
    try:
        p = preview(project, args.role, criterion=args.criterion, scenario=args.scenario, exchange=args.exchange,
                    unit=args.unit, expert=args.expert, settings=settings)
    except (PreviewError, BaselineError) as exc:
        raise CliError(str(exc), EXIT_FINDINGS) from None
    if args.format == "json":
        print(json_text({"role": p.role, "model": p.model, "subject": p.subject, "notes": p.notes,
                         "response_format": p.response_format, "messages": p.messages}, indent=2))
    else:
        # project text and model output: control characters stripped, newlines kept
        sys.stdout.write(clean(render_text(p)))
    return EXIT_OK


def cmd_locate(args) -> int:
    from .core.text.textsafe import clean
    from .core.user.config import locations

    places = dict(locations())
    try:
        from .tui.themes import builtin_theme_dir

        places["themes (built in)"] = builtin_theme_dir()
    except Exception:  # the UI layer is optional for this command
        pass
    width = max(len(k) for k in places)
    for name, path in places.items():
        print(f"{name:<{width}}  {clean(str(path))}")
    return EXIT_OK


def _baseline_command(name: str):
    def run(args) -> int:
        from .services.baseline import commands

        try:
            return getattr(commands, f"cmd_{name}")(args)
        except commands.CommandError as exc:
            raise CliError(str(exc), exc.code) from None

    return run


COMMANDS = {"check": cmd_check, "status": cmd_status, "tokens": cmd_tokens, "critique": cmd_critique,
            "models": lambda args: __import__("ftd_tui.core.economics.catalog", fromlist=["cmd_models"]).cmd_models(args),
            "baseline": _baseline_command("baseline"), "calibrate": _baseline_command("calibrate"), "decide": _baseline_command("decide"), "runs": _baseline_command("runs"),
            "doctor": cmd_doctor, "trust": cmd_trust,
            "new": cmd_new, "schema": cmd_schema, "get": cmd_get, "set": cmd_set,
            "locate": cmd_locate, "prompts": cmd_prompts}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
