"""The Textual app: a pane per artifact, live validation, exact saves, keyboard first.

Background work never touches widgets: validation runs in a thread worker over a snapshot
of the buffers and posts ProjectChecked; the app alone applies it (the Harlequin habit).
Nothing the user typed is lost: every dirty buffer is kept as a draft in the state folder,
saves are atomic and refuse to overwrite a file that changed on disk, and a crash writes
drafts before it exits."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.message import Message
from textual.widgets import ContentSwitcher, Footer, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from ..core.text.diffing import summary
from ..core.project.drafts import Draft, DraftStore
from ..core.project.project import ARTIFACTS, BY_ID, Project
from ..core.project.storage import ConflictError, FileStamp, ReadOnlyError, file_changed, save_atomic
from ..core.text.textsafe import clean, clean_line
from ..core.user.dirs import state_dir
from ..core.user.prefs import load_prefs
from .modals.dialogs import Choice, DiffScreen, DraftsScreen, GatesScreen, HelpScreen, NewProjectScreen

HIGHLIGHT_LIMIT = 3000  # lines; tree-sitter re-highlights the whole document per keystroke
NARROW = 140  # columns below which the side panes collapse (the editor keeps ~60 columns)
VALIDATE_DELAY = 0.15  # seconds of quiet typing before diagnostics refresh
POLL_INTERVAL = 1.0  # seconds between looks at the files on disk


@dataclass
class Snapshot:
    project: Project
    result: object
    gates: list
    generation: int
    counter: object = None


class ProjectChecked(Message):
    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class ArtifactEdited(Message):
    def __init__(self, artifact_id: str) -> None:
        super().__init__()
        self.artifact_id = artifact_id


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _picture(m: re.Match) -> str:
    code = ord(m.group(0))
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟ (␛ for ESC)
    return "\u2421" if code == 0x7F else "\ufffd"


class ArtifactEditor(TextArea):
    """One artifact's buffer, with what is on disk beside it."""

    def __init__(self, artifact_id: str, text: str, *, language: str | None, bom: bool, stamp: FileStamp | None,
                 read_only: bool) -> None:
        # built empty, then loaded: TextArea's constructor re-wraps its text several times
        # (~20 ms on a 2,400-line rubric against ~7 ms for one load)
        super().__init__("", language=language, soft_wrap=False, show_line_numbers=True, tab_behavior="indent",
                         read_only=read_only, id=f"editor-{artifact_id}", theme="css")
        self.load_text(text)
        self.indent_width = 2
        self.artifact_id = artifact_id
        self.saved_text = text
        self.bom = bom
        self.stamp = stamp
        self.asked_about: FileStamp | None = None  # the disk version we already asked about
        self.deferred_language: str | None = None

    @property
    def dirty(self) -> bool:
        return self.text != self.saved_text

    def apply_deferred_language(self) -> None:
        """Turn on the highlighting held back for the first frame. Setting ``language`` rebuilds
        the document and puts the cursor at (0, 0); whatever the user typed or selected before
        this landed must stay where they put it (on a loaded machine the first keys can beat it,
        and the rest of a typed line then went in above the start of it)."""
        if not self.deferred_language:
            return
        selection, scroll = self.selection, self.scroll_offset
        self.language, self.deferred_language = self.deferred_language, None
        self.selection = selection
        self.scroll_to(scroll.x, scroll.y, animate=False)

    def render_line(self, y: int):
        # The document keeps every byte (what is saved is what was read), but a control
        # character must never reach the terminal: an OSC 52 in a prompt file could rewrite
        # the clipboard. Show each as its Unicode control picture instead.
        strip = super().render_line(y)
        if not any(_CONTROL.search(seg.text) for seg in strip if not seg.control):
            return strip
        from rich.segment import Segment
        from textual.strip import Strip

        safe = Strip([Segment(_CONTROL.sub(_picture, seg.text), seg.style) for seg in strip if not seg.control])
        return safe.crop(0, self.size.width)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.post_message(ArtifactEdited(self.artifact_id))


TIER_STYLE = {"cheapest": "green", "cost-effective": "green", "expensive": "yellow", "very expensive": "bold red"}


def _disk_text(root: Path, rel: str) -> str:
    """The file on disk, for the conflict diff: read only inside the project and only a regular
    file (a FIFO would hang the app, a symlink out would show a file from outside it)."""
    from ..core.project.boundary import FileRefused, read_inside

    try:
        return read_inside(root, rel).decode("utf-8", errors="replace").lstrip("\ufeff")
    except FileRefused:
        return ""


def _k(n: int) -> str:
    return f"{n / 1000:.1f}K" if n >= 1000 else str(n)


def meter_text(est, wide: bool = True) -> Text:
    """▕████░░░░░░▏ p95 6.9K/16.4K ≈ cost-effective: the p95 conversation against the budget,
    the context window when there is room, the tier as a word and a colour, ≈ when approximate."""
    p95 = est.transcript_tokens["p95"]
    budget = est.max_transcript_tokens
    approx = "" if est.exact else "≈"
    out = Text(" ")
    if not budget:
        out.append(f"p95 {approx}{_k(p95)} · no budget ", style="yellow")
        return out
    width = 10 if wide else 6
    filled = min(width, round(width * p95 / budget))
    over = p95 > budget
    style = "bold red" if over else TIER_STYLE.get(est.tier, "")
    out.append("▕")
    out.append("█" * filled, style=style)
    out.append("░" * (width - filled), style="dim")
    out.append("▏")
    out.append(f"{' p95 ' if wide else ''}{approx}{_k(p95)}/{_k(budget)}", style="bold red" if over else "")
    if over:
        out.append(" OVER", style="bold red")
    if wide and est.context_window:
        out.append(f" ctx {_k(est.context_window)}", style="dim")
    out.append(f" {est.tier} ", style=style)
    if wide:
        out.append(est.tokenizer.split(",")[0].lstrip("≈ ") + " ", style="dim")
    return out


SEVERITY_MARK = {"error": ("✗ error", "bold red"), "warning": ("! warn ", "yellow"), "info": ("i info ", "cyan")}


