"""Every action in the command palette, including "Open: <artifact>" for each artifact."""

from __future__ import annotations

from textual.app import SystemCommand

from ..core.project.project import ARTIFACTS


def ftd_system_commands(app):
    for spec in ARTIFACTS:
        yield SystemCommand(f"Open: {spec.title}", f"edit {spec.path}",
                            lambda aid=spec.id: app.open_artifact(aid, focus=True))
    actions = [
        ("Save", "write the editor's text to disk, atomically (ctrl+s, F2)", app.action_save),
        ("Gates", "the seven steps and done, with reasons and next steps (F7, g)", app.action_gates),
        ("Review mode", "read-only, single-letter browsing for shared tmux sessions (F8)", app.action_review),
        ("Maximize pane", "toggle the focused pane full screen (F12, ctrl+o, m)", app.action_maximize_pane),
        ("Toggle artifact list", "show or hide the list of artifacts (F3)", app.action_toggle_artifacts),
        ("Open in $EDITOR", "save, then edit the file in your own editor (F4)", app.action_external_editor),
        ("Compare with disk", "diff of the editor against the file on disk", app.action_diff_with_disk),
        ("Revert to disk", "drop the editor's changes and reload the file", app.action_revert),
        ("Token budget and cost", "the estimate table, its breakdown and the cost lines (t, F10)", app.action_tokens),
        ("Critique with transcripts", "the experts also read the latest baseline's best and worst conversations",
         app.action_critique_with_transcripts),
        ("Past critiques", "the critiques of this artifact; the latest one's proposals can be decided", app.action_past_critiques),
        ("Suggest a panel for this domain", "the critic proposes fictional experts for this artifact's critique",
         app.action_suggest_panel),
        ("Test connections", "a tiny call to every model role: key, server, model, latency", app.action_test_connections),
        ("Copy pane", "copy the selection or the focused pane (OSC 52) (y)", app.action_copy_pane),
        ("Run baseline", "evaluate the base model on multi-turn conversations (F5, ctrl+r)", app.action_run_baseline),
        ("Choose the base model", "the models ftd knows, memory and fit at this budget, compare, choose (b)",
         app.action_models),
        ("Calibration self-test", "every judge answers the rubric's own examples, leave-one-out: which criteria can it apply?",
         app.action_calibrate),
        ("Baseline smoke run", "2 scenarios x 2 exchanges: check the wiring for pennies", lambda: app.action_run_baseline(True)),
        ("Run expert critique", "fictional experts critique this artifact; then decide the proposals (F6, ctrl+t)", app.action_run_critique),
        ("Help", "keys of the focused pane (F1, ctrl+g, ?)", app.action_help),
    ]
    for title, help_text, callback in actions:
        yield SystemCommand(title, help_text, callback)
