"""Every action of the workspace, described once: its keys (with a binding id a user keymap can
remap), what it does, and where it applies. The App's BINDINGS, the command palette and the help
screen are all generated from here, reading the LIVE keymap: after a user remaps `show-gates` to
F10, help and the palette say F10.

Two tables, because a key and a palette entry are not one to one: F7 and g both show the gates
(two binding ids, one palette entry), and "Compare with disk" has no key at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from textual.binding import Binding

if TYPE_CHECKING:
    from textual.app import App

EVERYWHERE = "everywhere"  # a priority binding: acts even while the editor has focus
OUTSIDE_EDITOR = "outside the editor"  # a letter: the editor types it, every other pane acts on it


@dataclass(frozen=True)
class Key:
    id: str  # kebab-case: what a user keymap names
    keys: str  # the default keys, comma-separated, as Textual spells them
    action: str  # the App's action_<name>
    description: str  # the footer's word, and help's
    where: str = EVERYWHERE
    show: bool = False  # in the footer

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, id=self.id, show=self.show,
                       priority=self.where == EVERYWHERE)


@dataclass(frozen=True)
class Command:
    title: str
    help: str  # the palette's line; the live keys are added in brackets
    action: str  # the App's action_<name>, with arguments as Textual writes them: "run_baseline(True)"
    keys: tuple[str, ...] = ()  # the binding ids whose keys the palette names
    where: str = EVERYWHERE  # the artifact-bound ones name it: "the open artifact"


# The order is the footer's and the help screen's.
KEYS: tuple[Key, ...] = (
    Key("save-artifact", "ctrl+s,f2", "save", "Save", show=True),
    Key("quit", "ctrl+q", "quit", "Quit", show=True),
    Key("help", "f1,ctrl+g", "help", "Help", show=True),
    Key("help-letter", "question_mark", "help", "Help", where=OUTSIDE_EDITOR),
    Key("command-palette", "ctrl+p,f9", "command_palette", "Palette"),
    Key("command-palette-letter", "colon", "command_palette", "Palette", where=OUTSIDE_EDITOR),
    Key("toggle-artifacts", "f3", "toggle_artifacts", "Files", show=True),
    Key("open-in-editor", "f4", "external_editor", "$EDITOR"),
    Key("run-baseline", "f5,ctrl+r", "run_baseline", "Baseline"),
    Key("run-critique", "f6,ctrl+t", "run_critique", "Critique"),
    Key("show-gates", "f7", "gates", "Gates", show=True),
    Key("show-gates-letter", "g", "gates", "Gates", where=OUTSIDE_EDITOR),
    Key("review-mode", "f8", "review", "Review"),
    Key("maximize-pane", "f12,ctrl+o", "maximize_pane", "Maximize"),
    Key("maximize-pane-letter", "m", "maximize_pane", "Maximize", where=OUTSIDE_EDITOR),
    Key("focus-artifacts", "a", "focus_artifacts", "Artifacts", where=OUTSIDE_EDITOR),
    Key("focus-diagnostics", "d", "focus_diagnostics", "Diagnostics", where=OUTSIDE_EDITOR),
    Key("focus-editor", "e", "focus_editor", "Editor", where=OUTSIDE_EDITOR),
    Key("copy-pane", "y", "copy_pane", "Copy", where=OUTSIDE_EDITOR),
    Key("show-tokens", "t,f10", "tokens", "Tokens", where=OUTSIDE_EDITOR),
    Key("choose-model", "b", "models", "Base models", where=OUTSIDE_EDITOR),
    Key("back", "escape", "back", "Back", where=OUTSIDE_EDITOR),
)
BY_ID = {k.id: k for k in KEYS}

# The order is the palette's (after "Open: <artifact>" for each artifact).
COMMANDS: tuple[Command, ...] = (
    Command("Save", "write the editor's text to disk, atomically", "save", ("save-artifact",)),
    Command("Gates", "the seven steps and done, with reasons and next steps", "gates",
            ("show-gates", "show-gates-letter")),
    Command("Review mode", "read-only, single-letter browsing for shared tmux sessions", "review", ("review-mode",)),
    Command("Maximize pane", "toggle the focused pane full screen", "maximize_pane",
            ("maximize-pane", "maximize-pane-letter")),
    Command("Toggle artifact list", "show or hide the list of artifacts", "toggle_artifacts", ("toggle-artifacts",)),
    Command("Open in $EDITOR", "save, then edit the file in your own editor", "external_editor", ("open-in-editor",),
            where="the open artifact"),
    Command("Compare with disk", "diff of the editor against the file on disk", "diff_with_disk",
            where="the open artifact"),
    Command("Revert to disk", "drop the editor's changes and reload the file", "revert", where="the open artifact"),
    Command("Token budget and cost", "the estimate table, its breakdown and the cost lines", "tokens",
            ("show-tokens",)),
    Command("Critique with transcripts", "the experts also read the latest baseline's best and worst conversations",
            "critique_with_transcripts", where="the open artifact"),
    Command("Past critiques", "the critiques of this artifact; the latest one's proposals can be decided",
            "past_critiques", where="the open artifact"),
    Command("Suggest a panel for this domain", "the critic proposes fictional experts for this artifact's critique",
            "suggest_panel", where="the open artifact"),
    Command("Test connections", "a tiny call to every model role: key, server, model, latency", "test_connections"),
    Command("Copy pane", "copy the selection or the focused pane (OSC 52)", "copy_pane", ("copy-pane",)),
    Command("Run baseline", "evaluate the base model on multi-turn conversations", "run_baseline", ("run-baseline",)),
    Command("Choose the base model", "the models ftd knows, memory and fit at this budget, compare, choose", "models",
            ("choose-model",)),
    Command("Calibration self-test",
            "every judge answers the rubric's own examples, leave-one-out: which criteria can it apply?", "calibrate"),
    Command("Baseline smoke run", "2 scenarios x 2 exchanges: check the wiring for pennies", "run_baseline(True)"),
    Command("Run expert critique", "fictional experts critique this artifact; then decide the proposals",
            "run_critique", ("run-critique",), where="the open artifact"),
    Command("Help", "keys of the focused pane", "help", ("help", "help-letter")),
)

# The letters help names as working outside the editor (its opening line).
LETTER_HINT = ("show-gates-letter", "maximize-pane-letter", "focus-artifacts", "focus-diagnostics", "focus-editor",
               "copy-pane", "help-letter", "command-palette-letter")

_NAMES = {"question_mark": "?", "colon": ":"}


def bindings() -> list[Binding]:
    return [k.binding() for k in KEYS]


def live_keys(app: App, binding_id: str) -> list[str]:
    """The keys bound to an id now: the user keymap's, else the default."""
    keymap = getattr(app, "_keymap", {}) or {}
    keys = keymap.get(binding_id, BY_ID[binding_id].keys)
    return [k.strip() for k in keys.split(",") if k.strip()]


