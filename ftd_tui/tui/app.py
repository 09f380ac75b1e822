"""The Textual app: a pane per artifact, its diagnostics, and the next step.

Background work never touches widgets: the loader runs in a thread worker and posts a
ProjectChecked message; the app alone applies it (the Harlequin habit)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, ListItem, ListView, Static, TextArea

from ..core.textsafe import clean_line


@dataclass
class Snapshot:
    project: object
    result: object
    gates: list


class ProjectChecked(Message):
    def __init__(self, snapshot: Snapshot | None, error: str | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.error = error


class ArtifactItem(ListItem):
    def __init__(self, artifact_id: str, label: Text) -> None:
        super().__init__(Static(label))
        self.artifact_id = artifact_id


class DiagnosticItem(ListItem):
    def __init__(self, line: int, column: int, label: Text) -> None:
        super().__init__(Static(label))
        self.line = line
        self.column = column


SEVERITY_MARK = {"error": ("✗ error", "bold red"), "warning": ("! warn ", "yellow"), "info": ("i info ", "cyan")}


class FtdApp(App):
    TITLE = "ftd"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("r", "reload", "Reload", id="reload-project"),
        Binding("d", "focus_diagnostics", "Diagnostics", id="focus-diagnostics"),
        Binding("a", "focus_artifacts", "Artifacts", id="focus-artifacts"),
    ]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.snapshot: Snapshot | None = None
        self.current: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"ftd · {clean_line(self.root.name)} · loading…"), id="status")
        with Horizontal(id="main"):
            yield ListView(id="artifacts")
            with Vertical(id="right"):
                yield TextArea.code_editor("", read_only=True, id="editor", show_line_numbers=True)
                yield ListView(id="diagnostics")
        yield Footer()

    def on_mount(self) -> None:
        self.load_project()

    @work(thread=True, exclusive=True, group="load")
    def load_project(self) -> None:
        from ..core.checks import check_project
        from ..core.gates import compute_gates
        from ..core.project import Project, ProjectError

        try:
            project = Project.load(self.root)
            result = check_project(project)
            snap = Snapshot(project, result, compute_gates(project, result))
            self.post_message(ProjectChecked(snap))
        except ProjectError as exc:
            self.post_message(ProjectChecked(None, str(exc)))

    def action_reload(self) -> None:
        self.load_project()

    def action_focus_diagnostics(self) -> None:
        self.query_one("#diagnostics").focus()

    def action_focus_artifacts(self) -> None:
        self.query_one("#artifacts").focus()

    @on(ProjectChecked)
    def apply_snapshot(self, message: ProjectChecked) -> None:
        status = self.query_one("#status", Static)
        if message.snapshot is None:
            status.update(Text(f"ftd · {clean_line(message.error or 'cannot read the project')}", style="bold red"))
            return
        from ..core.gates import next_action
        from ..core.project import ARTIFACTS

        self.snapshot = snap = message.snapshot
        status.update(Text("Next: " + clean_line(next_action(snap.gates))))
        items = []
        for spec in ARTIFACTS:
            lf = snap.project.files[spec.id]
            errors = sum(1 for d in snap.result.diagnostics if d.file == lf.rel and d.severity == "error")
            if not lf.exists:
                mark, style = "· missing", "dim"
            elif errors:
                mark, style = f"✗ {errors} err", "bold red"
            else:
                mark, style = "✓ ok", "green"
            label = Text()
            label.append(f"{mark:<10}", style=style)
            label.append(clean_line(lf.rel))
            items.append(ArtifactItem(spec.id, label))
        artifacts = self.query_one("#artifacts", ListView)
        index = artifacts.index
        artifacts.clear()
        artifacts.extend(items)
        if index is not None:
            artifacts.index = index
        self.show_artifact(self.current or "settings")
        if self.focused is None:
            artifacts.focus()

    @on(ListView.Highlighted, "#artifacts")
    def artifact_highlighted(self, event: ListView.Highlighted) -> None:
        if isinstance(event.item, ArtifactItem):
            self.show_artifact(event.item.artifact_id)

    def show_artifact(self, artifact_id: str) -> None:
        if self.snapshot is None:
            return
        self.current = artifact_id
        lf = self.snapshot.project.files[artifact_id]
        editor = self.query_one("#editor", TextArea)
        editor.language = "yaml" if lf.spec.kind == "yaml" else "markdown"
        editor.text = lf.text if lf.text is not None else ""
        editor.border_title = clean_line(lf.rel)
        diags = self.query_one("#diagnostics", ListView)
        diags.clear()
        found = [d for d in self.snapshot.result.diagnostics if d.file == lf.rel]
        diags.border_title = f"{len(found)} finding(s)"
        for d in found:
            word, style = SEVERITY_MARK[d.severity]
            label = Text()
            label.append(word, style=style)
            label.append(f" {d.line}:{d.column} {d.rule} ", style="dim")
            label.append(clean_line(d.message))
            diags.append(DiagnosticItem(d.line, d.column, label))

    @on(ListView.Selected, "#diagnostics")
    def jump_to(self, event: ListView.Selected) -> None:
        if isinstance(event.item, DiagnosticItem):
            editor = self.query_one("#editor", TextArea)
            editor.move_cursor((event.item.line - 1, event.item.column - 1), center=True)
            editor.focus()


def create_app(root: Path) -> FtdApp:
    return FtdApp(root)


def run(root: Path) -> int:
    create_app(root).run()
    return 0
