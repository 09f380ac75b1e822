"""Review mode for shared tmux sessions: editing off, everything one letter away."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...core.rules.critique_gate import CRITIQUED
from ...core.project.project import ARTIFACTS
from ...core.text.textsafe import clean, clean_line


class ReviewScreen(Screen[None]):
    DEFAULT_CSS = """
    ReviewScreen #review-title { height: 1; padding: 0 2; background: $primary; color: $text; text-style: bold; }
    ReviewScreen #review-scroll { height: 1fr; padding: 1 3; }
    """
    BINDINGS = [
        Binding("g", "view('gates')", "Gates", id="review-gates"),
        Binding("c", "view('critiques')", "Critiques", id="review-critiques"),
        Binding("r", "view('results')", "Results", id="review-results"),
        Binding("f", "view('findings')", "Findings", id="review-findings"),
        Binding("n", "step(1)", "Next file", id="review-next"),
        Binding("p", "step(-1)", "Prev file", id="review-prev"),
        Binding("1,2,3,4,5,6,7,8,9,0", "digit", "Open file 1-10", id="review-open", show=False),
        Binding("escape,q,f8", "leave", "Leave review", id="leave-review"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view_name = "gates"
        self.file_index = 0

    def compose(self) -> ComposeResult:
        yield Static(id="review-title")
        with VerticalScroll(id="review-scroll"):
            yield Static(id="review-body")
        yield Footer()

    def on_mount(self) -> None:
        self.render_view()

    def on_key(self, event) -> None:
        if event.key.isdigit():
            self.file_index = (int(event.key) - 1) % 10
            self.view_name = "file"
            self.render_view()
            event.stop()

    def action_digit(self) -> None:
        pass  # handled in on_key, where the digit is known; the binding documents the keys

    def action_view(self, name: str) -> None:
        self.view_name = name
        self.render_view()

    def action_step(self, delta: int) -> None:
        self.file_index = (self.file_index + delta) % len(ARTIFACTS)
        self.view_name = "file"
        self.render_view()

    def action_leave(self) -> None:
        self.dismiss(None)

    def render_view(self) -> None:
        snap = self.app.snapshot  # the workspace's latest check; the buffers below are its editors
        title = self.query_one("#review-title", Static)
        body = self.query_one("#review-body", Static)
        out = Text()
        if self.view_name == "gates":
            title.update(Text("REVIEW · gates   (g gates · c critiques · r results · f findings · 1-9 files · n/p · q leave)"))
            for g in snap.gates:
                mark = ("✓ PASSED", "bold green") if g.passed else ("✗ OPEN  ", "bold red")
                out.append(mark[0], style=mark[1])
                out.append(f"  {g.step if g.step <= 7 else '='}. {clean_line(g.name)}\n", style="bold")
                out.append(f"            {clean_line(g.reason)}\n")
                if not g.passed and g.next_step:
                    out.append(f"            next: {clean_line(g.next_step)}\n", style="italic")
                out.append("\n")
        elif self.view_name == "critiques":
            title.update(Text("REVIEW · expert critiques"))
            for unit in CRITIQUED:
                st = snap.result.critiques.get(unit)
                ok = st is not None and st.dispositioned and not st.stale
                out.append("✓ DONE   " if ok else "· OPEN   ", style="bold green" if ok else "bold yellow")
                out.append(f"{unit:<10}", style="bold")
                out.append(clean_line(st.reason if st else "no critique yet") + "\n\n")
        elif self.view_name == "results":
            lf = snap.project.files["eval-results"]
            title.update(Text("REVIEW · baseline results"))
            out.append(clean(lf.text) if lf.text else f"untested: no baseline run yet ({lf.spec.path} is absent)")
        elif self.view_name == "findings":
            title.update(Text("REVIEW · findings"))
            for d in snap.result.diagnostics:
                out.append(f"{d.severity:<8}", style={"error": "bold red", "warning": "yellow"}.get(d.severity, "cyan"))
                out.append(f"{clean_line(d.file)}:{d.line}:{d.column}  {d.rule}  {clean_line(d.message)}\n")
            if not snap.result.diagnostics:
                out.append("no findings", style="green")
        else:
            spec = ARTIFACTS[self.file_index % len(ARTIFACTS)]
            lf = snap.project.files[spec.id]
            ed = self.app.editors.get(spec.id)
            title.update(Text(f"REVIEW · {self.file_index + 1}. {lf.rel}" + ("  (unsaved edits shown)" if ed and ed.dirty else "")))
            text = ed.text if ed is not None else lf.text
            out.append(clean(text) if text else "(missing)")
        body.update(out)
