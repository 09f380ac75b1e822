"""The arguments of every command, built only when a command is given (`ftd --help` and
`ftd check` import nothing heavy to build them). The command functions live in one module each;
main.COMMANDS maps a command's name to its function."""

from __future__ import annotations

import argparse

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


def build_parser() -> argparse.ArgumentParser:
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
    _add_baseline_commands(sub)
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
    from ..services.baseline.preview import ROLES, UNITS

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


def _add_baseline_commands(sub) -> None:
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
    b.add_argument("--run", help=argparse.SUPPRESS)  # the app's detached child: resume exactly this run folder
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


def add_models(sub) -> None:
    """`ftd models`; its func is set too, for a caller that parses this command alone."""
    from ..core.economics.catalog import SORT_KEYS
    from .models import cmd_models

    p = sub.add_parser("models", help="facts about candidate base models: context, vocabulary, licence, formats")
    p.add_argument("dir", nargs="?", default=".", help="a project, for its budget.tokenizer_path (default: this folder)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--family", help="only this family (Google, Meta, Alibaba, Mistral, Microsoft, …)")
    p.add_argument("--sort", choices=SORT_KEYS, default="id", help="params, context and vocab sort largest first")
    p.add_argument("--snapshot", metavar="DIR", help="a downloaded model folder to describe as well")
    p.set_defaults(func=cmd_models)


def build_app_parser() -> argparse.ArgumentParser:
    """`ftd [DIR]`: the app's own arguments."""
    p = argparse.ArgumentParser(prog="ftd", usage=USAGE)
    p.add_argument("dir", nargs="?", default=".")
    p.add_argument("--theme", help="a theme name (see the palette's 'Change theme', or ftd locate for the themes folder)")
    p.add_argument("--review", action="store_true", help="start in review mode: read-only, single-letter browsing")
    return p
