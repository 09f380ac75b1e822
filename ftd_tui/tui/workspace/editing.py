"""Opening artifacts into editors, moving between them, and exact edits into a buffer: the one
place that knows which editor holds which artifact."""

from __future__ import annotations

import os
import shlex
import subprocess

from rich.text import Text
from textual.widgets import ContentSwitcher, OptionList

from ...core.text.textsafe import clean_line
from ..modals.dialogs import DiffScreen
from ..widgets.artifact_editor import ArtifactEditor
from ..widgets.artifact_list import ArtifactList

HIGHLIGHT_LIMIT = 3000  # lines; tree-sitter re-highlights the whole document per keystroke


class Editing:
    """Mixed into FtdApp: the editors, one per opened artifact."""

    def open_artifact(self, artifact_id: str, *, focus: bool = False, highlight: bool = True) -> None:
        if self.project is None:
            return
        lf = self.project.files[artifact_id]
        editor = self.editors.get(artifact_id)
        switcher = self.query_one("#editors", ContentSwitcher)
        if editor is None:
            unreadable = lf.exists and lf.text is None
            text = lf.text if lf.text is not None else ""
            lines = text.count("\n") + 1
            language = ("yaml" if lf.spec.kind == "yaml" else "markdown") if lines <= HIGHLIGHT_LIMIT else None
            editor = ArtifactEditor(artifact_id, text, language=language if highlight else None, bom=lf.bom,
                                    stamp=lf.stamp, read_only=unreadable or self.review)
            if not highlight:
                editor.deferred_language = language  # parsed after the first frame
            title = Text(clean_line(lf.rel))
            if language is None:
                title.append(f"  (highlighting off past {HIGHLIGHT_LIMIT:,} lines)", style="dim")
            if unreadable:
                title.append("  (cannot be edited here: see its findings)", style="bold red")
            elif not lf.exists:
                title.append("  (new file: saving creates it)", style="dim")
            editor.border_title = title
            self.editors[artifact_id] = editor
            switcher.mount(editor)
        self.current = artifact_id
        switcher.current = editor.id
        self.query_one("#artifacts", ArtifactList).point_at(artifact_id)
        self.refresh_diagnostics()
        self.refresh_status()
        if focus:
            editor.focus()

    # the artifact list and the findings are OptionLists: their choices arrive here
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "artifacts":
            self.open_artifact(event.option.id, focus=True)
        elif event.option_list.id == "diagnostics":
            self.jump_to(event)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id != "artifacts":
            return
        # the list highlights its first item while mounting; only the user's moves count
        if self.ready and event.option.id != self.current and self.project is not None:
            from textual.css.query import NoMatches

            lst = event.option_list
            if lst.highlighted is not None and lst.get_option_at_index(lst.highlighted).id != event.option.id:
                return  # stale: several artifacts were opened in a row by ftd itself
            try:
                self.open_artifact(event.option.id)
            except NoMatches:  # a highlight that arrives while the app is closing
                pass

    def jump_to(self, event: OptionList.OptionSelected) -> None:
        d = event.option_list.finding(event.option.id)
        if d is None or self.current not in self.editors:
            return
        editor = self.editors[self.current]
        editor.move_cursor((d.line - 1, max(0, d.column - 1)), center=True)
        editor.focus()

    # ------------------------------------------------------------------ buffers
    def buffer_text(self, artifact_id: str) -> str:
        ed = self.editors.get(artifact_id)
        return ed.text if ed is not None else (self.project.files[artifact_id].text or "")

    def _replace_buffer(self, ed: ArtifactEditor, new: str) -> None:
        """Only the changed middle, as one undoable edit: the cursor and the rest stay put."""
        ed.replace_changed(new)

    def action_revert(self) -> None:
        if self.current in self.editors:
            ed = self.editors[self.current]
            self.reload_editor(ed, self.project.reload(self.current), announce=False)
            self.notify(f"reverted {self.project.files[self.current].rel} to the file on disk", markup=False)
            self.schedule_validation()

    def action_diff_with_disk(self) -> None:
        if self.current in self.editors:
            ed = self.editors[self.current]
            lf = self.project.files[self.current]
            self.push_screen(DiffScreen(f"{lf.rel}: on disk → editor", ed.saved_text, ed.text, "on disk", "editor"))

    def action_external_editor(self) -> None:
        if self.current is None or self.project is None:
            return
        ed = self.editors.get(self.current)
        lf = self.project.files[self.current]
        if ed is not None and ed.dirty and not self.save_artifact(self.current):
            return
        editor = self.config.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            with self.suspend():
                subprocess.call([*shlex.split(editor), str(lf.abspath)])
        except Exception as exc:  # SuspendNotSupported under test drivers and some terminals, or no such editor
            self.notify(f"cannot hand the terminal to {editor}: {type(exc).__name__}", severity="error", markup=False)
            return
        self.poll_disk()
