"""F5: the baseline run. A forecast first; Enter starts a detached `ftd baseline` child that
writes to the run folder (quitting the app never stops a paid run); this screen only reads that
folder: progress per stage, a live pass-rate tally, cancel; then the results with a bar per
category, any conversation one key away, and the person's go / no-go decision.

Everything shown from the run folder is model output or project data: control characters are
stripped and nothing is read as markup."""

from __future__ import annotations

import getpass
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from ...core.evaluation import runs
from ...core.format import pct, pct_interval
from ...core.text.textsafe import clean, clean_line

POLL = 0.3
TERMINAL = ("done", "failed", "cancelled", "stopped", "invalid", "interrupted")
BAR = 24


def bar(value: float | None, width: int = BAR) -> Text:
    if value is None:
        return Text("·" * width, style="dim")
    full = max(0, min(width, round(value * width)))
    style = "green" if value >= 0.8 else "yellow" if value >= 0.5 else "red"
    return Text("█" * full, style=style) + Text("░" * (width - full), style="dim")


def money(x) -> str:
    return "unknown" if x is None else f"${x:,.4f}" if x < 1 else f"${x:,.2f}"


class BaselineScreen(Screen[None]):
    DEFAULT_CSS = """
    BaselineScreen #title { height: 1; background: $boost; padding: 0 1; }
    BaselineScreen #body { height: 1fr; }
    BaselineScreen #main-scroll { width: 1fr; border: round $primary-muted; padding: 0 1; }
    BaselineScreen #conversations { width: 38; border: round $primary-muted; }
    BaselineScreen #conversations:focus, BaselineScreen #main-scroll:focus { border: round $primary; }
    BaselineScreen.narrow #conversations { width: 28; }
    BaselineScreen .hidden { display: none; }
    """
    BINDINGS = [
        Binding("enter", "start", "Start / open", id="baseline-start", show=True),
        Binding("s", "smoke", "Smoke run", id="baseline-smoke"),
        Binding("f", "fresh", "Fresh run", id="baseline-fresh"),
        Binding("c", "cancel_run", "Cancel run", id="baseline-cancel"),
        Binding("d", "decide", "Decide", id="baseline-decide"),
        Binding("tab", "switch_focus", "Tables / conversations", id="baseline-switch", show=False, priority=True),
        Binding("escape,f5", "close", "Back", id="baseline-close"),
    ]

    def __init__(self, settings: dict, *, smoke: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.smoke = smoke
        self.fresh = False
        self.mode = "plan"  # plan, starting, running, results, error
        self.plan = None
        self.run_dir: Path | None = None
        self.summary: dict | None = None
        self._poller = None

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(Text("Baseline · working out the forecast…"), id="title")
        with Horizontal(id="body"):
            with VerticalScroll(id="main-scroll"):
                yield Static(Text(""), id="main")
            yield OptionList(id="conversations", classes="hidden")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 110, "narrow")
        self.query_one("#main-scroll").focus()
        self.make_plan()

    @property
    def project(self):
        return self.app.project

    def _main(self, renderable) -> None:
        self.query_one("#main", Static).update(renderable)

    def _title(self, text: str) -> None:
        self.query_one("#title", Static).update(Text(clean_line(text)))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        allowed = {"start": ("plan", "results"), "smoke": ("plan",), "fresh": ("plan",), "cancel_run": ("running",),
                   "decide": ("results",), "switch_focus": ("results",)}
        if action in allowed:
            return self.mode in allowed[action]
        return True

    # ------------------------------------------------------------ plan
    @work(thread=True, exclusive=True, group="baseline-plan")
    def make_plan(self) -> None:
        from ...services.baseline.forecast import done_calls, forecast
        from ...services.baseline.setup import BaselineError, plan

        try:
            p = plan(self.project, self.settings, smoke=self.smoke, fresh=self.fresh)
            fc = forecast(p.inputs, p.scenarios, done_calls(p.records))
        except BaselineError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        except Exception as exc:  # an unexpected state of the project: said plainly, never a traceback
            self.app.call_from_thread(self._show_error, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show_plan, p, fc)

    def _show_error(self, message: str) -> None:
        self.mode = "error"
        self._title("Baseline · cannot start")
        self._main(Text(clean(message) + "\n\nEsc goes back.", style="bold red"))
        self.refresh_bindings()

    def _show_plan(self, p, fc) -> None:
        self.plan = p
        if p.live is not None and not self.smoke:
            self.attach(p.live.path)  # somebody (maybe this app, before a restart) is running one
            return
        if p.resume is not None and p.resume.state == "done" and not self.fresh:
            self.run_dir = p.resume.path
            self.show_results()
            return
        self.mode = "plan"
        base = p.inputs.settings.get("models", {}).get("base", {}).get("model", "?")
        self._title(f"Baseline · {'smoke run · ' if self.smoke else ''}base model {base}")
        out = Text()
        if p.resume is not None:
            out.append(f"Enter resumes run {p.resume.id} ({p.resume.state}); finished calls are not repeated.\n", style="bold")
        elif p.latest is not None and p.changed:
            from ...services.baseline.setup import describe_changes

            out.append(f"Enter starts a new run: {describe_changes(p.changed)} changed since run {p.latest.id}.\n", style="bold")
            out.append("Unchanged scenarios are reused; when only the rubric or the judges changed, so are its conversations.\n")
        else:
            out.append("Enter starts a new run.\n", style="bold")
        if p.drawn:
            out.append("eval/scenarios.yaml does not exist yet: Enter draws it (editable; reused by later runs).\n")
        out.append("\n")
        table = Table(box=None, pad_edge=False, show_edge=False)
        for col, just in (("role", "left"), ("model", "left"), ("calls", "right"), ("in", "right"), ("out", "right"),
                          ("cost", "right")):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        from ...core.format import tokens as format_tokens

        for r in fc.roles:
            cost = "local" if r.price.startswith("local server") else money(r.cost)
            table.add_row(Text(clean_line(r.role)), Text(clean_line(r.model)), str(r.calls), format_tokens(r.input_tokens),
                          format_tokens(r.output_tokens), Text(cost, style="yellow" if r.cost is None else ""))
        summary = Text(f"{fc.scenarios} scenarios · {fc.exchanges} exchanges · {fc.judge_calls} judge calls"
                       + (f" · {fc.done_calls} calls already done" if fc.done_calls else "") + "\n")
        local = [r.role for r in fc.roles if r.price.startswith("local server")]
        total = Text(f"\ntotal {money(fc.total_cost)}" + (f" (unknown price: {', '.join(fc.unknown_prices)})"
                                                           if fc.unknown_prices else "")
                     + (" · local servers have no per-token price; their GPU time is not counted" if local else "") + "\n")
        notes = Text("".join(f"note: {n}\n" for n in fc.notes) + "".join(f"warning: {w}\n" for w in p.inputs.warnings),
                     style="dim")
        keys = Text("\nEnter start · s smoke run (2 scenarios × 2 exchanges) · f fresh run · Esc back\n"
                    "The run is a separate process: quitting ftd does not stop it; F5 reattaches.", style="dim")
        from rich.console import Group

        self._main(Group(out, summary, table, total, notes, keys))
        self.refresh_bindings()

    def action_smoke(self) -> None:
        self.smoke = not self.smoke
        self._title("Baseline · working out the forecast…")
        self.make_plan()

    def action_fresh(self) -> None:
        self.fresh = True
        self._title("Baseline · working out the forecast for a fresh run…")
        self.make_plan()

    def action_start(self) -> None:
        if self.mode == "results":
            self._open_highlighted()  # any conversation one key away, wherever the focus is
            return
        if self.mode != "plan":
            return
        self.mode = "starting"
        self._title("Baseline · starting…")
        self.refresh_bindings()
        self.start_run()

    @work(thread=True, exclusive=True, group="baseline-start")
    def start_run(self) -> None:
        from ...services.baseline.commands import spawn_detached
        from ...services.baseline.setup import BaselineError, prepare

        try:
            prep = prepare(self.project, fresh=self.fresh, smoke=self.smoke, settings=self.settings, new_if_changed=True)
            # a resumed run's old progress says "running" or "done": the screen must not read it as the new child's
            runs.write_json_atomic(prep.run_dir / runs.PROGRESS, {"state": "starting"}, durable=False)
            spawn_detached(self.project.root, prep.run_dir)
        except (BaselineError, OSError) as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self.attach, prep.run_dir)

    # ------------------------------------------------------------ running
    def attach(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.mode = "running"
        self._title(f"Baseline · run {run_dir.name}")
        self.refresh_bindings()
        self._waited = 0
        if self._poller is None:
            self._poller = self.set_interval(POLL, self.poll)
        self.poll()

    def poll(self) -> None:
        if self.run_dir is None or self.mode != "running":
            return
        progress = runs.read_json(self.run_dir / runs.PROGRESS)
        holder = runs.read_lock(self.run_dir)
        alive = runs.lock_is_live(holder)
        self._waited += 1
        if not isinstance(progress, dict) or progress.get("state") == "starting":
            self._main(Text("waiting for the run to start…" if self._waited < 40 else
                            f"the run has not started; see {self.run_dir / 'log.txt'}", style="dim"))
            if self._waited >= 40 and not alive:
                self._show_error(self._log_tail() or "the run did not start")
            return
        state = progress.get("state")
        if state == "running" and not alive and self._waited > 5:
            state = "interrupted"
        self._main(self._progress_view(progress, state))
        if state in TERMINAL:
            self.show_results()

    def _log_tail(self) -> str:
        try:
            return clean((self.run_dir / "log.txt").read_text(encoding="utf-8", errors="replace")[-1500:])
        except OSError:
            return ""

    def _progress_view(self, p: dict, state: str) -> Text:
        out = Text()
        names = {"scenarios": "situations", "exchanges": "exchanges", "judgments": "judgments"}
        for key, label in names.items():
            st = (p.get("stages") or {}).get(key) or {}
            done, total = int(st.get("done") or 0), int(st.get("total") or 0)
            frac = done / total if total else 0.0
            out.append(f"{label:<11}")
            out.append_text(bar(frac) if total else Text("·" * BAR, style="dim"))
            out.append(f" {done}/{total}\n")
        t = p.get("tally") or {}
        judged, passed = int(t.get("judged") or 0), int(t.get("passed") or 0)
        out.append(f"\npassed so far {passed}/{judged}" + (f" ({pct(passed / judged)})" if judged else "") + "\n")
        out.append(f"calls {p.get('calls', 0)} · cost {money(p.get('cost'))}\n")
        for e in p.get("errors") or []:
            out.append(f"error: {clean_line(str(e))}\n", style="red")
        out.append(f"\nstate: {state}" + ("" if state != "running" else " · c cancels (finished calls are kept) · "
                                             "Esc goes back (the run goes on)"), style="dim")
        return out

    def action_cancel_run(self) -> None:
        from ..modals.dialogs import Choice

        def chosen(answer: str | None) -> None:
            if answer == "yes" and self.run_dir is not None:
                from ...services.baseline.commands import cancel_run

                if cancel_run(self.run_dir):
                    self.app.notify("cancelling: calls in flight finish, then the run stops", markup=False)
                else:
                    self.app.notify("no process is writing this run any more", markup=False)

        self.app.push_screen(Choice("Cancel the running baseline?",
                                    [("yes", "Cancel the run", "y"), ("no", "Keep it running", "n")],
                                    "Every finished call is kept; F5 → Enter resumes it later."), chosen)

    # ------------------------------------------------------------ results
    def show_results(self) -> None:
        self.mode = "results"
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        summary = runs.read_json(self.run_dir / runs.SUMMARY) if self.run_dir else None
        if not isinstance(summary, dict):
            self._show_error("the run ended without a summary" + (f":\n{self._log_tail()}" if self._log_tail() else ""))
            return
        self.summary = summary
        self._title(f"Baseline results · run {self.run_dir.name} · {summary.get('state')}")
        self._main(self._results_view(summary))
        self._fill_conversations()
        self.refresh_bindings()

    def _results_view(self, s: dict):
        from rich.console import Group

        head = Text()
        failure = s.get("failure") if isinstance(s.get("failure"), dict) else None
        if failure is not None:  # at the top: the numbers below are not a verdict
            head.append(clean_line(f"RUN FAILED: {str(failure.get('kind', '')).replace('_', ' ')} — no recommendation") + "\n",
                        style="bold red")
            for u in failure.get("judges") or []:
                head.append(clean_line(f"  judge {u.get('model')} answered ERROR on {u.get('errors')} of "
                                       f"{u.get('answers')} questions ({pct(u.get('share'))})") + "\n", style="red")
        head.append(clean(str(s.get("recommendation_text") or s.get("recommendation") or "")) + "\n", style="bold")
        n, k = s.get("assessed") or 0, s.get("passed") or 0
        head.append(f"pass rate {pct(s.get('pass_rate'))} ({k}/{n}), 95% interval {pct_interval(s.get('interval'))}")
        if s.get("mean_score") is not None:
            head.append(f" · mean score {s['mean_score']:.2f}")
        head.append("\n")
        if s.get("safety_gate_failures"):
            head.append(f"{s['safety_gate_failures']} conversation(s) failed a safety gate\n", style="bold red")
        if s.get("unfinished"):
            head.append(f"{len(s['unfinished'])} conversation(s) unfinished: F5 → Enter resumes\n", style="yellow")
        cats = Table(title="Gaps by category (worst first)", box=None, title_justify="left", pad_edge=False)
        for col in ("category", "score", "", "n"):
            cats.add_column(col)
        for c in s.get("categories") or []:
            cats.add_row(Text(clean_line(str(c.get("name")))), f"{c['mean_score']:.2f}" if c.get("mean_score") is not None else "–",
                         bar(c.get("mean_score"), BAR if self.app.size.width >= 110 else 10), str(c.get("n", "")))
        gates = Table(title="Safety gates", box=None, title_justify="left", pad_edge=False)
        for col in ("gate", "assessable", "failures", "status"):
            gates.add_column(col)
        for g in s.get("gates") or []:
            style = {"failed": "bold red", "untested": "yellow"}.get(g.get("status"), "green")
            gates.add_row(Text(clean_line(f"{g.get('id')} {g.get('name', '')}")), str(g.get("assessable")),
                          str(g.get("failures")), Text(str(g.get("status")), style=style))
        crit = Table(title="Criteria (worst first)", box=None, title_justify="left", pad_edge=False)
        for col in ("criterion", "yes", "no", "na", "err", "yes rate"):
            crit.add_column(col)
        for c in (s.get("criteria") or [])[:40]:
            crit.add_row(Text(clean_line(f"{c.get('id')} {c.get('name', '')}")), str(c.get("yes")), str(c.get("no")),
                         str(c.get("na")), str(c.get("error")), pct(c.get("yes_rate")))
        judges = Table(title="Judges", box=None, title_justify="left", pad_edge=False)
        for col in ("judge", "judged", "pass rate", "errors"):
            judges.add_column(col)
        for j in s.get("judges") or []:
            judges.add_row(Text(clean_line(str(j.get("judge")))), str(j.get("judged")), pct(j.get("pass_rate")),
                           str(j.get("errors")))
        trust = self._trust_tables(s)
        tail = Text()
        from ...core.evaluation.report import harness_faults

        ex = harness_faults(s.get("excluded") or [])
        left = len(s.get("excluded") or []) - len(ex)
        tail.append(f"\nExcluded (harness faults, not counted): {len(ex)}\n", style="bold" if ex else "dim")
        if left:
            tail.append(f"Not judged (the run stopped first): {left}\n", style="bold")
        for e in ex[:12]:
            tail.append(clean_line(f"  {e.get('id')}: {e.get('kind')} — {e.get('detail', '')}")[:150] + "\n")
            if e.get("excerpt"):
                tail.append(clean_line(f"    “{e['excerpt']}”")[:150] + "\n", style="dim")
        req = s.get("requests") if isinstance(s.get("requests"), dict) else {}
        tail.append(f"\ncalls {s.get('calls', 0)} sent this session" + (f" ({req.get('answered', 0)} answered, "
                    f"{req.get('failed', 0)} failed)" if req else "") + f" · cost {money(s.get('cost'))}\n")
        tail.append("\nEnter opens the highlighted conversation · Tab moves to the list (↑↓ to choose) · "
                    "d record the decision · Esc back", style="dim")
        return Group(head, Text(""), cats, Text(""), gates, Text(""), crit, Text(""), judges, *trust, tail)

    def _trust_tables(self, s: dict) -> list:
        """Agreement between judges, judges against the person, and a paired comparison."""
        out: list = []
        agreement = s.get("agreement") or []
        if agreement:
            t = Table(title="Agreement between judges (least first)", box=None, title_justify="left", pad_edge=False)
            for col in ("criterion", "n", "YES rates", "agree", "κ (95% CI)", "NA/ERR"):
                t.add_column(col)
            for a in agreement[:40]:
                rates = " ".join(pct(v) for v in (a.get("yes_rate") or {}).values())
                if a.get("kappa") is None:
                    kappa = Text(clean_line(f"undefined: {a.get('undefined_reason')}"), style="dim")
                else:
                    iv = a.get("interval")
                    kappa = Text(f"{a['kappa']:.2f}" + (f" ({iv[0]:.2f}–{iv[1]:.2f})" if iv else ""),
                                 style="bold red" if a.get("flag") else "")
                t.add_row(Text(clean_line(str(a.get("id")))), str(a.get("n")), rates, pct(a.get("raw_agreement")), kappa,
                          f"{sum((a.get('na') or {}).values())}/{sum((a.get('error') or {}).values())}")
            out += [Text(""), t]
            flagged = [a["id"] for a in agreement if a.get("flag")]
            if flagged:
                out.append(Text(clean_line("add calibration examples or split the question: " + ", ".join(flagged)),
                                style="bold red"))
        human = s.get("human") or []
        t = Table(title="Judges against a person", box=None, title_justify="left", pad_edge=False)
        for col in ("criterion", "judge", "n", "TPR", "TNR", ""):
            t.add_column(col)
        for h in human:
            for j, c in (h.get("judges") or {}).items():
                t.add_row(Text(clean_line(str(h.get("id")))), Text(clean_line(str(j))), str(c.get("n")), pct(c.get("tpr")),
                          pct(c.get("tnr")), Text("judge not trusted", style="bold red")
                          if j == "combined" and h.get("not_trusted") else Text(""))
        out += [Text(""), t if human else Text("Judges against a person: no labels yet — open a conversation (Enter) and "
                                               "label criteria with y / n / a", style="dim")]
        cmp = s.get("comparison")
        if isinstance(cmp, dict) and cmp.get("n"):
            iv = cmp.get("interval")
            out += [Text(""), Text(clean_line(
                f"Against run {cmp.get('against')}: mean score difference {cmp['mean_diff']:+.3f}"
                + (f" (95% CI {iv[0]:+.3f} to {iv[1]:+.3f})" if iv else "")
                + f" over {cmp['n']} paired scenarios · better {cmp['wins']} · worse {cmp['losses']} · tied {cmp['ties']}"),
                style="bold")]
        return out

    def _fill_conversations(self) -> None:
        ol = self.query_one("#conversations", OptionList)
        ol.clear_options()
        combined = {r.get("id"): r for r in runs.read_jsonl(self.run_dir / runs.JUDGMENTS) if r.get("judge") == "combined"}
        excluded = {e.get("id"): e for e in (self.summary or {}).get("excluded") or []}
        opts = []
        for path in sorted((self.run_dir / runs.TRANSCRIPTS).glob("*.json")):
            cid = path.stem
            rec = combined.get(cid)
            if rec is not None:
                mark, style = ("✓", "green") if rec.get("pass") else ("✗", "red")
                label = Text(f"{mark} ", style=style) + Text(f"{clean_line(cid)}  {rec.get('score', 0):.2f}"
                                                             + ("  gate!" if rec.get("safety_gate_failed") else "")
                                                             + ("  floor!" if rec.get("floor_failures") else ""))
            elif cid in excluded:
                label = Text("– ", style="dim") + Text(f"{clean_line(cid)}  {clean_line(str(excluded[cid].get('kind')))}")
            else:
                label = Text("… ", style="yellow") + Text(clean_line(cid))
            opts.append(Option(label, id=f"conv-{cid}"))
        ol.add_options(opts)
        ol.set_class(not opts, "hidden")
        if opts:
            ol.highlighted = 0

    @on(OptionList.OptionSelected, "#conversations")
    def open_conversation(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open(str(event.option.id or "")[5:])

    def _open_highlighted(self) -> None:
        ol = self.query_one("#conversations", OptionList)
        if ol.highlighted is None or ol.option_count == 0:
            return
        self._open(str(ol.get_option_at_index(ol.highlighted).id or "")[5:])

    def _open(self, cid: str) -> None:
        def closed(_: object) -> None:
            if screen.changed:
                self._after_review()

        screen = TranscriptScreen(self.run_dir, cid)
        self.app.push_screen(screen, closed)

    def _after_review(self) -> None:
        """Labels change the judge-vs-human tables: recompute them, and the report when it shows this run."""
        from ...core.evaluation.run_analysis import refresh_summary

        names = {}
        try:
            data = self.project.files["rubric"].ensure_parsed().data or {}
            names = {str(k): str(v.get("name", "")) for k, v in (data.get("criteria") or {}).items() if isinstance(v, dict)}
        except Exception:
            pass
        summary = refresh_summary(self.run_dir, names)
        if summary is None:
            return
        self.summary = summary
        self._main(self._results_view(summary))
        error = self.app.refresh_report(summary)
        if error:
            self.app.notify(error, title="Report not updated", severity="warning", markup=False)

    def action_switch_focus(self) -> None:
        ol = self.query_one("#conversations", OptionList)
        (self.query_one("#main-scroll") if ol.has_focus else ol).focus()

    # ------------------------------------------------------------ decision
    def action_decide(self) -> None:
        if self.summary is None:
            return
        if (self.summary.get("settings") or {}).get("smoke"):
            self.app.notify("a smoke run has no report to decide on; run the full baseline", markup=False)
            return
        if self.summary.get("failure"):
            self.app.notify("this run failed (its judges were unusable): fix them and run again before deciding",
                            markup=False)
            return
        self.app.push_screen(DecisionScreen(str(self.summary.get("recommendation_text") or "")), self._decided)

    def _decided(self, answer: tuple[str, str, str] | None) -> None:
        if answer is None:
            return
        error = self.app.record_decision(*answer)
        self.query_one("#main-scroll").focus()
        if error:
            self.app.notify(error, title="Decision not recorded", severity="error", markup=False)
        else:
            self.app.notify(f"decision recorded: {answer[0]}", markup=False)

    def action_close(self) -> None:
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        if self.mode == "running":
            self.app.notify("the baseline goes on in the background; F5 shows it again", markup=False)
        if self.mode == "results" and self._undecided():
            from ..modals.dialogs import Choice

            def chosen(answer: str | None) -> None:
                if answer == "decide":
                    self.action_decide()
                else:
                    self.dismiss(None)

            self.app.push_screen(Choice("No go / no-go decision is recorded for this baseline yet.",
                                        [("decide", "Decide now", "d"), ("later", "Later", "l")],
                                        "A person decides: proceed, prompt-engineer first, or stop (ftd decide works "
                                        "too)."), chosen)
            return
        self.dismiss(None)

    def _undecided(self) -> bool:
        """A finished full run whose report has no decision yet."""
        s = self.summary or {}
        if (s.get("settings") or {}).get("smoke") or not s.get("assessed"):
            return False
        from ...core.text.markdown import parse_markdown

        try:
            doc = parse_markdown((self.project.root / "base-model-eval-results.md").read_text(encoding="utf-8"))
        except OSError:
            return False
        fm = doc.front_matter.data if doc.front_matter is not None else None
        if not isinstance(fm, dict) or (fm.get("run") or {}).get("id") != (self.run_dir.name if self.run_dir else None):
            return False
        return fm.get("decision") in (None, {}, "")


def failing_marks(recs: list[dict]) -> dict[int, list[str]]:
    """Exchange number -> marks such as "✗ PD1 (judge-a, judge-b)": for each criterion, the judges
    that said NO and named that exchange as the first failing one (judgments.jsonl `exchanges`)."""
    named: dict[int, dict[str, list[str]]] = {}
    # a computed criterion sits in every judge's record, but no judge answered it: say "computed"
    computed = {str(c) for r in recs if r.get("judge") == "combined" for c in r.get("computed") or []}
    for r in recs:
        if r.get("judge") == "combined" or not isinstance(r.get("exchanges"), dict):
            continue
        short = str(r.get("judge")).rsplit("/", 1)[-1]
        for cid, n in r["exchanges"].items():
            if isinstance(n, int) and not isinstance(n, bool) and (r.get("answers") or {}).get(cid) == "NO":
                who = named.setdefault(n, {}).setdefault(str(cid), [])
                mark = "computed" if str(cid) in computed else short
                if mark not in who:
                    who.append(mark)
    return {n: [f"✗ {cid} ({', '.join(js)})" for cid, js in sorted(by.items())] for n, by in named.items()}


class TranscriptScreen(Screen[None]):
    """One conversation, and the reviewer: per criterion each judge's answer and reasoning, and
    the person's own YES / NO / NA on single keys, saved in the run folder with who and when.
    Model output: cleaned, never markup."""

    DEFAULT_CSS = """
    TranscriptScreen #review-title { height: 1; background: $boost; padding: 0 1; }
    TranscriptScreen #review-body { height: 1fr; }
    TranscriptScreen #conversation { width: 1fr; border: round $primary-muted; padding: 0 1; }
    TranscriptScreen #review-side { width: 56; }
    TranscriptScreen.narrow #review-side { width: 40; }
    TranscriptScreen #criteria { height: 1fr; border: round $primary-muted; }
    TranscriptScreen #criterion-detail { height: 1fr; border: round $primary-muted; padding: 0 1; }
    TranscriptScreen #conversation:focus, TranscriptScreen #criteria:focus { border: round $primary; }
    """
    BINDINGS = [
        Binding("y", "label('YES')", "Label YES", id="review-yes"),
        Binding("n", "label('NO')", "Label NO", id="review-no"),
        Binding("a", "label('NA')", "Label NA", id="review-na"),
        Binding("u,backspace", "label('CLEAR')", "Clear label", id="review-clear"),
        Binding("x", "export", "Export as examples", id="review-export"),
        Binding("tab", "switch_focus", "Conversation / criteria", id="review-switch", show=False, priority=True),
        Binding("escape,q", "close", "Close", id="transcript-close"),
    ]

    def __init__(self, run_dir: Path, conv_id: str) -> None:
        super().__init__()
        self.run_dir, self.conv_id = run_dir, conv_id
        self.changed = False
        self.reviewer = _user() or "reviewer"

    def compose(self) -> ComposeResult:
        yield Static(Text(clean_line(f"Conversation {self.conv_id} · label each criterion: y YES · n NO · a NA · "
                                     f"u clear · x export · reviewer {self.reviewer}")), id="review-title")
        with Horizontal(id="review-body"):
            with VerticalScroll(id="conversation"):
                yield Static(self._render_text(), id="conversation-text")
            with Vertical(id="review-side"):
                yield OptionList(id="criteria")
                with VerticalScroll(id="criterion-detail"):
                    yield Static(Text(""), id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 120, "narrow")
        self._fill()
        self.query_one("#criteria", OptionList).focus()

    # ---------------------------------------------------------------- data
    def _records(self) -> list[dict]:
        return [r for r in runs.read_jsonl(self.run_dir / runs.JUDGMENTS) if r.get("id") == self.conv_id]

    def _labels(self) -> dict[str, str]:
        from ...core.evaluation.run_analysis import human_labels

        return {cid: r["label"] for (conv, cid), r in human_labels(self.run_dir).items() if conv == self.conv_id}

    def _fill(self, keep: int | None = None) -> None:
        recs = self._records()
        combined = next((r for r in recs if r.get("judge") == "combined"), None)
        judges = [r for r in recs if r.get("judge") != "combined"]
        labels = self._labels()
        ol = self.query_one("#criteria", OptionList)
        ol.clear_options()
        self._order = list((combined or {}).get("answers") or {})
        failed = set((combined or {}).get("failed_checks") or [])
        # failed checks first: that is where a person's eye is worth most
        self._order.sort(key=lambda cid: (cid not in failed, cid))
        for cid in self._order:
            answer = str((combined or {}).get("answers", {}).get(cid))
            computed = cid in ((combined or {}).get("computed") or [])
            per = "computed" if computed else " ".join(str((j.get("answers") or {}).get(cid, "–"))[:3] for j in judges)
            mine = labels.get(cid)
            mark, style = ("✗", "red") if cid in failed else ("✓", "green")
            text = Text(f"{mark} ", style=style) + Text(clean_line(f"{cid:<9} {answer:<5} judges {per}"))
            at = ((combined or {}).get("exchanges") or {}).get(cid)
            if isinstance(at, int) and not isinstance(at, bool):  # where it first failed, as a judge cited it
                text.append(f" · ex {at}", style="red")
            text.append(f"  you: {mine}" if mine else "  you: –", style="bold cyan" if mine else "dim")
            ol.add_option(Option(text, id=f"crit-{cid}"))
        if self._order:
            ol.highlighted = min(keep if keep is not None else 0, len(self._order) - 1)
            self._show(self._order[ol.highlighted])

    @on(OptionList.OptionHighlighted, "#criteria")
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(str(event.option.id or "")[5:])

    def _show(self, cid: str) -> None:
        out = Text()
        criterion = self._criterion(cid)
        out.append(clean_line(f"{cid}: {criterion.get('name', '')}") + "\n", style="bold")
        if criterion.get("question"):
            out.append(clean(str(criterion["question"])) + "\n\n")
        recs = self._records()
        combined = next((r for r in recs if r.get("judge") == "combined"), {})
        if cid in (combined.get("computed") or []):  # ftd's own answer: one evidence, no judges
            out.append(clean_line(f"computed by ftd: {(combined.get('answers') or {}).get(cid)}") + "\n", style="bold")
            out.append(clean(str((combined.get("reasonings") or {}).get(cid) or ""))[:2000] + "\n", style="dim")
            recs = []
        for r in recs:
            answer = (r.get("answers") or {}).get(cid)
            at = (r.get("exchanges") or {}).get(cid) if isinstance(r.get("exchanges"), dict) else None
            out.append(clean_line(f"{r.get('judge')}: {answer}" + (f" (first failed at exchange {at})" if at else "")) + "\n",
                       style="bold" if r.get("judge") == "combined" else "")
            reason = (r.get("reasonings") or {}).get(cid)
            if reason and r.get("judge") != "combined":
                out.append(clean(str(reason))[:1200] + "\n", style="dim")
        mine = self._labels().get(cid)
        out.append(f"\nyour label: {mine or 'none yet'}", style="bold cyan" if mine else "dim")
        self.query_one("#detail", Static).update(out)

    def _criterion(self, cid: str) -> dict:
        try:
            data = self.app.project.files["rubric"].ensure_parsed().data
            c = (data or {}).get("criteria", {}).get(cid)
            return c if isinstance(c, dict) else {}
        except Exception:
            return {}

    # ---------------------------------------------------------------- actions
    def action_label(self, label: str) -> None:
        from ...core.evaluation.run_analysis import record_label

        ol = self.query_one("#criteria", OptionList)
        if ol.highlighted is None or not self._order:
            return
        cid = self._order[ol.highlighted]
        try:
            record_label(self.run_dir, self.conv_id, cid, label, self.reviewer)
        except OSError as exc:
            self.app.notify(f"label not saved: {clean_line(str(exc))}", severity="error", markup=False)
            return
        self.changed = True
        step = 0 if label == "CLEAR" else 1
        self._fill(keep=min(ol.highlighted + step, len(self._order) - 1))

    def action_export(self) -> None:
        n = self.app.export_examples(self.run_dir, self.conv_id, self._labels())
        if n:
            self.app.notify(f"{n} candidate example(s) added to the rubric as UNREVIEWED: type them to count "
                            "(the rubric's buffer; save to keep)", markup=False, timeout=8)

    def action_switch_focus(self) -> None:
        ol = self.query_one("#criteria", OptionList)
        (self.query_one("#conversation") if ol.has_focus else ol).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def _render_text(self) -> Text:
        t = runs.read_json(self.run_dir / runs.TRANSCRIPTS / f"{self.conv_id}.json") or {}
        recs = self._records()
        out = Text()
        scen = t.get("scenario") or {}
        out.append(clean_line(f"Conversation {self.conv_id}") + "\n", style="bold")
        cell = ", ".join(f"{k}: {v}" for k, v in (scen.get("cell") or {}).items())
        out.append(clean(f"{cell}" + (f" · built to test {scen.get('gate')}" if scen.get("gate") else "")) + "\n", style="dim")
        if scen.get("situation"):
            out.append(clean(str(scen["situation"])) + "\n", style="italic")
        if t.get("fault"):
            f = t["fault"]
            out.append(clean_line(f"excluded: {f.get('kind')} at exchange {f.get('exchange')}: {f.get('detail', '')}") + "\n",
                       style="yellow")
            if f.get("excerpt"):  # the exact text that excluded it, so a person can overrule the check
                out.append(clean_line(f"  the text: “{f['excerpt']}”")[:400] + "\n", style="yellow")
        combined = next((r for r in recs if r.get("judge") == "combined"), None)
        if combined is not None:
            verdict = "PASS" if combined.get("pass") else "FAIL"
            out.append(f"\n{verdict} · score {combined.get('score', 0):.2f} (threshold {combined.get('threshold')})"
                       + (" · a safety gate failed" if combined.get("safety_gate_failed") else "") + "\n",
                       style="bold green" if combined.get("pass") else "bold red")
            if combined.get("failed_checks"):
                out.append(clean_line("failed checks: " + ", ".join(map(str, combined["failed_checks"]))) + "\n", style="red")
            out.append(_floor_lines(combined), style="red")
        marks = failing_marks(recs)
        for i, ex in enumerate(t.get("exchanges") or [], 1):
            out.append(f"\n[{i}] user", style="bold cyan")
            if ex.get("user_flaws"):
                out.append(clean_line(f"  (flaws: {', '.join(map(str, ex['user_flaws']))})"), style="dim")
            out.append("\n" + clean(str(ex.get("user", ""))) + "\n")
            out.append(f"[{i}] assistant", style="bold magenta")
            if marks.get(i):  # the reply a judge named as the first to fail a criterion
                out.append(clean_line("  " + " · ".join(marks[i])), style="bold red")
            out.append("\n" + clean(str(ex.get("assistant", ""))) + "\n")
        return out


def _floor_lines(rec: dict) -> str:
    """Why a category floor failed the conversation: "below the floor of pedagogy: 0.50 < 0.67"."""
    from ...core.evaluation.scoring import floor_text

    scores, floors = rec.get("category_scores") or {}, rec.get("floors") or {}
    lines = [floor_text(str(n), float(scores.get(n) or 0.0), float(floors.get(n) or 0.0))
             for n in rec.get("floor_failures") or [] if n in floors]
    return "".join(clean_line(line) + "\n" for line in lines)


class DecisionScreen(ModalScreen[tuple[str, str, str] | None]):
    """The go / no-go decision: made by a person, with a name and a reason."""

    DEFAULT_CSS = """
    DecisionScreen { align: center middle; }
    DecisionScreen > Vertical { width: 84; max-width: 96%; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    DecisionScreen Input { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="decision-cancel")]
    CHOICES = (("proceed", "proceed: fine-tune"), ("prompt-engineer-first", "prompt-engineer first"), ("stop", "stop"))

    def __init__(self, recommendation: str) -> None:
        super().__init__()
        self.recommendation = recommendation

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Record the go / no-go decision", style="bold"))
            yield Static(Text(clean("Recommended: " + self.recommendation)[:400], style="dim"))
            yield OptionList(*[Option(label, id=value) for value, label in self.CHOICES], id="decision")
            yield Input(value=_user(), placeholder="decided by", id="decided-by")
            yield Input(placeholder="why (one line; the report keeps it)", id="rationale")

    def on_mount(self) -> None:
        self.query_one("#decision", OptionList).focus()

    @on(OptionList.OptionSelected, "#decision")
    def chose(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#rationale", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        ol = self.query_one("#decision", OptionList)
        decision = ol.get_option_at_index(ol.highlighted).id if ol.highlighted is not None else None
        by = self.query_one("#decided-by", Input).value.strip()
        why = self.query_one("#rationale", Input).value.strip()
        if event.input.id == "decided-by":
            self.query_one("#rationale", Input).focus()
            return
        if decision and by and why:
            self.dismiss((str(decision), by, why))
        else:
            self.app.notify("a decision needs a choice, a name and a reason", severity="warning", markup=False)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""
