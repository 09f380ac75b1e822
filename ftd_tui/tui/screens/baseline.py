"""F5: the baseline run. A forecast first; Enter starts a detached `ftd baseline` child that
writes to the run folder (quitting the app never stops a paid run); this screen only reads that
folder: progress per stage, a live pass-rate tally, cancel; then the results with a bar per
category, any conversation one key away, and the person's go / no-go decision.

Everything shown from the run folder is model output or project data: control characters are
stripped and nothing is read as markup."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ...core.evaluation import runs
from ...core.text.textsafe import clean, clean_line
from ...services.session import SessionError
from ..messages import ReportWritten
from ..modals.decision import DecisionScreen
from ..widgets.run_tables import forecast_view, progress_view, results_view
from ...core.evaluation.summary import RunSummary
from .transcript import TranscriptScreen, failing_marks

POLL = 0.3
TERMINAL = ("done", "failed", "cancelled", "stopped", "invalid", "interrupted")
UNSAVED_REPORT = "the report has unsaved edits in its pane: save or revert them"


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

    def __init__(self, settings: dict, *, smoke: bool = False, unsaved: Callable[[str], bool] | None = None) -> None:
        """``unsaved(artifact_id)``: whether that pane has edits not on disk (the report is not
        written over them)."""
        super().__init__()
        self.settings = settings
        self.unsaved = unsaved or (lambda artifact_id: False)
        self.smoke = smoke
        self.fresh = False
        self.mode = "plan"  # plan, starting, running, results, error
        self.plan = None
        self.run_dir: Path | None = None
        self.summary: RunSummary | None = None  # the finished run's summary.json, typed
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
        self._main(forecast_view(p, fc))
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
        from ...services.baseline.process import spawn_detached
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
        self._main(progress_view(progress, state))
        if state in TERMINAL:
            self.show_results()

    def _log_tail(self) -> str:
        try:
            return clean((self.run_dir / "log.txt").read_text(encoding="utf-8", errors="replace")[-1500:])
        except OSError:
            return ""

    def action_cancel_run(self) -> None:
        from ..modals.dialogs import Choice

        def chosen(answer: str | None) -> None:
            if answer == "yes" and self.run_dir is not None:
                from ...services.baseline.process import cancel_run

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
        self.summary = RunSummary.from_dict(summary)
        self._title(f"Baseline results · run {self.run_dir.name} · {self.summary.state}")
        self._main(self._results_view(self.summary))
        self._fill_conversations()
        self.refresh_bindings()

    def _results_view(self, summary: RunSummary):
        return results_view(summary, wide=self.app.size.width >= 110)

    def _fill_conversations(self) -> None:
        ol = self.query_one("#conversations", OptionList)
        ol.clear_options()
        combined = {r.get("id"): r for r in runs.read_jsonl(self.run_dir / runs.JUDGMENTS) if r.get("judge") == "combined"}
        excluded = {e.get("id"): e for e in (self.summary.excluded if self.summary else None) or []}
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
        except Exception:  # a rubric mid-edit can be any shape: the tables then show ids without names
            pass
        summary = refresh_summary(self.run_dir, names)
        if summary is None:
            return
        self.summary = RunSummary.from_dict(summary)
        self._main(self._results_view(self.summary))
        error = self._refresh_report(summary)
        if error:
            self.app.notify(error, title="Report not updated", severity="warning", markup=False)

    def _refresh_report(self, summary: dict) -> str | None:
        """The report's generated parts, when it shows this run (the decision and the prose are
        kept); an error line when it cannot be written safely."""
        session = self.app.session
        if self.unsaved("eval-results") and session.report_shows(summary.get("run")):
            return UNSAVED_REPORT + ", then reopen the results"
        try:
            written = session.refresh_report(summary)
        except SessionError as exc:
            return str(exc)
        if written:
            self.post_message(ReportWritten())
        return None

    def action_switch_focus(self) -> None:
        ol = self.query_one("#conversations", OptionList)
        (self.query_one("#main-scroll") if ol.has_focus else ol).focus()

    # ------------------------------------------------------------ decision
    def action_decide(self) -> None:
        if self.summary is None:
            return
        if (self.summary.settings or {}).get("smoke"):
            self.app.notify("a smoke run has no report to decide on; run the full baseline", markup=False)
            return
        if self.summary.failure:
            self.app.notify("this run failed (its judges were unusable): fix them and run again before deciding",
                            markup=False)
            return
        self.app.push_screen(DecisionScreen(str(self.summary.recommendation_text or "")), self._decided)

    def _decided(self, answer: tuple[str, str, str] | None) -> None:
        if answer is None:
            return
        error = self._record_decision(*answer)
        self.query_one("#main-scroll").focus()
        if error:
            self.app.notify(error, title="Decision not recorded", severity="error", markup=False)
        else:
            self.app.notify(f"decision recorded: {answer[0]}", markup=False)

    def _record_decision(self, decision: str, decided_by: str, rationale: str) -> str | None:
        if self.unsaved("eval-results"):
            return UNSAVED_REPORT + " first"
        try:
            self.app.session.record_decision(decision, decided_by, rationale)
        except SessionError as exc:
            return str(exc)
        self.post_message(ReportWritten())
        return None

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
        s = self.summary
        if s is None or (s.settings or {}).get("smoke") or not s.assessed:
            return False
        fm = self.app.session.report_front_matter()
        if fm is None or (fm.get("run") or {}).get("id") != (self.run_dir.name if self.run_dir else None):
            return False
        return fm.get("decision") in (None, {}, "")


# the transcript and the decision screens lived here: their old import path still works
__all__ = ["BaselineScreen", "DecisionScreen", "TranscriptScreen", "failing_marks"]
