"""The Textual app: a pane per artifact, live validation, exact saves, keyboard first.

This module is the wiring only: the user config and themes, the keymap, the crash handler and
the signals, and the workspace's layout. What the workspace does lives by concern in
``workspace/`` (checking, editing, saving, panes, model roles, the baseline and critique flows),
each a mixin of FtdApp; the panes are widgets in ``widgets/`` that draw themselves from the data
they are given; every key, palette entry and help line comes from ``actions.py``; domain work
(settings in force, approval, the door, decisions, reports, labels, hashes) is the
ProjectSession's, which the screens reach as ``app.session``.

Background work never touches widgets: validation runs in a thread worker over a snapshot
of the buffers and posts ProjectChecked; the app alone applies it (the Harlequin habit).
Nothing the user typed is lost: every dirty buffer is kept as a draft in the state folder,
saves are atomic and refuse to overwrite a file that changed on disk, and a crash writes
drafts before it exits."""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import ContentSwitcher, Footer, OptionList, Static

from ..core.project.drafts import DraftStore
from ..core.project.project import Project
from ..core.text.textsafe import clean, clean_line
from ..core.user.dirs import state_dir
from ..core.user.prefs import load_prefs
from ..services.session import ProjectSession
from . import actions
from .messages import ArtifactEdited, ProjectChecked, Snapshot
from .modals.dialogs import NewProjectScreen
from .widgets.artifact_editor import ArtifactEditor
from .widgets.artifact_list import ArtifactList
from .widgets.findings import FindingsPane
from .widgets.status_bar import StatusBar
from .widgets.token_meter import meter_text
from .workspace.baseline_flow import BaselineFlow
from .workspace.checking import NARROW, VALIDATE_DELAY, Checking
from .workspace.critique_flow import CritiqueFlow
from .workspace.editing import HIGHLIGHT_LIMIT, Editing
from .workspace.model_roles import ModelRoles
from .workspace.panes import Panes
from .workspace.saving import POLL_INTERVAL, Saving


