"""Moving between the panes and looking around: help for the focused pane, the gates, the token
report, review mode, show/hide/maximize a pane, copy a pane, Escape back to the editor."""

from __future__ import annotations

from textual import work
from textual.widgets import OptionList, TextArea

from ...core.project.project import Project
from .. import actions
from ..modals.dialogs import GatesScreen, HelpScreen
from ..widgets.artifact_editor import ArtifactEditor
from ..widgets.artifact_list import ArtifactList
from ..widgets.findings import FindingsPane


class Panes:
    """Mixed into FtdApp: the actions about panes rather than about a file."""

    def action_help(self) -> None:
        focused = self.focused
        if isinstance(focused, (ArtifactEditor, ArtifactList, FindingsPane)):
            pane, rows = focused.HELP_PANE, focused.HELP_ROWS
        elif isinstance(focused, OptionList):  # a list on another screen: as the findings (as it always was)
            pane, rows = FindingsPane.HELP_PANE, FindingsPane.HELP_ROWS
        else:
            pane, rows = "ftd", []
        self.push_screen(HelpScreen(f"Help — {pane}", actions.help_intro(self),
                                    [(f"In {pane}", list(rows)), ("Everywhere", actions.help_rows(self))]))

    def action_gates(self) -> None:
        if self.snapshot is None:
            return

        def opened(artifact_id: str | None) -> None:
            if artifact_id:
                self.open_artifact(artifact_id, focus=True)

        self.push_screen(GatesScreen(self.snapshot.gates), opened)

    def action_tokens(self) -> None:
        from ..modals.dialogs import TokensScreen

        if self.project is None or self.snapshot is None:
            return
        screen = TokensScreen()
        self.push_screen(screen)
        self.compute_token_report(screen, self.project.overlay(self.dirty_buffers()), self.counter)

    @work(thread=True, exclusive=True, group="tokens")
    def compute_token_report(self, screen, view: Project, counter) -> None:
        from ...core.economics.estimate import inputs_from
        from ...core.economics.overview import chosen_model, project_costs, project_estimate, report_lines

        est, counter = project_estimate(view, counter)
        if est is None:
            problems = inputs_from(view.files, {}, None).problems
            lines = ["No estimate yet: " + "; ".join(problems or ["the persona template and the taxonomy are needed"])]
        else:
            lines = report_lines(est, project_costs(view, est, counter), chosen_model(view)[0])
        self.call_from_thread(screen.show, lines)

    def action_review(self) -> None:
        from ..screens.review import ReviewScreen

        if self.snapshot is None:
            return
        self.review = True
        for ed in self.editors.values():
            ed.read_only = True
        self.refresh_status()

        def left(_: object) -> None:
            self.review = False
            for aid, ed in self.editors.items():
                lf = self.project.files[aid]
                ed.read_only = lf.exists and lf.text is None
            self.refresh_status()

        self.push_screen(ReviewScreen(), left)

    def action_toggle_artifacts(self) -> None:
        lv = self.query_one("#artifacts")
        main = self.query_one("#main")
        if main.has_class("narrow"):
            main.toggle_class("show-artifacts")
            if main.has_class("show-artifacts"):
                lv.focus()
        else:
            main.toggle_class("hide-artifacts")

    def action_maximize_pane(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        target = self.focused
        while target is not None and target.parent is not None and target.id not in ("artifacts", "diagnostics") \
                and not isinstance(target, ArtifactEditor):
            target = target.parent
        if target is not None:
            self.screen.maximize(target, container=False)

    def action_focus_artifacts(self) -> None:
        main = self.query_one("#main")
        if main.has_class("narrow"):
            main.add_class("show-artifacts")
        self.query_one("#artifacts").focus()

    def action_focus_diagnostics(self) -> None:
        self.query_one("#diagnostics").focus()

    def action_focus_editor(self) -> None:
        if self.current in self.editors:
            self.editors[self.current].focus()

    def action_back(self) -> None:
        main = self.query_one("#main")
        if self.screen.maximized is not None:
            self.screen.minimize()
        elif main.has_class("show-artifacts"):
            main.remove_class("show-artifacts")
            self.action_focus_editor()
        elif not isinstance(self.focused, ArtifactEditor):
            self.action_focus_editor()

    def action_copy_pane(self) -> None:
        focused = self.focused
        if isinstance(focused, TextArea):
            text = focused.selected_text or focused.text
        elif isinstance(focused, OptionList):
            text = "\n".join(str(focused.get_option_at_index(i).prompt) for i in range(focused.option_count))
        else:
            return
        self.copy_to_clipboard(text)
        self.notify(f"copied {len(text):,} characters to the clipboard (OSC 52)", timeout=3, markup=False)
