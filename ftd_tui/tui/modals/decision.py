"""The go / no-go decision on a baseline: made by a person, with a name and a reason. The
screen only asks; the caller records the answer through the session."""

from __future__ import annotations

import getpass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...core.text.textsafe import clean


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
            yield Input(value=login_name(), placeholder="decided by", id="decided-by")
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


def login_name() -> str:
    """Who is at the keyboard, as the first guess for "decided by" and the reviewer's name."""
    try:
        return getpass.getuser()
    except Exception:  # getpass raises OSError, KeyError or ImportError depending on the platform: no name then
        return ""
