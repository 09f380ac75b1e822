"""Modal screens: questions the app asks, and the views it opens over the editor.

Every text that came from a project or a model is passed as rich Text (never markup) and
through clean()/clean_line() first."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, ListItem, ListView, Static

from ...core.text.diffing import unified
from ...core.text.textsafe import clean, clean_line


def _t(text: str, style: str = "") -> Text:
    return Text(clean_line(text), style=style)


class Choice(ModalScreen[str]):
    """A question with a few answers, each on a button and a single key."""

    DEFAULT_CSS = """
    Choice { align: center middle; }
    Choice > Vertical { width: 72; max-width: 95%; height: auto; padding: 1 2; border: thick $primary; background: $surface; }
    Choice .question { margin-bottom: 1; }
    Choice Horizontal { height: auto; }
    Choice Button { margin-right: 1; min-width: 12; }
    """
    BINDINGS = [Binding("escape", "answer('cancel')", "Cancel", id="cancel-dialog")]

    def __init__(self, question: str, answers: list[tuple[str, str, str]], detail: str = "") -> None:
        """answers: (value, label, key)."""
        super().__init__()
        self.question = question
        self.detail = detail
        self.answers = answers

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_t(self.question, "bold"), classes="question")
            if self.detail:
                yield Static(Text(clean(self.detail)), classes="question")
            with Horizontal():
                for value, label, key in self.answers:
                    yield Button(Text(f"{label} ({key})"), id=f"answer-{value}", variant="primary" if value != "cancel" else "default")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_key(self, event) -> None:
        for value, _label, key in self.answers:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return

    def action_answer(self, value: str) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "answer-cancel").removeprefix("answer-"))


class DiffScreen(ModalScreen[None]):
    """One diff view for outside edits, drafts and (later) proposals."""

    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen > Vertical { width: 95%; height: 90%; border: thick $primary; background: $surface; }
    DiffScreen VerticalScroll { height: 1fr; padding: 0 1; }
    DiffScreen .title { padding: 0 1; background: $boost; }
    """
    BINDINGS = [Binding("escape,q", "dismiss_diff", "Close", id="close-diff")]

    def __init__(self, title: str, old: str, new: str, old_label: str, new_label: str) -> None:
        super().__init__()
        self.title_text = title
        self.lines = unified(old, new, old_label, new_label)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_t(self.title_text, "bold"), classes="title")
            body = Text()
            if not self.lines:
                body.append("no differences")
            for line in self.lines:
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else ""
                body.append(clean_line(line) + "\n", style=style)
            with VerticalScroll():
                yield Static(body, id="diff-body")
            yield Footer()

    def action_dismiss_diff(self) -> None:
        self.dismiss(None)


class GateItem(ListItem):
    def __init__(self, gate, artifact_id: str | None) -> None:
        mark = Text("✓ passed " if gate.passed else "✗ open   ", style="green" if gate.passed else "bold red")
        label = Text.assemble(mark, (f"{gate.step if gate.step <= 7 else '='} ", "bold"), _t(gate.name, "bold"), "\n   ",
                              _t(gate.reason))
        if not gate.passed and gate.next_step:
            label.append("\n   next: ", style="dim")
            label.append(clean_line(gate.next_step))
        super().__init__(Static(label))
        self.artifact_id = artifact_id


GATE_ARTIFACT = {1: "model-choice", 2: "settings", 3: "taxonomy", 4: "rubric", 5: "personas", 6: "assistant",
                 7: "eval-results", 8: None}


class GatesScreen(ModalScreen[str | None]):
    """The seven steps and "done", each with its reason and next step. Enter opens the artifact."""

    DEFAULT_CSS = """
    GatesScreen { align: center middle; }
    GatesScreen > Vertical { width: 100; max-width: 98%; height: 90%; border: thick $primary; background: $surface; }
    GatesScreen ListView { height: 1fr; }
    GatesScreen ListItem { padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,g", "close", "Close", id="close-gates")]

    def __init__(self, gates) -> None:
        super().__init__()
        self.gates = gates

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(" Gates: Enter opens the step's artifact", style="bold"))
            yield ListView(*[GateItem(g, GATE_ARTIFACT.get(g.step)) for g in self.gates], id="gate-list")
            yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(ListView.Selected)
    def open_step(self, event: ListView.Selected) -> None:
        if isinstance(event.item, GateItem) and event.item.artifact_id:
            self.dismiss(event.item.artifact_id)


class HelpScreen(ModalScreen[None]):
    """F1: the keys of the focused pane first, then the app's."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 90; max-width: 98%; height: 90%; border: thick $primary; background: $surface; }
    HelpScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close", id="close-help")]

    def __init__(self, title: str, intro: str, sections: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
        super().__init__()
        self.title_text = title
        self.intro = intro
        self.sections = sections

    def compose(self) -> ComposeResult:
        body = Text()
        body.append(self.title_text + "\n", style="bold")
        body.append(self.intro + "\n\n")
        for heading, rows in self.sections:
            body.append(heading + "\n", style="bold underline")
            for keys, description, binding_id in rows:
                body.append(f"  {keys:<22}" + ("" if len(keys) < 22 else " "), style="bold")  # never glued to its text
                body.append(f"{description}")
                if binding_id:
                    body.append(f"  [{binding_id}]", style="dim")
                body.append("\n")
            body.append("\n")
        with Vertical():
            with VerticalScroll():
                yield Static(body)
            yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)


