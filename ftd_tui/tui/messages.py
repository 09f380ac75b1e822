"""Facts posted by workers and screens, in the past tense; the app (their one owner) applies
them to the widgets. A worker never touches a widget itself (the Harlequin habit)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from textual.message import Message

from ..core.project.project import Project


@dataclass
class Snapshot:
    """One check of the buffers: the project as read, its findings and gates, and which edit
    it saw (``generation``: an older snapshot than the latest edit is dropped)."""

    project: Project
    result: object
    gates: list
    generation: int
    counter: object = None


class ProjectChecked(Message):
    """The validation worker finished a check of the buffers."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ArtifactEdited(Message):
    """An editor's text changed (typing, undo, an exact edit ftd made into the buffer)."""

    def __init__(self, artifact_id: str) -> None:
        super().__init__()
        self.artifact_id = artifact_id


class LabelsExported(Message):
    """A reviewer sent a conversation's labels to the rubric as candidate calibration examples."""

    def __init__(self, run_dir: Path, conv_id: str, labels: dict[str, str]) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.conv_id = conv_id
        self.labels = labels


class ReportWritten(Message):
    """A screen wrote the baseline report on disk (a decision, labels reaching it): its pane reloads."""


class ModelChosen(Message):
    """The person chose the base model; ``applied`` is called once it is in the buffers."""

    def __init__(self, model_id: str, entries: list[dict], method: str,
                 applied: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.model_id = model_id
        self.entries = entries
        self.method = method
        self.applied = applied


# ---- the expert critique: the screen shows and asks; the workspace (it owns the buffers and the
# critique's log) applies each decision, then tells the screen to redraw what changed
class CritiqueProgressed(Message):
    """An expert answered while the critique runs behind the editor: the status line counts it.
    Only the latest matters, so a queued one is replaced (the Toolong habit)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CritiqueProgressed)


class ProposalDecided(Message):
    """The person accepted, rejected or deferred proposal ``index`` (a reason for the last two)."""

    def __init__(self, screen, index: int, disposition: str, reason: str = "") -> None:
        super().__init__()
        self.screen, self.run, self.index = screen, screen.run, index
        self.disposition, self.reason = disposition, reason


class CandidateDecided(Message):
    """The person took ("accepted") or dropped an expert's candidate test case."""

    def __init__(self, screen, index: int, disposition: str) -> None:
        super().__init__()
        self.screen, self.run, self.index, self.disposition = screen, screen.run, index, disposition


class CritiqueMarkedReviewed(Message):
    """A critique with no proposals: reviewed, nothing to change, for this reason."""

    def __init__(self, screen, reason: str) -> None:
        super().__init__()
        self.screen, self.reason = screen, reason


class SynthesisRetryAsked(Message):
    """After an empty synthesis: ask it again (the experts' answers come from the cache)."""

    def __init__(self, screen) -> None:
        super().__init__()
        self.screen = screen


class CritiqueLeftToPerson(Message):
    """After an empty synthesis: the person writes the changes themselves."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit
