"""Live validation and what it redraws: a thread worker checks a snapshot of the buffers and posts
ProjectChecked; the app applies the newest one to the artifact list, the findings, the status
line and the token meter. Typing schedules a check after a short quiet spell."""

from __future__ import annotations

from textual import work

from ...core.project.project import Project
from ..messages import ArtifactEdited, ProjectChecked, Snapshot
from ..widgets.artifact_list import ArtifactList
from ..widgets.findings import FindingsPane
from ..widgets.status_bar import StatusBar
from ..widgets.token_meter import TokenMeter

VALIDATE_DELAY = 0.15  # seconds of quiet typing before diagnostics refresh
NARROW = 140  # columns below which the side panes collapse (the editor keeps ~60 columns)
# the buffers that shape a conversation: the meter follows them as you type
METER_INPUTS = ("system-prompt", "personas", "taxonomy", "settings", "assistant", "model-choice")


class Checking:
    """Mixed into FtdApp: validation, and drawing its results."""

    METER_INPUTS = METER_INPUTS

    # ------------------------------------------------------------------ the check
    def _check(self, project: Project | None, buffers: dict[str, str], generation: int) -> None:
        from ...core.economics.overview import counter_for
        from ...core.rules.checks import check_project
        from ...core.rules.gates import compute_gates

        if project is None:
            project = Project.load(self.root)
        view = project.overlay(buffers) if buffers else project
        result = check_project(view)
        counter = self.counter or counter_for(view)  # loads the tokenizer here, off the UI thread
        self.post_message(ProjectChecked(Snapshot(project, result, compute_gates(view, result), generation, counter)))

    @work(thread=True, exclusive=True, group="validate")
    def validate(self, project: Project | None, buffers: dict[str, str], generation: int) -> None:
        self._check(project, buffers, generation)

    def dirty_buffers(self) -> dict[str, str]:
        return {aid: ed.text for aid, ed in self.editors.items() if ed.dirty}

    def schedule_validation(self) -> None:
        if self._validate_timer is not None:
            self._validate_timer.stop()
        self._validate_timer = self.set_timer(VALIDATE_DELAY, self._start_validation)

    def _start_validation(self) -> None:
        if self.project is None:
            return
        self.generation += 1
        # until the first full check lands, the worker loads and parses the project itself
        self.validate(self.project if self.snapshot is not None else None, self.dirty_buffers(), self.generation)

    def on_project_checked(self, message: ProjectChecked) -> None:
        from textual.css.query import NoMatches

        # a check that finishes while the app is closing (exit, or a test's teardown that never calls
        # exit): its widgets are gone, nothing to show
        if not self.default_screen.query("#meter"):
            return
        try:
            self._apply_snapshot(message)
        except NoMatches:
            if not getattr(self, "_exit", False) and self.default_screen.query("#meter"):
                raise

    def _apply_snapshot(self, message: ProjectChecked) -> None:
        snap = message.snapshot
        if snap.generation < self.generation:
            return  # an older view of the buffers: a newer check is on its way
        first = self.snapshot is None
        self.project = snap.project
        self.snapshot = snap
        if snap.counter is not None:
            self.counter = snap.counter
        self.estimate = snap.result.facts.get("tokens")
        self.refresh_meter()
        self.refresh_artifact_labels()
        self.refresh_status()
        self.refresh_diagnostics()
        if first:
            self.offer_drafts()
            if self.start_in_review:
                self.action_review()

    # ------------------------------------------------------------------ drawing it
    def refresh_artifact_labels(self) -> None:
        if self.project is None:
            return
        self.query_one("#artifacts", ArtifactList).show(self.project, self.snapshot, self.editors)

    def artifact_labels(self) -> dict[str, str]:
        return self.query_one("#artifacts", ArtifactList).labels()

    def refresh_status(self) -> None:
        # the settings are parsed with the first check, after the first frame: no hosts before it
        hosts = self.session.hosts(self.session.project_settings(self.project)) if self.snapshot is not None else []
        self.query_one("#status", StatusBar).show(gates=self.snapshot.gates if self.snapshot is not None else None,
                                       progress=self.critique_progress(), current=self.editors.get(self.current or ""),
                                       n_dirty=sum(1 for e in self.editors.values() if e.dirty), review=self.review,
                                       hosts=hosts)

    def refresh_diagnostics(self) -> None:
        if self.snapshot is None or self.current is None:
            return
        lf = self.snapshot.project.files[self.current]
        self.query_one("#diagnostics", FindingsPane).show(self.snapshot.result.diagnostics, lf.rel)

    @property
    def shown_findings(self) -> list:
        return self.query_one("#diagnostics", FindingsPane).shown

    def findings_shown(self) -> list[str]:
        return self.query_one("#diagnostics", FindingsPane).texts()

    # ------------------------------------------------------------------ the token meter
    def recount(self) -> None:
        """The meter follows the buffers that shape a conversation, on the next frame."""
        if self.counter is None or self.project is None or self.snapshot is None:
            return
        from ...core.economics.overview import project_estimate

        buffers = {a: t for a, t in self.dirty_buffers().items() if a in METER_INPUTS}
        view = self.project.overlay(buffers) if buffers else self.project
        try:
            self.estimate, _ = project_estimate(view, self.counter)
        except Exception:  # half-typed YAML fails in many ways: keep the last good figures until it parses
            return
        self.refresh_meter()

    def refresh_meter(self) -> None:
        self.query_one("#meter", TokenMeter).show(self.counter, self.estimate, wide=self.size.width >= NARROW)

    def on_artifact_edited(self, message: ArtifactEdited) -> None:
        if message.artifact_id in METER_INPUTS:
            self.call_after_refresh(self.recount)
        self.refresh_status()
        self.refresh_artifact_labels()
        self.schedule_validation()
        self.schedule_draft(message.artifact_id)

    artifact_edited = on_artifact_edited  # the name benchmarks/app_speed.py calls
