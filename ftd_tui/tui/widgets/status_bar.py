"""The status line: the next step (or a critique running behind the editor), the buffers'
saved state, the token meter, and where project text goes when a model is called (spec §9)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from ...core.text.textsafe import clean_line
from .token_meter import TokenMeter


def next_step_line(gates: list) -> str:
    open_gate = next((g for g in gates if not g.passed), None)
    if open_gate is None:
        return "Next: all gates passed: start the generation phase"
    if open_gate.step <= 7:
        return f"Next · step {open_gate.step}: {open_gate.next_step}"
    return f"Next · done: {open_gate.next_step}"


class StatusBar(Horizontal):
    def __init__(self, *, id: str = "status") -> None:
        super().__init__(id=id)

    def compose(self) -> ComposeResult:
        yield Static(Text("Next · checking the project…"), id="next")
        yield Static("", id="dirty")
        yield TokenMeter()  # the token-budget meter lives here
        yield Static("", id="hosts")

    def show_problem(self, line: str) -> None:
        self.query_one("#next", Static).update(Text(clean_line(line), style="bold red"))

    def show(self, *, gates: list | None, progress: str | None, current, n_dirty: int, review: bool,
             hosts: list[str]) -> None:
        """``gates`` None before the first check; ``progress`` a critique running in the
        background (it takes the place of the next step); ``current`` the open editor or None."""
        nxt = self.query_one("#next", Static)
        if gates is not None:
            nxt.update(Text(clean_line(next_step_line(gates))))
        if progress is not None:
            nxt.update(Text(clean_line(progress), style="bold"))
        dirty = self.query_one("#dirty", Static)
        if current is not None and current.dirty:
            dirty.update(Text(f" ● modified ({n_dirty} unsaved) ", style="bold yellow"))
        elif n_dirty:
            dirty.update(Text(f" {n_dirty} unsaved ", style="yellow"))
        elif current is not None:
            dirty.update(Text(" saved ", style="green"))
        else:
            dirty.update("")
        if review:
            dirty.update(Text(" REVIEW · read-only ", style="bold reverse"))
        label = (" → " + ", ".join(hosts[:4]) + (" …" if len(hosts) > 4 else "") + " ") if hosts else ""
        self.query_one("#hosts", Static).update(Text(label, style="dim"))