def key_name(key: str) -> str:
    """A key as the palette writes it: F7, ctrl+s, ?, :."""
    if key in _NAMES:
        return _NAMES[key]
    return key.upper() if key[:1] == "f" and key[1:].isdigit() else key


def keys_text(app: App, binding_ids: Iterable[str]) -> str:
    return ", ".join(key_name(k) for bid in binding_ids for k in live_keys(app, bid))


def palette_help(app: App, command: Command) -> str:
    keys = keys_text(app, command.keys)
    return f"{command.help} ({keys})" if keys else command.help


def help_rows(app: App) -> list[tuple[str, str, str]]:
    """Help's "Everywhere" rows: the live keys (as the footer shows them), what they do, the id."""
    return [(", ".join(app.get_key_display(Binding(k, key.action)) for k in live_keys(app, key.id)),
             key.description, key.id) for key in KEYS]


def help_intro(app: App) -> str:
    letters = keys_text(app, LETTER_HINT)
    palette = ", ".join(key_name(k) for k in live_keys(app, "command-palette"))
    colon = keys_text(app, ("command-palette-letter",))
    return (f"Letters ({letters}) work outside the editor. Every action is also in the "
            f"palette ({palette}, or {colon} outside the editor).")


def palette_commands(app: App) -> Iterable[tuple[str, str, Callable[[], object]]]:
    """(title, help, callback) for each command, in the palette's order."""
    for command in COMMANDS:
        yield command.title, palette_help(app, command), _runner(app, command.action)


def _runner(app: App, action: str) -> Callable[[], object]:
    """The App's action method itself, with its arguments (called as the palette always did)."""
    from textual.actions import parse

    _, name, params = parse(action)
    method = getattr(app, f"action_{name}")
    return lambda: method(*params)


def system_commands(app: App):
    """The palette's ftd entries: "Open: <artifact>" for each artifact, then every command."""
    from textual.app import SystemCommand

    from ..core.project.project import ARTIFACTS

    for spec in ARTIFACTS:
        yield SystemCommand(f"Open: {spec.title}", f"edit {spec.path}",
                            lambda aid=spec.id: app.open_artifact(aid, focus=True))
    for title, help_text, callback in palette_commands(app):
        yield SystemCommand(title, help_text, callback)
