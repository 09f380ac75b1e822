"""The judges' calibration self-test in the app: every judge answers the rubric's own examples,
leave-one-out, before a baseline is paid for. Runs in a worker (it is short: one call per
example per judge); Esc cancels and keeps every answered example for the next run."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...core.text.textsafe import clean, clean_line


class CalibrationScreen(Screen[None]):
    DEFAULT_CSS = """
    CalibrationScreen #cal-title { height: 1; background: $boost; padding: 0 1; }
    CalibrationScreen #cal-scroll { height: 1fr; border: round $primary-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("f", "fresh", "Fresh self-test", id="calibration-fresh"),
        Binding("escape", "close", "Cancel / back", id="calibration-close"),
    ]

    def __init__(self, settings: dict) -> None:
        super().__init__()
        self.settings = settings
        self.done = False

    def compose(self) -> ComposeResult:
        yield Static(Text("Calibration self-test · starting…"), id="cal-title")
        with VerticalScroll(id="cal-scroll"):
            yield Static(Text(""), id="cal-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cal-scroll").focus()
        self.run_test()

    def _body(self, text: Text) -> None:
        self.query_one("#cal-body", Static).update(text)

    def _progress(self, p: dict) -> None:
        done, total = p.get("answered", p.get("done", 0)), p.get("total", 0)
        self.query_one("#cal-title", Static).update(Text(f"Calibration self-test · {done}/{total} examples answered"))

    @work(exclusive=True, group="calibration")
    async def run_test(self, fresh: bool = False) -> None:
        from ...services.baseline.calibration import calibration_inputs, run_calibration, summary_lines
        from ...services.baseline.setup import BaselineError
        from ...services.llm.door import LLMError

        self.done = False
        session, project = self.app.session, self.app.project
        # approved before this screen opened
        door = session.door(self.settings, session.project_settings(project), trusted=True)
        try:
            inputs = calibration_inputs(project, self.settings)
            summary = await run_calibration(inputs, door, project.root, fresh=fresh,
                                            on_progress=lambda p: self._progress(p))
        except (BaselineError, LLMError) as exc:
            self._body(Text(clean(str(exc)), style="bold red"))
            return
        finally:
            door.cache.close()
        self.done = True
        out = Text()
        bad = [(j["model"], c) for j in summary.get("judges") or [] for c in j["criteria"] if c.get("cannot_apply")]
        if bad:
            out.append("Criteria a judge cannot apply — fix these before paying for a baseline:\n", style="bold red")
            for model, c in bad:
                out.append(clean_line(f"  {model}: {c['id']} — {c.get('why', '')}") + "\n", style="red")
            out.append("\n")
        else:
            out.append("Every judge applies every criterion on its examples.\n\n", style="bold green")
        for line in summary_lines(summary):
            out.append(clean_line(line) + "\n")
        out.append("\nf runs a fresh self-test · Esc back", style="dim")
        self._body(out)
        self.query_one("#cal-title", Static).update(
            Text(clean_line(f"Calibration self-test · run {summary.get('run')} · {summary.get('state')}")))

    def action_fresh(self) -> None:
        self._body(Text("starting a fresh self-test…", style="dim"))
        self.run_test(fresh=True)

    def action_close(self) -> None:
        if not self.done:
            self.workers.cancel_group(self, "calibration")
            self.app.notify("self-test cancelled; answered examples are kept for the next one", markup=False)
        self.dismiss(None)