class FtdApp(App):
    TITLE = "ftd"
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("ctrl+s,f2", "save", "Save", id="save-artifact", priority=True),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("f1,ctrl+g", "help", "Help", id="help", priority=True),
        Binding("question_mark", "help", "Help", id="help-letter", show=False),
        Binding("ctrl+p,f9", "command_palette", "Palette", id="command-palette", show=False, priority=True),
        Binding("colon", "command_palette", "Palette", id="command-palette-letter", show=False),
        Binding("f3", "toggle_artifacts", "Files", id="toggle-artifacts", priority=True),
        Binding("f4", "external_editor", "$EDITOR", id="open-in-editor", show=False, priority=True),
        Binding("f5,ctrl+r", "run_baseline", "Baseline", id="run-baseline", show=False, priority=True),
        Binding("f6,ctrl+t", "run_critique", "Critique", id="run-critique", show=False, priority=True),
        Binding("f7", "gates", "Gates", id="show-gates", priority=True),
        Binding("g", "gates", "Gates", id="show-gates-letter", show=False),
        Binding("f8", "review", "Review", id="review-mode", show=False, priority=True),
        Binding("f12,ctrl+o", "maximize_pane", "Maximize", id="maximize-pane", show=False, priority=True),
        Binding("m", "maximize_pane", "Maximize", id="maximize-pane-letter", show=False),
        Binding("a", "focus_artifacts", "Artifacts", id="focus-artifacts", show=False),
        Binding("d", "focus_diagnostics", "Diagnostics", id="focus-diagnostics", show=False),
        Binding("e", "focus_editor", "Editor", id="focus-editor", show=False),
        Binding("y", "copy_pane", "Copy", id="copy-pane", show=False),
        Binding("t,f10", "tokens", "Tokens", id="show-tokens", show=False),
        Binding("b", "models", "Base models", id="choose-model", show=False),
        Binding("escape", "back", "Back", id="back", show=False),
    ]
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
        self.drafts = DraftStore(state_dir(), self.root)
        try:
            self.drafts.set_aside_all()  # an earlier session's drafts wait for the user's decision
        except OSError:
            pass
        self.review = False
        self.ready = False
        self.shown_findings: list = []
        self.counter = None  # the token counter, once the worker has loaded it
        self._critique_screen = None
        self.estimate = None
        self.theme_problems = self._choose_theme()

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="status"):
            yield Static(Text("Next · checking the project…"), id="next")
            yield Static("", id="dirty")
            yield Static("", id="meter")  # the token-budget meter lives here
            yield Static("", id="hosts")
        with Grid(id="main"):
            yield OptionList(*[Option(Text(spec.path), id=spec.id) for spec in ARTIFACTS], id="artifacts")
            with ContentSwitcher(id="editors"):
                yield Static(Text("Loading the project…"), id="placeholder")
            yield OptionList(id="diagnostics")
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
        except Exception as exc:  # ProjectError, or a folder that vanished
            self.query_one("#next", Static).update(Text(clean_line(f"cannot read the project: {exc}"), style="bold red"))
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
        out = list(self.BINDINGS)
        for cls in (ArtifactEditor, OptionList):
            out.extend(b for b in getattr(cls, "BINDINGS", []) if isinstance(b, Binding))
        return out

    def on_resize(self, event) -> None:
        self._apply_width(event.size.width)

    def _apply_width(self, width: int) -> None:
        for widget in (self.query_one("#main"), self.query_one("#status")):
            widget.set_class(width < NARROW, "narrow")

    # ------------------------------------------------------------------ loading and checking
    def _check(self, project: Project | None, buffers: dict[str, str], generation: int) -> None:
        from ..core.rules.checks import check_project
        from ..core.rules.gates import compute_gates

        if project is None:
            project = Project.load(self.root)

        from ..core.economics.overview import counter_for

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

    @on(ProjectChecked)
    def apply_snapshot(self, message: ProjectChecked) -> None:
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

    def refresh_artifact_labels(self) -> None:
        if self.project is None:
            return
        snap = self.snapshot
        artifacts = self.query_one("#artifacts", OptionList)
        for spec in ARTIFACTS:
            lf = self.project.files[spec.id]
            ed = self.editors.get(spec.id)
            diags = snap.result.diagnostics if snap is not None else []
            errors = sum(1 for d in diags if d.file == lf.rel and d.severity == "error")
            warnings = sum(1 for d in diags if d.file == lf.rel and d.severity == "warning")
            if snap is None and lf.exists:
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
            artifacts.replace_option_prompt(spec.id, label)

    def artifact_labels(self) -> dict[str, str]:
        artifacts = self.query_one("#artifacts", OptionList)
        return {spec.id: str(artifacts.get_option(spec.id).prompt) for spec in ARTIFACTS}

    def refresh_status(self) -> None:
        if self.snapshot is not None:
            open_gate = next((g for g in self.snapshot.gates if not g.passed), None)
            if open_gate is None:
                line = "Next: all gates passed: start the generation phase"
            elif open_gate.step <= 7:
                line = f"Next · step {open_gate.step}: {open_gate.next_step}"
            else:
                line = f"Next · done: {open_gate.next_step}"
            self.query_one("#next", Static).update(Text(clean_line(line)))
        progress = self.critique_progress()
        if progress is not None:
            self.query_one("#next", Static).update(Text(clean_line(progress), style="bold"))
        ed = self.editors.get(self.current or "")
        dirty = self.query_one("#dirty", Static)
        n_dirty = sum(1 for e in self.editors.values() if e.dirty)
        if ed is not None and ed.dirty:
            dirty.update(Text(f" ● modified ({n_dirty} unsaved) ", style="bold yellow"))
        elif n_dirty:
            dirty.update(Text(f" {n_dirty} unsaved ", style="yellow"))
        elif ed is not None:
            dirty.update(Text(" saved ", style="green"))
        else:
            dirty.update("")
        if self.review:
            dirty.update(Text(" REVIEW · read-only ", style="bold reverse"))
        self.query_one("#hosts", Static).update(Text(self.hosts_label(), style="dim"))

    def hosts_label(self) -> str:
        """Where project text goes when a model is called: named in the status line (spec §9)."""
        from urllib.parse import urlparse

        from ..core.user.providers import iter_roles, provider_of

        if self.snapshot is None:
            return ""  # the settings are parsed with the first check, after the first frame
        lf = self.project.files["settings"] if self.project else None
        settings = lf.data if lf is not None and lf.readable and isinstance(lf.data, dict) else {}
        hosts = []
        for _, role in iter_roles(settings):
            model = role.get("model")
            if not isinstance(model, str):
                continue
            base = role.get("api_base")
            host = urlparse(base if "://" in str(base) else f"http://{base}").hostname if isinstance(base, str) else provider_of(model)
            if host and host not in hosts:
                hosts.append(host)
        return (" → " + ", ".join(hosts[:4]) + (" …" if len(hosts) > 4 else "") + " ") if hosts else ""

    def refresh_diagnostics(self) -> None:
        if self.snapshot is None or self.current is None:
            return
        lf = self.snapshot.project.files[self.current]
        panel = self.query_one("#diagnostics", OptionList)
        from ..core.rules.diagnostics import more_findings, per_file_shown

        found = [d for d in self.snapshot.result.diagnostics if d.file == lf.rel]
        index = panel.highlighted
        # a file with 50,000 findings renders its first ones and a count, not 50,000 options
        shown, hidden = per_file_shown(found)
        self.shown_findings = shown
        panel.border_title = Text(f"{len(found):,} finding(s) · {clean_line(lf.rel)}")
        options = []
        for i, d in enumerate(shown):
            word, style = SEVERITY_MARK[d.severity]
            label = Text()
            label.append(word, style=style)
            label.append(f" {d.line}:{d.column} {d.rule} ", style="dim")
            label.append(clean_line(d.message))
            if d.hint:
                label.append("\n        " + clean_line(d.hint), style="dim")
            options.append(Option(label, id=f"finding-{i}"))
        if hidden.get(lf.rel):
            options.append(Option(Text(more_findings(hidden[lf.rel], "fix these first, or run ftd check --all"), style="dim"),
                                  id="more", disabled=True))
        if not options:
            options.append(Option(Text("no findings", style="green"), id="none", disabled=True))
        panel.clear_options()
        panel.add_options(options)
        if index is not None and index < len(shown):
            panel.highlighted = index

    def findings_shown(self) -> list[str]:
        panel = self.query_one("#diagnostics", OptionList)
        return [str(panel.get_option_at_index(i).prompt) for i in range(panel.option_count)]

    # ------------------------------------------------------------------ opening artifacts
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
        artifacts = self.query_one("#artifacts", OptionList)
        index = artifacts.get_option_index(artifact_id)
        if artifacts.highlighted != index:
            artifacts.highlighted = index
        self.refresh_diagnostics()
        self.refresh_status()
        if focus:
            editor.focus()

    @on(OptionList.OptionSelected, "#artifacts")
    def artifact_selected(self, event: OptionList.OptionSelected) -> None:
        self.open_artifact(event.option.id, focus=True)

    @on(OptionList.OptionHighlighted, "#artifacts")
    def artifact_highlighted(self, event: OptionList.OptionHighlighted) -> None:
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

    @on(OptionList.OptionSelected, "#diagnostics")
    def jump_to(self, event: OptionList.OptionSelected) -> None:
        if not (event.option.id or "").startswith("finding-") or self.current not in self.editors:
            return
        d = self.shown_findings[int(event.option.id.removeprefix("finding-"))]
        editor = self.editors[self.current]
        editor.move_cursor((d.line - 1, max(0, d.column - 1)), center=True)
        editor.focus()

    # ------------------------------------------------------------------ editing
    METER_INPUTS = ("system-prompt", "personas", "taxonomy", "settings", "assistant", "model-choice")

    def recount(self) -> None:
        """The meter follows the buffers that shape a conversation, on the next frame."""
        if self.counter is None or self.project is None or self.snapshot is None:
            return
        from ..core.economics.overview import project_estimate

        buffers = {a: t for a, t in self.dirty_buffers().items() if a in self.METER_INPUTS}
        view = self.project.overlay(buffers) if buffers else self.project
        try:
            self.estimate, _ = project_estimate(view, self.counter)
        except Exception:  # half-typed YAML: keep the last good figures until it parses
            return
        self.refresh_meter()

    def refresh_meter(self) -> None:
        meter = self.query_one("#meter", Static)
        est = self.estimate
        if self.counter is None:
            meter.update(Text(" tokens: counting… ", style="dim"))
            return
        if est is None:
            meter.update(Text(" tokens: no estimate (t for why) ", style="dim"))
            return
        meter.update(meter_text(est, wide=self.size.width >= NARROW))

    @on(ArtifactEdited)
    def artifact_edited(self, message: ArtifactEdited) -> None:
        if message.artifact_id in self.METER_INPUTS:
            self.call_after_refresh(self.recount)
        self.refresh_status()
        self.refresh_artifact_labels()
        self.schedule_validation()
        self.schedule_draft(message.artifact_id)

    def schedule_draft(self, artifact_id: str) -> None:
        if not self.config.drafts:
            return
        timer = self._draft_timers.get(artifact_id)
        if timer is not None:
            timer.stop()
        self._draft_timers[artifact_id] = self.set_timer(self.config.draft_interval_s, lambda: self.write_draft(artifact_id))

    def write_draft(self, artifact_id: str) -> None:
        ed = self.editors.get(artifact_id)
        if ed is None or self.project is None:
            return
        if ed.dirty:
            try:
                self.drafts.save(artifact_id, self.project.files[artifact_id].rel,
                                 ed.stamp.sha256 if ed.stamp else None, ed.text)
            except OSError as exc:
                self.notify(f"could not keep a draft: {exc.strerror or exc}", severity="error", markup=False)
        else:
            self.drafts.discard(artifact_id)

    def write_all_drafts(self) -> None:
        if not self.config.drafts:
            return
        for aid, ed in self.editors.items():
            if ed.dirty:
                self.write_draft(aid)

    def action_save(self) -> None:
        if self.review:
            self.notify("review mode is read-only (F8 leaves it)", markup=False)
            return
        if self.current is None or self.current not in self.editors:
            return
        self.save_artifact(self.current)

    def save_artifact(self, artifact_id: str, *, force: bool = False) -> bool:
        ed = self.editors[artifact_id]
        lf = self.project.files[artifact_id]
        if ed.read_only:
            self.notify(f"{lf.rel} cannot be saved from here", severity="warning", markup=False)
            return False
        data = (("\ufeff" if ed.bom else "") + ed.text).encode("utf-8")
        if ed.stamp is None and lf.abspath.exists() and not force:
            self.resolve_conflict(artifact_id)  # created on disk since we looked: never overwrite it unseen
            return False
        try:
            stamp = save_atomic(lf.abspath, data, None if force else ed.stamp, create=force or ed.stamp is None)
        except ConflictError:
            self.resolve_conflict(artifact_id)
            return False
        except ReadOnlyError:  # never quietly replace a mode-444 file; the CLI asks for --force
            self.notify(f"{lf.rel} is read-only: not saved. Make it writable (chmod u+w {lf.rel}) and save again; "
                        "your text is kept (draft).", severity="error", markup=False)
            self.write_draft(artifact_id)
            return False
        except OSError as exc:
            self.notify(f"could not save {lf.rel}: {exc.strerror or exc}. Your text is kept (draft).", severity="error",
                        markup=False)
            self.write_draft(artifact_id)
            return False
        ed.saved_text = ed.text
        ed.stamp = stamp
        ed.asked_about = None
        self.drafts.discard(artifact_id)
        self.project.reload(artifact_id)
        self.notify(f"saved {lf.rel}", timeout=3, markup=False)
        self.refresh_status()
        self.refresh_artifact_labels()
        self.schedule_validation()
        return True

    # ------------------------------------------------------------------ outside edits
    def poll_disk(self) -> None:
        if self.project is None or self.snapshot is None:
            return
        changed = False
        for spec in ARTIFACTS:
            lf = self.project.files[spec.id]
            ed = self.editors.get(spec.id)
            stamp = ed.stamp if ed is not None else lf.stamp
            exists_now = lf.abspath.exists() or any((self.root / a).exists() for a in spec.aliases)
            if stamp is None and not exists_now:
                continue
            if stamp is not None and not file_changed(lf.abspath, stamp):
                continue
            if stamp is None and exists_now and lf.exists:
                continue
            new = self.project.reload(spec.id)
            changed = True
            if ed is None:
                continue
            if not ed.dirty:
                self.reload_editor(ed, new, announce=True)
            elif new.stamp != ed.asked_about:
                ed.asked_about = new.stamp
                self.resolve_conflict(spec.id)
        if changed:
            self.schedule_validation()

    def reload_editor(self, ed: ArtifactEditor, lf, *, announce: bool) -> None:
        cursor, scroll = ed.cursor_location, ed.scroll_offset
        text = lf.text if lf.text is not None else ""
        ed.load_text(text)
        ed.saved_text = text
        ed.stamp = lf.stamp
        ed.bom = lf.bom
        ed.asked_about = None
        last = max(0, ed.document.line_count - 1)
        ed.move_cursor((min(cursor[0], last), cursor[1]))
        ed.scroll_to(scroll.x, scroll.y, animate=False)
        self.drafts.discard(ed.artifact_id)
        if announce:
            what = "deleted on disk" if not lf.exists else "changed on disk"
            self.notify(f"reloaded {lf.rel}: {what}", timeout=4, markup=False)
        self.refresh_status()
        self.refresh_artifact_labels()

    def resolve_conflict(self, artifact_id: str) -> None:
        ed = self.editors[artifact_id]
        lf = self.project.files[artifact_id]
        disk = _disk_text(self.root, lf.rel)

        def answered(choice: str | None) -> None:
            if choice == "diff":
                self.push_screen(DiffScreen(f"{lf.rel}: on disk → yours", disk, ed.text, "on disk", "yours"),
                                 lambda _: self.resolve_conflict(artifact_id))
            elif choice == "theirs":
                self.reload_editor(ed, self.project.reload(artifact_id), announce=False)
                self.notify(f"took the version on disk of {lf.rel}", markup=False)
                self.schedule_validation()
            elif choice == "mine":
                # the next save replaces what is on disk, knowingly
                ed.stamp = FileStamp.of(lf.abspath, lf.abspath.read_bytes()) if lf.abspath.exists() else None
                self.notify(f"kept your version of {lf.rel}; saving will replace the one on disk", markup=False)

        self.push_screen(Choice(f"{lf.rel} changed on disk while you had unsaved edits.",
                                [("mine", "Keep mine", "k"), ("theirs", "Take theirs", "t"), ("diff", "Show diff", "d")],
                                f"yours: {summary(disk, ed.text)} compared with the file"), answered)

    # ------------------------------------------------------------------ drafts
    def offer_drafts(self) -> None:
        if self._drafts_offered or self.project is None:
            return
        self._drafts_offered = True
        items = []
        for draft in self.drafts.load_all():
            if draft.artifact_id not in BY_ID:
                continue
            lf = self.project.files[draft.artifact_id]
            disk = lf.text or ""
            if draft.text == disk:
                self.drafts.discard_draft(draft)  # its text is the file's: saved already
                continue
            moved_on = (lf.stamp.sha256 if lf.stamp else None) != draft.base_sha256
            items.append((draft, moved_on, summary(disk, draft.text), disk))
        if items:
            # "decide later" leaves every draft on disk: offered again at the next start
            self.push_screen(DraftsScreen(items, self.restore_draft, self.drafts.discard_draft))

    def restore_draft(self, draft: Draft) -> None:
        self.open_artifact(draft.artifact_id)
        ed = self.editors[draft.artifact_id]
        ed.load_text(draft.text)  # the saved text stays the file's: the buffer is dirty again
        try:
            self.drafts.adopt(draft)  # this session's draft now: updated as you type, gone once saved
        except OSError as exc:
            self.notify(f"the draft stays where it was: {exc.strerror or exc}", severity="warning", markup=False)
        self.notify(f"restored your draft of {draft.rel}; ctrl+s saves it", markup=False)
        self.refresh_status()
        self.refresh_artifact_labels()
        self.schedule_validation()

    # ------------------------------------------------------------------ quitting and crashing
    async def action_quit(self) -> None:
        dirty = [aid for aid, ed in self.editors.items() if ed.dirty]
        if not dirty:
            self.exit()
            return
        names = ", ".join(self.project.files[a].rel for a in dirty)

        def answered(choice: str | None) -> None:
            if choice == "save":
                if all(self.save_artifact(a) for a in dirty):
                    self.exit()
            elif choice == "discard":
                for a in dirty:
                    self.drafts.discard(a)
                self.exit()

        self.push_screen(Choice(f"Unsaved changes in {names}.",
                                [("save", "Save all and quit", "s"), ("discard", "Quit without saving", "x"),
                                 ("cancel", "Cancel", "c")]), answered)

    def _handle_exception(self, error: Exception) -> None:
        # Textual's crash screen prints local variables: in a shared tmux everyone would see
        # them. One plain line on screen; the redacted traceback in a file; drafts first.
        from ..core.text.redact import redact, write_crash_report

        try:
            self.write_all_drafts()
        except Exception:
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

    # ------------------------------------------------------------------ actions
    def action_help(self) -> None:
        focused = self.focused
        pane = "the editor" if isinstance(focused, ArtifactEditor) else "ftd"
        if isinstance(focused, OptionList):
            pane = "the artifact list" if focused.id == "artifacts" else "the findings"
        rows = []
        if isinstance(focused, ArtifactEditor):
            rows = [("type", "edit; 2-space indent, Tab indents", ""), ("ctrl+z / ctrl+y", "undo / redo", ""),
                    ("ctrl+x / ctrl+c / ctrl+v", "cut / copy (OSC 52) / paste", ""),
                    ("ctrl+s, F2", "save exactly what you see, atomically", "save-artifact")]
        elif isinstance(focused, OptionList) and focused.id == "artifacts":
            rows = [("↑ ↓", "choose an artifact", ""), ("Enter", "edit it", "")]
        elif isinstance(focused, OptionList):
            rows = [("↑ ↓", "choose a finding", ""), ("Enter", "jump to its line in the editor", "")]
        app_rows = []
        for b in self.BINDINGS:
            keys = ", ".join(self.get_key_display(Binding(k.strip(), b.action)) for k in self._keys_for(b))
            app_rows.append((keys, b.description or b.action, b.id or ""))
        self.push_screen(HelpScreen(f"Help — {pane}",
                                    "Letters (g, m, a, d, e, y, ?, :) work outside the editor. Every action is also in the "
                                    "palette (ctrl+p, F9, or : outside the editor).",
                                    [(f"In {pane}", rows), ("Everywhere", app_rows)]))

    def _keys_for(self, binding: Binding) -> list[str]:
        keymap = getattr(self, "_keymap", {}) or {}
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        return [k for k in keys.split(",") if k.strip()]

    def action_run_baseline(self, smoke: bool = False) -> None:
        """F5 from anywhere: the run screen (forecast, or the run in progress, or its results)."""
        from .screens.baseline import BaselineScreen

        if self.project is None or isinstance(self.screen, BaselineScreen):
            return
        merged, settings = self.model_settings()
        if self.ask_approval(settings, lambda: self.action_run_baseline(smoke)):
            self.push_screen(BaselineScreen(merged, smoke=smoke), lambda _: self.poll_disk())

    def ask_approval(self, settings: dict, then) -> bool:
        """True when the project's endpoints are approved; else ask, and on yes approve and call ``then``."""
        from ..core.user.trust import approval_title, approve, is_approved, needs_approval

        if is_approved(settings):
            return True

        def answered(choice: str | None) -> None:
            if choice == "approve":
                approve(settings, self.root)
                then()

        items = needs_approval(settings)  # each says what goes where, a key included
        self.push_screen(Choice(approval_title(items), [("approve", "Approve", "y"), ("cancel", "Cancel", "n")],
                                "\n".join(items)), answered)
        return False

    def action_models(self) -> None:
        """Step 1: the models ftd knows, their figures at this budget, and the choice."""
        from .screens.models import ModelsScreen

        if self.project is not None and not isinstance(self.screen, ModelsScreen):
            self.push_screen(ModelsScreen())

    def choose_model(self, model_id: str, entries: list[dict], method: str) -> bool:
        """Write the choice into ftd.yaml and model-choice.md (exact edits into their buffers);
        a file with no unsaved edits of yours is saved at once, one with edits is left for you."""
        from ..core.project.choose_model import set_base_model, update_model_choice

        target = None
        settings = self.project.files["settings"].ensure_parsed().data
        if isinstance(settings, dict) and isinstance(settings.get("deployment"), dict):
            target = settings["deployment"].get("target")
        changes = {"settings": lambda text: set_base_model(text, model_id),
                   "model-choice": lambda text: update_model_choice(text or None, model_id, entries, method, target)}
        left = []
        for aid, change in changes.items():
            self.open_artifact(aid)
            ed = self.editors.get(aid)
            if ed is None:
                return False
            was_clean = not ed.dirty
            try:
                new = change(ed.text)
            except Exception as exc:  # a front matter ftd cannot edit exactly: said, nothing half-written
                self.notify(f"could not update {self.project.files[aid].rel}: {clean_line(str(exc))}",
                            severity="error", markup=False)
                return False
            if new != ed.text:
                self._replace_buffer(ed, new)
                if was_clean:
                    self.save_artifact(aid)
                else:
                    left.append(self.project.files[aid].rel)
        self.notify(f"base model: {model_id}" + (f"; unsaved in {', '.join(left)} (your edits there were kept)"
                                                  if left else ""), markup=False)
        return True

    def action_calibrate(self) -> None:
        """The judges' self-test on the rubric's own examples (leave-one-out)."""
        from .screens.calibration import CalibrationScreen

        if self.project is None or isinstance(self.screen, CalibrationScreen):
            return
        merged, settings = self.model_settings()
        if self.ask_approval(settings, self.action_calibrate):
            self.push_screen(CalibrationScreen(merged))

    def refresh_report(self, summary: dict) -> str | None:
        """Regenerate the report's generated parts after a review session, when the report
        shows this run; the decision and the user's prose are kept."""
        from ..core.evaluation.report import update_report
        from ..core.text.markdown import parse_markdown
        from ..core.project.storage import ConflictError, FileStamp, save_atomic

        path = self.root / "base-model-eval-results.md"
        ed = self.editors.get("eval-results")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        text = data.decode("utf-8", errors="replace")
        doc = parse_markdown(text)
        fm = doc.front_matter.data if doc.front_matter is not None else None
        if not isinstance(fm, dict) or (fm.get("run") or {}).get("id") != summary.get("run"):
            return None  # the report shows another run: the labels stay in the run folder
        if ed is not None and ed.dirty:
            return "the report has unsaved edits in its pane: save or revert them, then reopen the results"
        try:
            new = update_report(text, summary)
            if new != text:
                save_atomic(path, new.encode("utf-8"), FileStamp.of(path, data))
        except (ConflictError, ValueError, OSError) as exc:
            return clean_line(str(exc))
        self.poll_disk()
        return None

    def export_examples(self, run_dir, conv_id: str, labels: dict[str, str]) -> int:
        """A person's labels on one conversation as candidate calibration examples in the rubric
        buffer: typed UNREVIEWED (they count once a person types them), suggested by the label."""
        from ..core.evaluation import runs
        from ..core.text.yamldoc import YamlDocument

        if not labels:
            self.notify("label some criteria first (y / n / a)", markup=False)
            return 0
        t = runs.read_json(run_dir / runs.TRANSCRIPTS / f"{conv_id}.json") or {}
        exchanges = t.get("exchanges") or []
        if not exchanges:
            return 0
        history = "\n".join(f"User: {e.get('user', '')}\nAssistant: {e.get('assistant', '')}" for e in exchanges[:-1])
        context = (history + "\n" if history else "") + f"User: {exchanges[-1].get('user', '')}"
        if len(context) > 1500:
            context = "…" + context[-1500:]
        response = str(exchanges[-1].get("assistant", ""))
        self.open_artifact("rubric")
        ed = self.editors.get("rubric")
        if ed is None:
            return 0
        try:
            doc = YamlDocument.from_text(ed.text)
            added = 0
            for cid, label in sorted(labels.items()):
                if not isinstance(doc.get(("criteria", cid)), dict):
                    continue
                example = {"type": "UNREVIEWED", "suggested_type": {"YES": "PASS", "NO": "FAIL", "NA": "NA"}[label],
                           "context": context, "response": response,
                           "reasoning": f"from human review of conversation {conv_id} in run {run_dir.name}: "
                                        f"the reviewer answered {label}; explain why before typing it"}
                if isinstance(doc.get(("criteria", cid, "calibration_examples")), list):
                    doc = doc.append(("criteria", cid, "calibration_examples"), example)
                else:
                    doc = doc.set(("criteria", cid, "calibration_examples"), [example], create=True)
                added += 1
        except Exception as exc:
            self.notify(f"could not add the examples: {clean_line(str(exc))}", severity="error", markup=False)
            return 0
        self._replace_buffer(ed, doc.text)
        return added

    def _replace_buffer(self, ed, new: str) -> None:
        """Only the changed middle, as one undoable edit: the cursor and the rest stay put."""
        old = ed.text
        start = 0
        while start < min(len(old), len(new)) and old[start] == new[start]:
            start += 1
        end = 0
        while end < min(len(old), len(new)) - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]:
            end += 1

        def loc(text: str, offset: int) -> tuple[int, int]:
            row = text.count("\n", 0, offset)
            return row, offset - (text.rfind("\n", 0, offset) + 1)

        ed.replace(new[start:len(new) - end], loc(old, start), loc(old, len(old) - end))

    def record_decision(self, decision: str, decided_by: str, rationale: str) -> str | None:
        """Write the person's decision into the report's front matter (an exact edit); an error
        message when it cannot be written safely."""
        import datetime as dt

        from ..core.evaluation.report import record_decision
        from ..core.project.storage import ConflictError, FileStamp, save_atomic

        ed = self.editors.get("eval-results")
        if ed is not None and ed.dirty:
            return "the report has unsaved edits in its pane: save or revert them first"
        path = self.root / "base-model-eval-results.md"
        try:
            data = path.read_bytes()
            new = record_decision(data.decode("utf-8"), decision, decided_by, rationale, dt.date.today().isoformat())
            save_atomic(path, new.encode("utf-8"), FileStamp.of(path, data))
        except FileNotFoundError:
            return "no report yet: the run writes base-model-eval-results.md when it finishes"
        except (ConflictError, ValueError, UnicodeDecodeError, OSError) as exc:
            return clean_line(str(exc))
        self.poll_disk()
        return None

    # ------------------------------------------------------------------ the expert critique
    @property
    def CRITIQUE_UNIT(self) -> dict[str, str]:
        from ..services.critique.prompts import UNIT_FILES

        return {aid: unit for unit, ids in UNIT_FILES.items() for aid in ids}

    def model_settings(self) -> tuple[dict, dict]:
        """(the roles in force: ftd.yaml over the user config, the project's own settings)."""
        from ..core.user.roles import effective_settings

        lf = self.project.files["settings"].ensure_parsed()  # a key pressed before the first check
        project = lf.data if lf.readable and isinstance(lf.data, dict) else {}
        merged, _ = effective_settings(project, getattr(self.config, "models", None))
        return merged, project

    def action_critique_with_transcripts(self) -> None:
        from ..services.critique.transcripts import latest_run

        if self.project is None or latest_run(self.project.root) is None:
            self.notify("no baseline run with transcripts yet: a plain critique is F6", markup=False)
            return
        self.action_run_critique(fresh=True, with_transcripts=True)

    def action_run_critique(self, fresh: bool = False, with_transcripts: bool = False) -> None:
        from ..core.user.trust import approve, is_approved, needs_approval

        if self.project is None or self.snapshot is None:
            return
        unit = self.CRITIQUE_UNIT.get(self.current or "")
        if unit is None:
            self.notify("the expert critique covers the taxonomy, the rubric, the personas and the prompts; "
                        "open one of them first", markup=False)
            return
        hidden = self._critique_screen
        if hidden is not None and hidden not in self.screen_stack and hidden.unit == unit:
            self.push_screen(hidden)  # the critique sent to the background (streaming, or waiting for decisions)
            return
        merged, settings = self.model_settings()
        status = self.snapshot.result.critiques.get(unit)
        if not fresh and status is not None and status.latest and not status.dispositioned \
                and "await a decision" in status.reason:
            def chosen(choice: str | None) -> None:
                if choice == "decide":
                    self.open_critique_log(unit, self.root / status.latest)
                elif choice == "new":
                    self.action_run_critique(fresh=True)

            self.push_screen(Choice(f"The last critique of the {unit} has proposals waiting for a decision.",
                                    [("decide", "Decide them", "d"), ("new", "Run a new critique", "n"),
                                     ("cancel", "Cancel", "c")], clean_line(status.reason)), chosen)
            return
        if not fresh and status is not None and status.latest and not status.dispositioned \
                and "no synthesis" in status.reason:
            latest = self.root / status.latest

            def after_empty(choice: str | None) -> None:
                if choice == "open":
                    self.open_critique_log(unit, latest)
                elif choice == "reviewed":
                    self.ask_reviewed(unit, latest)
                elif choice == "new":
                    self.action_run_critique(fresh=True, with_transcripts=with_transcripts)

            self.push_screen(Choice(f"The last critique of the {unit} gave no proposals.",
                                    [("open", "Open it (answers, candidates)", "o"),
                                     ("reviewed", "Mark it reviewed, nothing to change", "v"),
                                     ("new", "Run a new critique", "n"), ("cancel", "Cancel", "c")],
                                    f"{status.latest}: a reviewed critique, with your reason, closes the critique gate "
                                    "until the artifact changes"), after_empty)
            return
        if not is_approved(settings):
            def answered(choice: str | None) -> None:
                if choice == "approve":
                    approve(settings, self.root)
                    self.action_run_critique(fresh=True, with_transcripts=with_transcripts)

            from ..core.user.trust import approval_title

            items = needs_approval(settings)  # each says what goes where, a key included
            self.push_screen(Choice(approval_title(items), [("approve", "Approve", "y"), ("cancel", "Cancel", "n")],
                                    "\n".join(items)), answered)
            return
        self.forecast_critique(unit, merged, with_transcripts)

    def forecast_critique(self, unit: str, merged: dict, with_transcripts: bool) -> None:
        """F6's forecast (calls, tokens, cost per role), from the very requests the run will send:
        Enter starts the critique, Escape cancels."""
        from ..services.critique.forecast import critique_forecast, lines
        from ..services.critique.run import CritiqueError, plan_critique

        try:
            plan = plan_critique(self.project, unit, buffers=self.dirty_buffers(), with_transcripts=with_transcripts,
                                 settings=merged)
            shown = lines(critique_forecast(plan, merged))
        except CritiqueError as exc:
            self.notify(clean_line(str(exc)), title="No critique", severity="error", markup=False)
            return

        def answered(choice: str | None) -> None:
            if choice == "start":
                self.start_critique(unit, merged, with_transcripts, plan=plan)

        self.push_screen(Choice(f"Critique of the {unit}: the forecast", [("start", "Start", "enter"),
                                                                        ("cancel", "Cancel", "escape")],
                                "\n".join(shown)), answered)

    def start_critique(self, unit: str, merged: dict, with_transcripts: bool = False, *, plan=None,
                       synthesis_cache: bool = True) -> None:
        from ..services.critique.run import panel_source
        from .screens.critique import CritiqueScreen

        if panel_source(self.project, unit)[1]:
            self.notify(f"critiques/experts.yaml has no {unit} panel: using ftd's default, domain-general one",
                        severity="warning", timeout=6, markup=False)
        screen = CritiqueScreen(unit)
        self._critique_screen = screen
        # installed, so that sending it to the background keeps its widgets (a popped screen
        # that is not installed is taken apart)
        name = f"critique-{id(screen)}"
        self.install_screen(screen, name=name)

        def closed(_: object) -> None:
            self._critique_screen = None
            self.call_later(lambda: self.uninstall_screen(name) if name in self._installed_screens else None)
            self.refresh_status()

        self.push_screen(name, closed)
        self.critique_worker(screen, unit, merged, with_transcripts, plan=plan, synthesis_cache=synthesis_cache)

    @work(exclusive=True, group="critique")
    async def critique_worker(self, screen, unit: str, settings: dict, with_transcripts: bool = False, *,
                              plan=None, synthesis_cache: bool = True) -> None:
        from ..core.user.dirs import cache_dir
        from ..services.critique.run import CritiqueError, run_critique
        from ..services.llm.cache import ResponseCache
        from ..services.llm.door import Door, LLMError

        cache = ResponseCache(cache_dir() / "responses.sqlite")
        door = Door(settings, cache=cache, trusted=True)  # the project's roles were approved before this ran
        try:
            run = await run_critique(door, self.project, unit, screen.voice_event, buffers=self.dirty_buffers(),
                                     with_transcripts=with_transcripts, plan=plan, synthesis_cache=synthesis_cache)
            screen.finished(run, None)
            self.notify(f"critique of the {unit} saved: {run.log_path.name}", timeout=4, markup=False)
        except (CritiqueError, LLMError) as exc:
            screen.finished(None, clean_line(str(exc)))
            self.notify(clean_line(str(exc)), title="Critique failed", severity="error", markup=False)
        finally:
            if cache is not None:
                cache.close()
            self.schedule_validation()

    def open_critique_log(self, unit: str, path) -> None:
        """The proposals of an earlier critique, to decide them now."""
        from ..services.critique.run import run_from_log
        from .screens.critique import CritiqueScreen

        try:
            run = run_from_log(self.project, unit, path, self.dirty_buffers())
        except Exception as exc:
            self.notify(f"cannot read {path.name}: {clean_line(str(exc))}", severity="error", markup=False)
            return
        screen = CritiqueScreen(unit)
        screen.running = False
        self.push_screen(screen)
        def show() -> None:
            for v in run.voices:  # its answers, as logged
                screen.voice_event("status", v)
            screen.finished(run, None)  # no proposals: the error view and its three ways on, never a blank tab

        self.call_after_refresh(show)

    def action_past_critiques(self) -> None:
        from ..services.critique.run import logs_of
        from .screens.critique import PastCritiquesScreen

        unit = self.CRITIQUE_UNIT.get(self.current or "")
        if unit is None or self.project is None:
            self.notify("open the taxonomy, the rubric, the personas or a prompt to see its critiques", markup=False)
            return
        logs = logs_of(self.project, unit)
        if not logs:
            self.notify(f"no critique of the {unit} yet (F6 runs one)", markup=False)
            return

        def opened(path) -> None:
            if path is not None:
                if path == logs[0]:
                    self.open_critique_log(unit, path)
                else:
                    self.push_screen(DiffScreen(f"{path.name} (an earlier critique; decisions count on the latest)",
                                                "", path.read_text(encoding="utf-8", errors="replace"), "", path.name))

        self.push_screen(PastCritiquesScreen(unit, logs), opened)

    def action_suggest_panel(self) -> None:
        from ..core.user.trust import is_approved

        unit = self.CRITIQUE_UNIT.get(self.current or "")
        if unit is None or self.project is None:
            self.notify("open the taxonomy, the rubric, the personas or a prompt first", markup=False)
            return
        merged, settings = self.model_settings()
        if not is_approved(settings):
            self.notify("approve the project's endpoints first (F6 asks, or ftd trust)", severity="warning", markup=False)
            return
        self.notify(f"asking the critic for a {unit} panel…", timeout=3, markup=False)
        self.suggest_worker(unit, merged)

    @work(exclusive=True, group="suggest")
    async def suggest_worker(self, unit: str, settings: dict) -> None:
        from ..services.critique.prompts import SuggestedPanel, panel_messages
        from ..services.critique.run import critique_context
        from ..services.llm.door import Door, LLMError

        door = Door(settings, trusted=True)
        try:
            suggestion, _ = await door.structured(door.role("critic"), panel_messages(unit, critique_context(self.project)),
                                                  SuggestedPanel, use_cache=False)
        except LLMError as exc:
            self.notify(clean_line(exc.message), title="No panel suggested", severity="error", markup=False)
            return
        if not suggestion.experts:
            self.notify(f"the critic suggested no experts for the {unit} panel: nothing to insert (ask again, or "
                        "write the panel in critiques/experts.yaml)", title="No panel suggested", severity="warning",
                        timeout=8, markup=False)
            return
        panel = {"experts": [{**e.model_dump(exclude_none=True), "fictional": True} for e in suggestion.experts],
                 "difficult_users": [{**u.model_dump(), "fictional": True} for u in suggestion.difficult_users]}
        lines = [f"{e['name']} ({e['kind']}{', ' + e['school'] if e.get('school') else ''}) — fictional: "
                 f"{e['background']} Catches: {e['blind_spot']}" for e in panel["experts"]]
        lines += [f"{u['name']} (difficult user) — fictional: {u['description']}" for u in panel["difficult_users"]]

        def answered(choice: str | None) -> None:
            if choice == "use":
                self.put_panel(unit, panel)

        self.push_screen(Choice(f"Suggested {unit} panel (every person is invented):",
                                [("use", "Put it in experts.yaml", "u"), ("cancel", "Discard", "x")],
                                "\n".join(clean_line(l) for l in lines)), answered)

    def put_panel(self, unit: str, panel: dict) -> None:
        """Into the experts.yaml buffer as an exact edit; the user reviews and saves it."""
        from ..core.text.yamldoc import EditError, YamlDocument

        self.open_artifact("experts", focus=True)
        ed = self.editors["experts"]
        try:
            doc = YamlDocument.from_text(ed.text if ed.text.strip() else "panels: {}\n")
            new = doc.set(f"panels.{unit}", panel, create=True)
        except (EditError, Exception) as exc:  # noqa: B014 - a malformed buffer: say so, change nothing
            self.notify(f"cannot put the panel into experts.yaml: {clean_line(str(exc))}", severity="error", markup=False)
            return
        ed.replace(new.text, (0, 0), ed.document.end)
        self.notify(f"the suggested {unit} panel is in critiques/experts.yaml; review it and save", markup=False)

    def action_test_connections(self) -> None:
        from ..core.user.trust import is_approved, needs_approval

        if self.project is None:
            return
        merged, settings = self.model_settings()
        if not is_approved(settings):
            self.notify("approve the project's endpoints first (F6 asks, or ftd trust): " + "; ".join(needs_approval(settings)),
                        severity="warning", timeout=8, markup=False)
            return
        self.notify("testing every model role…", timeout=3, markup=False)
        self.connections_worker(merged)

    @work(exclusive=True, group="doctor")
    async def connections_worker(self, settings: dict) -> None:
        from ..services.llm.doctor import probe_roles

        try:
            results = await probe_roles(settings)
        except Exception as exc:  # a timeout of the whole probe
            self.notify(f"the connection test did not finish: {type(exc).__name__}", severity="error", markup=False)
            return
        rows = [(("✓ " if r.ok else "✗ ") + r.role, f"{r.model}  {r.key}  {r.verdict}", "") for r in results]
        self.push_screen(HelpScreen("Test connections", "A tiny call to every model role (keys are never shown).",
                                    [("Roles", [(clean_line(a), clean_line(b), c) for a, b, c in rows])]))

    def cancel_critique(self) -> None:
        self.workers.cancel_group(self, "critique")

    def critique_progress(self) -> str | None:
        """The status line's words while a critique runs behind the editor (sent back with b / F6)."""
        screen = self._critique_screen
        if screen is None or not screen.running or screen in self.screen_stack:
            return None
        done = sum(1 for v in screen.voices if v.status in ("done", "error", "cancelled"))
        doing = " · synthesising proposals" if screen.synthesising else ""
        return f"critique of the {screen.unit} running · {done}/{len(screen.voices)} answered{doing} · F6 shows it"

    def retry_synthesis(self, screen) -> None:
        """After an empty synthesis: a new critique of the same unit whose experts' answers come from
        the response cache (their requests are byte-identical), the synthesis asked again uncached."""
        run = screen.run
        merged, _ = self.model_settings()
        screen.dismiss(None)
        self.notify("asking the synthesis again; the experts' answers come from the response cache",
                    timeout=4, markup=False)
        self.call_later(lambda: self.start_critique(screen.unit, merged, bool(run and run.with_transcripts),
                                                    synthesis_cache=False))

    def write_them_yourself(self, unit: str) -> None:
        from ..services.critique.prompts import UNIT_FILES

        self.open_artifact(UNIT_FILES[unit][0], focus=True)
        self.notify(f"write the changes yourself; the critique gate of the {unit} stays open until a new critique "
                    "is decided or this one is marked reviewed (F6, then v)", timeout=8, markup=False)

    def ask_reviewed(self, unit: str, log_path) -> None:
        from .screens.critique import ReasonScreen

        def given(reason: str | None) -> None:
            if reason:
                self.record_reviewed(unit, log_path, reason)

        self.push_screen(ReasonScreen(f"Reviewed the {unit}, nothing to change: why?"), given)

    def record_reviewed(self, unit: str, log_path, reason: str) -> bool:
        """"Reviewed, nothing to change" with a reason on the critique's log: it closes the gate like
        a disposition (with the hash the artifact will have once the buffers are saved)."""
        from ..services.critique.log import record_reviewed

        try:
            record_reviewed(log_path, reason, self.unit_hash(unit))
        except Exception as exc:  # the log is ours, but the disk may be full or the file moved
            self.notify(f"could not record it: {clean_line(str(exc))}", severity="error", markup=False)
            return False
        self.notify(f"the {unit} critique is recorded as reviewed, nothing to change", markup=False)
        self.schedule_validation()
        return True

    def buffer_text(self, artifact_id: str) -> str:
        ed = self.editors.get(artifact_id)
        return ed.text if ed is not None else (self.project.files[artifact_id].text or "")

    def unit_hash(self, unit: str) -> str:
        """The hash the artifact will have once the buffers are saved (Project.artifact_hash's form)."""
        import hashlib

        from ..core.project.project import unit_hash
        from ..services.critique.prompts import UNIT_FILES

        parts = []
        for aid in UNIT_FILES[unit]:
            ed, lf = self.editors.get(aid), self.project.files[aid]
            bom = ed.bom if ed is not None else lf.bom
            data = (("\ufeff" if bom else "") + self.buffer_text(aid)).encode("utf-8")
            parts.append((lf.rel, hashlib.sha256(data).hexdigest()))
        return unit_hash(parts)

    def accept_proposal(self, run, index: int) -> bool:
        """Every edit of the proposal into the editor buffers, as one undoable change per file (you
        save); when any edit no longer applies to the buffers, nothing is applied, the reason is
        shown and the proposal is not marked accepted."""
        from ..services.critique.edits import EditFailed
        from ..services.critique.run import apply_proposal

        p = run.proposals[index]
        p.apply_error = ""
        try:
            changed = apply_proposal(p.data, self.project, {aid: self.buffer_text(aid) for aid in run.texts})
        except EditFailed as exc:
            p.apply_error = clean_line(str(exc))
        except Exception as exc:  # an edit yamldoc cannot make in a way not foreseen: said, never raised
            p.apply_error = f"an edit could not be made ({clean_line(str(exc)) or type(exc).__name__})"
        else:
            if not changed:
                p.apply_error = "its edits change nothing in the buffers now"
        for aid in changed if not p.apply_error else ():
            self.open_artifact(aid)
            ed = self.editors.get(aid)
            if ed is None or ed.read_only:
                p.apply_error = f"{self.project.files[aid].rel} cannot be edited here"
                break
        if p.apply_error:
            self.notify(f"{p.data.get('id')} no longer applies, so nothing was changed: {p.apply_error}",
                        severity="error", markup=False)
            return False
        for aid, text in changed.items():
            self._replace_buffer(self.editors[aid], text)  # one undoable edit per file
        self.open_artifact(next(iter(changed)))
        self.record_disposition(run, index, "accepted", "")
        files = ", ".join(self.project.files[a].rel for a in changed)
        self.notify(f"applied {p.data.get('id')} to {files}; save to keep it", markup=False)
        return True

    def record_disposition(self, run, index: int, disposition: str, reason: str) -> None:
        from ..services.critique.log import record_disposition

        p = run.proposals[index]
        p.disposition, p.reason = disposition, reason
        try:
            record_disposition(run.log_path, index, disposition, reason, self.unit_hash(run.unit))
        except Exception as exc:  # the log is ours, but the disk may be full or the file moved
            self.notify(f"could not record the decision: {clean_line(str(exc))}", severity="error", markup=False)
        self.schedule_validation()

    def take_candidate(self, run, index: int) -> bool:
        """An expert's test material into the design: an example into the rubric buffer typed
        UNREVIEWED (one undoable edit; you save), a user message into eval/scenarios.yaml."""
        from ..core.project.storage import FileStamp, save_atomic
        from ..services.critique.candidates import CandidateError, add_example, add_scenario

        c = run.candidates[index]
        source = run.log_path.stem if run.log_path is not None else "(unsaved)"
        try:
            if c.get("kind") == "example":
                self.open_artifact("rubric")
                ed = self.editors.get("rubric")
                if ed is None:
                    return False
                self._replace_buffer(ed, add_example(ed.text, c, source))
                where = f"config/rubric.yaml criteria.{c.get('criterion')} (UNREVIEWED)"
                self.notify(f"{c.get('id')} is in {c.get('criterion')}'s examples as UNREVIEWED: type it "
                            f"{c.get('label')} once you agree, then save", markup=False)
            else:
                path = self.root / "eval" / "scenarios.yaml"
                if not path.is_file():
                    self.notify("eval/scenarios.yaml is drawn by the first baseline run (F5): take this message "
                                "after that", severity="warning", markup=False)
                    return False
                data = path.read_bytes()
                lf = self.project.files["taxonomy"].ensure_parsed()
                rub = self.project.overlay(self.dirty_buffers()).files["rubric"].ensure_parsed().data
                gates = [str(g) for g in (rub.get("safety_gates") or [])] if isinstance(rub, dict) else []
                new, sid = add_scenario(data.decode("utf-8"), c, source, lf.data, gates)
                save_atomic(path, new.encode("utf-8"), FileStamp.of(path, data))
                where = f"eval/scenarios.yaml {sid}"
                self.notify(f"{c.get('id')} is scenario {sid} in eval/scenarios.yaml: the next baseline run "
                            "holds it", markup=False)
        except (CandidateError, OSError, UnicodeDecodeError) as exc:
            self.notify(f"cannot take {c.get('id')}: {clean_line(str(exc))}", severity="error", markup=False)
            return False
        return self._record_candidate(run, index, "taken", where)

    def drop_candidate(self, run, index: int) -> bool:
        return self._record_candidate(run, index, "dropped", None)

    def _record_candidate(self, run, index: int, disposition: str, where: str | None) -> bool:
        from ..services.critique.log import record_candidate

        run.candidates[index]["disposition"] = disposition
        if where:
            run.candidates[index]["taken_into"] = where
        try:
            record_candidate(run.log_path, index, disposition, where)
        except Exception as exc:  # the log is ours, but the disk may be full or the file moved
            self.notify(f"could not record it in the log: {clean_line(str(exc))}", severity="error", markup=False)
        return True

    def action_gates(self) -> None:
        if self.snapshot is None:
            return

        def opened(artifact_id: str | None) -> None:
            if artifact_id:
                self.open_artifact(artifact_id, focus=True)

        self.push_screen(GatesScreen(self.snapshot.gates), opened)

    def action_tokens(self) -> None:
        from .modals.dialogs import TokensScreen

        if self.project is None or self.snapshot is None:
            return
        screen = TokensScreen()
        self.push_screen(screen)
        self.compute_token_report(screen, self.project.overlay(self.dirty_buffers()), self.counter)

    @work(thread=True, exclusive=True, group="tokens")
    def compute_token_report(self, screen, view: Project, counter) -> None:
        from ..core.economics.overview import chosen_model, project_costs, project_estimate, report_lines
        from ..core.economics.estimate import inputs_from

        est, counter = project_estimate(view, counter)
        if est is None:
            problems = inputs_from(view.files, {}, None).problems
            lines = ["No estimate yet: " + "; ".join(problems or ["the persona template and the taxonomy are needed"])]
        else:
            lines = report_lines(est, project_costs(view, est, counter), chosen_model(view)[0])
        self.call_from_thread(screen.show, lines)

    def action_review(self) -> None:
        from .screens.review import ReviewScreen

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

        self.push_screen(ReviewScreen(self), left)

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
        except Exception as exc:  # SuspendNotSupported under test drivers and some terminals
            self.notify(f"cannot hand the terminal to {editor}: {type(exc).__name__}", severity="error", markup=False)
            return
        self.poll_disk()

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
            except Exception as exc:
                self.notify(clean_line(str(exc)), severity="error", markup=False)
                self.offer_new_project()
                return
            self.root = target
            self.drafts = DraftStore(state_dir(), self.root)
            self.is_project = True
            self.notify(f"created {target} from '{name}'", markup=False)
            self.show_project_now()

        self.push_screen(NewProjectScreen(str(self.root), choices), chosen)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        from .commands import ftd_system_commands

        yield from ftd_system_commands(self)


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


__all__ = ["FtdApp", "create_app", "run", "clean"]