class FtdApp(Checking, Editing, Saving, Panes, ModelRoles, BaselineFlow, CritiqueFlow, App):
    TITLE = "ftd"
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = actions.bindings()
    # Letter keys are not priority bindings: the editor consumes printable keys, so they act
    # only when focus is outside an editable editor.

    def __init__(self, root: Path, *, is_project: bool = True, theme: str | None = None, review: bool = False) -> None:
        super().__init__()
        self.root = Path(root)
        self.is_project = is_project
        self.requested_theme = theme
        self.start_in_review = review
        self.project: Project | None = None
        self.snapshot: Snapshot | None = None
        self.current: str | None = None
        self.editors: dict[str, ArtifactEditor] = {}
        self.generation = 0
        self._validate_timer = None
        self._draft_timers: dict[str, object] = {}
        self._drafts_offered = False
        self.config, self.config_problems = load_prefs()
        self.session = self._session()
        self.drafts = DraftStore(state_dir(), self.root)
        try:
            self.drafts.set_aside_all()  # an earlier session's drafts wait for the user's decision
        except OSError:
            pass
        self.review = False
        self.ready = False
        self.counter = None  # the token counter, once the worker has loaded it
        self._critique_screen = None
        self.estimate = None
        self.theme_problems = self._choose_theme()

    def _session(self) -> ProjectSession:
        return ProjectSession(self.root, getattr(self.config, "models", None))  # the user's own models: trusted

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Grid(id="main"):
            yield ArtifactList()
            with ContentSwitcher(id="editors"):
                yield Static(Text("Loading the project…"), id="placeholder")
            yield FindingsPane()
        yield Footer()

    def _choose_theme(self) -> list[str]:
        """Register the themes and pick one before the stylesheet is first built: switching
        later would rebuild every style (tens of milliseconds at start-up)."""
        from .themes import DEFAULT_THEME, load_themes

        themes, problems = load_themes()
        for theme in themes:
            self.register_theme(theme)
        names = {t.name for t in themes} | set(self.available_themes)
        wanted = self.requested_theme or self.config.theme or DEFAULT_THEME
        if wanted in names:
            self.theme = wanted
        else:
            fallback = DEFAULT_THEME if DEFAULT_THEME in names else self.theme
            problems.append(f"theme '{clean_line(wanted)}' not found; using {fallback}")
            self.theme = fallback
        return problems

    def on_mount(self) -> None:
        problems = list(self.config_problems) + self.theme_problems
        if self.config.keymap:
            known = {b.id for b in self._all_bindings() if b.id}
            unknown = [k for k in self.config.keymap if k not in known]
            if unknown:
                problems.append("keymap names unknown binding ids: " + ", ".join(clean_line(u) for u in unknown))
            self.set_keymap({k: v for k, v in self.config.keymap.items() if k in known})
        if problems:
            self.notify("\n".join(problems[:8]) + ("\n…" if len(problems) > 8 else ""), title="Settings problems — using defaults",
                        severity="warning", timeout=12, markup=False)
        self._apply_width(self.size.width)
        if not self.is_project:
            self.offer_new_project()
            return
        self.show_project_now()

    def show_project_now(self) -> None:
        """Draw the files as they are on disk at once (reading them takes a few ms); the
        checks, the highlighting and the disk watch start after the first frame."""
        try:
            self.project = Project.load(self.root, parse=False)
        except Exception as exc:  # ProjectError, or a folder that vanished or cannot be read: said in the status line
            self.query_one("#status", StatusBar).show_problem(f"cannot read the project: {exc}")
            return
        self.refresh_artifact_labels()
        start = "rubric" if self.project.files["rubric"].exists else "settings"
        self.open_artifact(start, focus=True, highlight=False)
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        self.ready = True
        for ed in self.editors.values():
            ed.apply_deferred_language()
        self.generation += 1
        self.validate(None, self.dirty_buffers(), self.generation)  # None: load and parse in the worker
        self.set_interval(POLL_INTERVAL, self.poll_disk)

    def _all_bindings(self):
        """Every binding a user keymap may name: the app's and its panes' own."""
        out = list(self.BINDINGS)
        for cls in (ArtifactEditor, OptionList, ArtifactList, FindingsPane):
            out.extend(b for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding))
        return out

    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        for widget in (self.query_one("#main"), self.query_one("#status")):
            widget.set_class(width < NARROW, "narrow")

    # ------------------------------------------------------------------ crashing
    def _handle_exception(self, error: Exception) -> None:
        # Textual's crash screen prints local variables: in a shared tmux everyone would see
        # them. One plain line on screen; the redacted traceback in a file; drafts first.
        from ..core.text.redact import redact, write_crash_report

        try:
            self.write_all_drafts()
        except Exception:  # already crashing: a draft that cannot be written must not hide the first error
            pass
        try:
            path = write_crash_report(error, state_dir() / "crashes")
            where = f"details: {path}"
        except OSError:
            where = "the crash report could not be written"
        line = redact(clean_line(f"ftd stopped on an internal error ({type(error).__name__}). "
                                 f"Unsaved work is kept as drafts; {where}"))
        self._return_code = 1
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self._exit_renderables.append(Text(line))
        self._close_messages_no_wait()

    # ------------------------------------------------------------------ a folder that is not a project
    def offer_new_project(self) -> None:
        from ..core.project.templates import create_project, template_names

        descriptions = {"wellbeing-coaching": "text-based wellbeing coaching (the published example's domain)",
                        "software-support": "customer support for a SaaS product",
                        "math-tutoring": "math tutoring for teenagers", "blank": "empty files with commented guidance"}
        choices = [(n, descriptions.get(n, "")) for n in template_names()]

        def chosen(name: str | None) -> None:
            if name is None:
                self.exit()
                return
            target = self.root if not self.root.exists() or not any(self.root.iterdir()) else self.root / name
            try:
                create_project(target, name)
            except Exception as exc:  # a folder not writable, a name taken, …: said, and asked again
                self.notify(clean_line(str(exc)), severity="error", markup=False)
                self.offer_new_project()
                return
            self.root = target
            self.session = self._session()
            self.drafts = DraftStore(state_dir(), self.root)
            self.is_project = True
            self.notify(f"created {target} from '{name}'", markup=False)
            self.show_project_now()

        self.push_screen(NewProjectScreen(str(self.root), choices), chosen)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield from actions.system_commands(self)


def create_app(root: Path, *, is_project: bool = True, theme: str | None = None, review: bool = False) -> FtdApp:
    return FtdApp(root, is_project=is_project, theme=theme, review=review)


def run(root: Path, *, is_project: bool = True, theme: str | None = None, review: bool = False) -> int:
    import signal

    app = create_app(root, is_project=is_project, theme=theme, review=review)

    def hung_up(signum, frame) -> None:
        # A dropped SSH session or a closed tmux pane: keep every unsaved buffer, then leave at
        # once. The terminal is gone, so there is nothing to restore, and a normal exit would
        # wait on it forever (the input thread spins on a closed tty).
        try:
            app.write_all_drafts()
        finally:
            os._exit(128 + signum)

    def terminated(signum, frame) -> None:
        # kill from another shell: the terminal is still there, so exit cleanly if we can
        try:
            app.write_all_drafts()
        finally:
            import threading

            threading.Timer(3.0, os._exit, [128 + signum]).start()
            app.call_later(app.exit, return_code=128 + signum)

    signal.signal(signal.SIGHUP, hung_up)
    signal.signal(signal.SIGTERM, terminated)
    app.run()
    return app.return_code or 0


# names other modules and the benchmarks import from here
__all__ = ["FtdApp", "create_app", "run", "clean", "ArtifactEdited", "ProjectChecked", "Snapshot", "ArtifactEditor",
           "meter_text", "HIGHLIGHT_LIMIT", "NARROW", "VALIDATE_DELAY", "POLL_INTERVAL"]