class DraftItem(ListItem):
    def __init__(self, draft, moved_on: bool, summary: str) -> None:
        label = Text.assemble(_t(draft.rel, "bold"), f"  {summary}")
        if draft.saved_at:  # two sessions can each leave a draft of one file: which is which
            import time

            label.append(time.strftime("  · kept %Y-%m-%d %H:%M", time.localtime(draft.saved_at)), style="dim")
        if moved_on:
            label.append("  — the file changed since this draft; compare first", style="yellow")
        super().__init__(Static(label))
        self.draft = draft
        self.moved_on = moved_on


class DraftsScreen(ModalScreen[None]):
    """Unsaved work found after a crash or a dropped session: restore, compare or discard each."""

    DEFAULT_CSS = """
    DraftsScreen { align: center middle; }
    DraftsScreen > Vertical { width: 96; max-width: 98%; height: auto; max-height: 90%; border: thick $warning; background: $surface; padding: 0 1; }
    DraftsScreen ListView { height: auto; max-height: 20; }
    """
    BINDINGS = [
        Binding("r", "restore", "Restore", id="restore-draft"),
        Binding("d", "diff", "Compare", id="diff-draft"),
        Binding("x", "discard", "Discard", id="discard-draft"),
        Binding("escape", "later", "Decide later", id="close-drafts"),
    ]

    def __init__(self, items: list[tuple[object, bool, str, str]], on_restore, on_discard) -> None:
        """items: (draft, moved_on, summary, disk_text)."""
        super().__init__()
        self.items = items
        self.on_restore = on_restore
        self.on_discard = on_discard

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Unsaved work from an earlier session was kept as drafts. A draft stays until "
                              "you save its text or discard it; Escape decides later (offered again next time).",
                              style="bold"))
            yield ListView(*[DraftItem(d, moved, summ) for d, moved, summ, _ in self.items], id="draft-list")
            yield Footer()

    def _current(self) -> DraftItem | None:
        lv = self.query_one(ListView)
        return lv.highlighted_child if isinstance(lv.highlighted_child, DraftItem) else None

    def _done_with(self, item: DraftItem) -> None:
        item.remove()
        self.items = [i for i in self.items if i[0] is not item.draft]
        if not self.items:
            self.dismiss(None)

    def action_restore(self) -> None:
        item = self._current()
        if item:
            self.on_restore(item.draft)
            self._done_with(item)

    def action_discard(self) -> None:
        item = self._current()
        if item:
            self.on_discard(item.draft)
            self._done_with(item)

    def action_diff(self) -> None:
        item = self._current()
        if item:
            disk = next(disk for d, _, _, disk in self.items if d is item.draft)
            self.app.push_screen(DiffScreen(f"{item.draft.rel}: file on disk → your draft", disk, item.draft.text,
                                            "on disk", "draft"))

    def action_later(self) -> None:
        self.dismiss(None)


class NewProjectScreen(Screen[str | None]):
    """ftd opened on a folder that is not a project: offer to create one."""

    DEFAULT_CSS = """
    NewProjectScreen { align: center middle; }
    NewProjectScreen > Vertical { width: 80; max-width: 98%; height: auto; border: thick $primary; padding: 1 2; }
    NewProjectScreen ListView { height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape,q", "leave", "Quit", id="quit-new-project")]

    def __init__(self, folder: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.folder = folder
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Not an ftd project: ", "bold"), clean_line(self.folder)))
            yield Static(Text("Create one from a template (Enter), or quit (Esc):"))
            yield ListView(*[ListItem(Static(Text.assemble((name, "bold"), "  ", desc)), name=name) for name, desc in self.choices])
            yield Footer()

    def on_mount(self) -> None:
        self.query_one(ListView).focus()

    @on(ListView.Selected)
    def chosen(self, event: ListView.Selected) -> None:
        self.dismiss(event.item.name)

    def action_leave(self) -> None:
        self.dismiss(None)


class TokensScreen(ModalScreen[None]):
    """The token budget in full: the table, the per-component breakdown and the cost lines."""

    DEFAULT_CSS = """
    TokensScreen { align: center middle; }
    TokensScreen > Vertical { width: 110; max-width: 98%; height: 90%; border: thick $primary; background: $surface; }
    TokensScreen VerticalScroll { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,t", "close", "Close", id="close-tokens")]

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield Static(Text("computing the estimate and the cost…", style="dim"), id="tokens-body")
            yield Footer()

    def show(self, lines: list[str]) -> None:
        body = Text()
        for i, line in enumerate(lines):
            body.append(clean_line(line) + "\n", style="bold" if line and not line.startswith(" ") else "")
        self.query_one("#tokens-body", Static).update(body)

    def action_close(self) -> None:
        self.dismiss(None)
