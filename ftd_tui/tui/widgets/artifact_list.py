"""The list of artifacts: each with its state at a glance (unsaved ●, errors ✗n, warnings !n, ✓,
missing –, … while the first check runs)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ...core.project.project import ARTIFACTS, Project
from ...core.text.textsafe import clean_line


class ArtifactList(OptionList):
    HELP_PANE = "the artifact list"
    HELP_ROWS = [("↑ ↓", "choose an artifact", ""), ("Enter", "edit it", "")]

    def __init__(self, *, id: str = "artifacts") -> None:
        super().__init__(*[Option(Text(spec.path), id=spec.id) for spec in ARTIFACTS], id=id)

    def show(self, project: Project, snapshot, editors: dict) -> None:
        """Redraw every label from the project as read, the latest check (None before the first)
        and the open editors (whose unsaved edits count)."""
        diags = snapshot.result.diagnostics if snapshot is not None else []
        for spec in ARTIFACTS:
            lf = project.files[spec.id]
            ed = editors.get(spec.id)
            errors = sum(1 for d in diags if d.file == lf.rel and d.severity == "error")
            warnings = sum(1 for d in diags if d.file == lf.rel and d.severity == "warning")
            if snapshot is None and lf.exists:
                mark, style = "…", "dim"  # checking
            elif not lf.exists and not (ed and ed.dirty):
                mark, style = "–", "dim"
            elif errors:
                mark, style = f"✗{errors}", "bold red"
            elif warnings:
                mark, style = f"!{warnings}", "yellow"
            else:
                mark, style = "✓", "green"
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append("●" if ed and ed.dirty else " ", style="bold yellow")
            label.append(f"{mark:<4}", style=style)
            label.append(clean_line(lf.rel))
            if not lf.exists:
                label.append(" (missing)", style="dim")
            self.replace_option_prompt(spec.id, label)

    def labels(self) -> dict[str, str]:
        """Each artifact's label as plain text (what the tests and the review read)."""
        return {spec.id: str(self.get_option(spec.id).prompt) for spec in ARTIFACTS}

    def point_at(self, artifact_id: str) -> None:
        index = self.get_option_index(artifact_id)
        if self.highlighted != index:
            self.highlighted = index
