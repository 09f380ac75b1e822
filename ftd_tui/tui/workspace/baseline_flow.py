"""F5 and what follows it: the baseline screen, the calibration self-test, and the buffers its
screens change (a reviewer's labels as rubric examples; the report pane reloaded once a screen
wrote the report through the session)."""

from __future__ import annotations

from ...core.text.textsafe import clean_line
from ...services.session import SessionError
from ..messages import LabelsExported, ReportWritten


class BaselineFlow:
    """Mixed into FtdApp: opening the run screens, and applying what they report."""

    def action_run_baseline(self, smoke: bool = False) -> None:
        """F5 from anywhere: the run screen (forecast, or the run in progress, or its results)."""
        from ..screens.baseline import BaselineScreen

        if self.project is None or isinstance(self.screen, BaselineScreen):
            return
        merged, settings = self.model_settings()
        if self.ask_approval(settings, lambda: self.action_run_baseline(smoke)):
            self.push_screen(BaselineScreen(merged, smoke=smoke, unsaved=self.unsaved), lambda _: self.poll_disk())

    def action_calibrate(self) -> None:
        """The judges' self-test on the rubric's own examples (leave-one-out)."""
        from ..screens.calibration import CalibrationScreen

        if self.project is None or isinstance(self.screen, CalibrationScreen):
            return
        merged, settings = self.model_settings()
        if self.ask_approval(settings, self.action_calibrate):
            self.push_screen(CalibrationScreen(merged))

    def unsaved(self, artifact_id: str) -> bool:
        """Whether the artifact's pane has edits not on disk (a screen writing the file asks first)."""
        ed = self.editors.get(artifact_id)
        return ed is not None and ed.dirty

    def on_report_written(self, message: ReportWritten) -> None:
        self.poll_disk()  # the report's pane shows the file as written

    def on_labels_exported(self, message: LabelsExported) -> None:
        """A person's labels on one conversation as candidate calibration examples in the rubric
        buffer (the session builds them; you save)."""
        if not message.labels:
            self.notify("label some criteria first (y / n / a)", markup=False)
            return
        try:
            new, added = self.session.calibration_examples(self.buffer_text("rubric"), message.run_dir,
                                                           message.conv_id, message.labels)
        except SessionError as exc:
            self.notify(clean_line(str(exc)), severity="error", markup=False)
            return
        if not added:
            return
        self.open_artifact("rubric")
        ed = self.editors.get("rubric")
        if ed is None:
            return
        self._replace_buffer(ed, new)
        self.notify(f"{added} candidate example(s) added to the rubric as UNREVIEWED: type them to count "
                    "(the rubric's buffer; save to keep)", markup=False, timeout=8)
