"""The app through Textual's Pilot: each behaviour of the app issue, by message flow."""

from __future__ import annotations

import json
import os

import pytest

from apphelp import editor, findings, loaded, run, running, wait_until
from ftd_tui.tui.app import create_app
from helpers import write, yset


@pytest.fixture(autouse=True)
def harmless_editor(monkeypatch):
    monkeypatch.setenv("EDITOR", "true")  # the user folders are isolated by conftest


def state_dir():
    from pathlib import Path

    return Path(os.environ["FTD_STATE_DIR"])


def test_loads_lists_artifacts_and_leads_with_the_next_step(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            ids = list(app.artifact_labels())
            assert ids[:3] == ["settings", "model-choice", "taxonomy"]
            labels = list(app.artifact_labels().values())
            assert any(l.startswith(" ✓") and "config/rubric.yaml" in l for l in labels)
            assert any(l.startswith(" –") and "base-model-eval-results.md (missing)" in l for l in labels)
            assert str(app.query_one("#next").render()).startswith("Next · step 7: run the baseline")
            assert app.current == "rubric" and not app.query_one("#main").has_class("narrow")

    run(go())


def test_typing_marks_dirty_and_diagnostics_follow(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            text = ed.text
            row = text.splitlines().index("pass_threshold: 0.80")
            ed.move_cursor((row, len("pass_threshold: ")))
            ed.focus()
            await pilot.press("delete", "delete", "delete", "delete", "9")
            assert ed.dirty
            assert "modified" in str(app.query_one("#dirty").render())
            await wait_until(pilot, lambda: any("RUB016" in f for f in findings(app)), what="RUB016 listed")
            assert app.artifact_labels()["rubric"].startswith("●✗1")
            # the file on disk is untouched until a save
            assert "pass_threshold: 0.80" in (root / "config/rubric.yaml").read_text()

    run(go())


def test_save_writes_exactly_the_buffer_with_crlf_and_bom(sample):
    root = sample("math-tutoring")
    f = root / "config/persona-template.yaml"
    raw = b"\xef\xbb\xbf" + f.read_bytes().replace(b"\n", b"\r\n")
    f.write_bytes(raw)

    async def go():
        async with running(root) as (app, pilot):
            app.open_artifact("personas", focus=True)
            ed = editor(app)
            ed.move_cursor((0, 0))
            await pilot.press("#", " ", "x", "enter")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not ed.dirty, what="saved")
            assert f.read_bytes() == b"\xef\xbb\xbf" + b"# x\r\n" + raw[3:]
            assert "saved" in str(app.query_one("#dirty").render())

    run(go())


def test_outside_edit_reloads_a_clean_buffer_keeping_the_cursor(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            ed.move_cursor((40, 2))
            yset(root, "config/rubric.yaml", "pass_threshold", 0.75)
            app.poll_disk()
            await wait_until(pilot, lambda: "pass_threshold: 0.75" in ed.text, what="reload")
            assert ed.cursor_location == (40, 2) and not ed.dirty

    run(go())


@pytest.mark.slow
def test_keys_typed_before_the_highlighting_lands_stay_where_they_were_typed(sample):
    # The CI failure of test_e2e_tmux::test_outside_edit_while_dirty: on a loaded machine "# "
    # beat the first frame's deferred highlighting, whose document rebuild put the cursor back
    # at (0, 0), so "# mine" went in as "mine\n# # Rubric…". Replayed here deterministically.
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            language = ed.language
            assert language == "yaml"
            ed.language, ed.deferred_language = None, language  # as at start-up, before the first frame
            ed.focus()
            ed.move_cursor((0, 0))
            await pilot.press("#", "space")
            app._after_first_frame()
            await pilot.press(*"mine", "enter")
            assert ed.language == "yaml" and ed.deferred_language is None
            assert ed.text.startswith("# mine\n# Rubric:"), ed.text[:40]
            assert ed.cursor_location == (1, 0)

    run(go())


@pytest.mark.slow
def test_outside_edit_while_dirty_asks_and_never_overwrites(sample):
    root = sample("math-tutoring")
    f = root / "config/rubric.yaml"

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            ed.focus()
            ed.move_cursor((0, 0))
            await pilot.press("#", "enter")
            theirs = f.read_text().replace("pass_threshold: 0.80", "pass_threshold: 0.70")
            f.write_text(theirs)
            app.poll_disk()
            from ftd_tui.tui.modals.dialogs import Choice

            await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="conflict dialog")
            # saving while the question is open still cannot overwrite: answer 'keep mine' first
            await pilot.press("k")
            await wait_until(pilot, lambda: not isinstance(app.screen, Choice))
            assert f.read_text() == theirs
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not ed.dirty, what="saved mine")
            assert f.read_text().startswith("#\n") and "pass_threshold: 0.80" in f.read_text()

    run(go())


@pytest.mark.slow
def test_take_theirs_and_save_conflict(sample):
    root = sample("math-tutoring")
    f = root / "config/rubric.yaml"

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            ed.focus()
            ed.move_cursor((0, 0))
            await pilot.press("#", "enter")
            theirs = f.read_text() + "# theirs\n"
            f.write_text(theirs)
            await pilot.press("ctrl+s")  # the save notices the change and asks instead of writing
            from ftd_tui.tui.modals.dialogs import Choice

            await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="conflict on save")
            assert f.read_text() == theirs
            await pilot.press("t")
            await wait_until(pilot, lambda: ed.text.endswith("# theirs\n") and not ed.dirty, what="took theirs")

    run(go())


@pytest.mark.slow
def test_drafts_survive_a_lost_session_and_are_offered_back(sample):
    root = sample("math-tutoring")

    async def first():
        async with running(root) as (app, pilot):
            app.config.draft_interval_s = 0.05
            ed = editor(app)
            ed.focus()
            ed.move_cursor((0, 0))
            await pilot.press("#", " ", "d", "r", "a", "f", "t", "enter")
            await wait_until(pilot, lambda: list((state_dir() / "drafts").rglob("rubric.json")), what="draft written")
            # the session "drops": no save, no quit dialog
            app.exit()

    run(first())
    draft = next((state_dir() / "drafts").rglob("rubric.json"))
    assert json.loads(draft.read_text())["text"].startswith("# draft\n")
    assert oct(draft.stat().st_mode & 0o777) == "0o600"

    async def second():
        async with running(root) as (app, pilot):
            from ftd_tui.tui.modals.dialogs import DraftsScreen

            await wait_until(pilot, lambda: isinstance(app.screen, DraftsScreen), what="drafts offered")
            await pilot.press("r")
            await wait_until(pilot, lambda: not isinstance(app.screen, DraftsScreen))
            ed = app.editors["rubric"]
            assert ed.text.startswith("# draft\n") and ed.dirty

    run(second())


@pytest.mark.slow
def test_quit_with_unsaved_work_asks(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            ed.focus()
            await pilot.press("x")
            await pilot.press("ctrl+q")
            from ftd_tui.tui.modals.dialogs import Choice

            await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="quit question")
            await pilot.press("c")
            await wait_until(pilot, lambda: not isinstance(app.screen, Choice))
            assert app.is_running
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: isinstance(app.screen, Choice))
            await pilot.press("s")
        assert app.return_code in (0, None)

    run(go())
    assert (root / "config/rubric.yaml").read_text().startswith("x")


@pytest.mark.slow
def test_palette_opens_an_artifact(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            await pilot.press("ctrl+p")
            await pilot.press(*"Open: Persona")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.current == "personas", what="personas open")

    run(go())


@pytest.mark.slow
def test_gates_screen_and_jump(sample):
    root = sample("math-tutoring")
    yset(root, "config/rubric.yaml", "pass_threshold", 1.5)

    async def go():
        async with running(root) as (app, pilot):
            app.open_artifact("settings")
            await pilot.press("f7")
            from ftd_tui.tui.modals.dialogs import GateItem, GatesScreen

            await wait_until(pilot, lambda: isinstance(app.screen, GatesScreen))
            items = list(app.screen.query(GateItem))
            assert len(items) == 8
            text = str(items[3].query_one("Static").render())
            assert "✗ open" in text and "next:" in text
            lv = app.screen.query_one("ListView")
            lv.index = 3
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.current == "rubric" and not isinstance(app.screen, GatesScreen))

    run(go())


@pytest.mark.slow
def test_help_lists_the_focused_panes_keys(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            editor(app).focus()
            await pilot.press("f1")
            from ftd_tui.tui.modals.dialogs import HelpScreen

            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
            body = str(app.screen.query_one("Static").render())
            assert "Help — the editor" in body and "undo" in body and "save-artifact" in body
            # a 24-character key column once ran into its text ("ctrl+vcut / copy")
            assert "ctrl+x / ctrl+c / ctrl+v cut / copy" in body
            await pilot.press("escape")
            app.query_one("#artifacts").focus()
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert "the artifact list" in str(app.screen.query_one("Static").render())

    run(go())


@pytest.mark.slow
def test_letters_type_in_the_editor_but_act_outside_it(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            ed.focus()
            ed.move_cursor((0, 0))
            await pilot.press("g")
            assert ed.text.startswith("g") and app.screen is app.screen_stack[0]
            app.query_one("#diagnostics").focus()
            await pilot.press("g")
            from ftd_tui.tui.modals.dialogs import GatesScreen

            await wait_until(pilot, lambda: isinstance(app.screen, GatesScreen))

    run(go())


@pytest.mark.slow
def test_review_mode_is_read_only_and_single_letter(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root) as (app, pilot):
            await pilot.press("f8")
            from ftd_tui.tui.screens.review import ReviewScreen

            await wait_until(pilot, lambda: isinstance(app.screen, ReviewScreen))
            assert all(ed.read_only for ed in app.editors.values())
            body = lambda: str(app.screen.query_one("#review-body").render())
            assert "✗ OPEN" in body() and "✓ PASSED" in body()
            await pilot.press("c")
            assert "rubric" in body() and "no expert critique yet" in body()
            await pilot.press("4")
            assert "config/rubric.yaml" in str(app.screen.query_one("#review-title").render())
            await pilot.press("r")
            assert "untested" in body()
            await pilot.press("q")
            await wait_until(pilot, lambda: not isinstance(app.screen, ReviewScreen))
            assert not editor(app).read_only

    run(go())


@pytest.mark.slow
def test_narrow_layout_collapses_and_maximize_toggles(sample):
    root = sample("math-tutoring")

    async def go():
        async with running(root, size=(80, 24)) as (app, pilot):
            main = app.query_one("#main")
            arts = app.query_one("#artifacts")
            assert main.has_class("narrow") and arts.display is False or arts.styles.display == "none"
            await pilot.press("f3")
            await pilot.pause()
            assert main.has_class("show-artifacts") and app.focused is arts
            await pilot.press("escape")
            await pilot.pause()
            assert not main.has_class("show-artifacts")
            editor(app).focus()
            await pilot.press("f12")
            await pilot.pause()
            assert app.screen.maximized is editor(app)
            await pilot.press("f12")
            await pilot.pause()
            assert app.screen.maximized is None

    run(go())


HOSTILE = "[/] [bold]x[/bold] [link=http://e.vil]y \x1b]52;c;aGk=\x07 \x1b[2J \x9b1m \u202eevil"


@pytest.mark.slow
def test_hostile_text_is_shown_as_data_everywhere(sample):
    root = sample("math-tutoring")
    # into keys and values that end up in messages, titles, the editor and review mode
    yset(root, "config/rubric.yaml", "criteria.CM1.category", HOSTILE)
    yset(root, "config/rubric.yaml", "categories.x", {"weight": 0.1, "criteria": [HOSTILE]}, create=True)
    write(root, "config/system-prompt.md", f"# S\n\n```text\nYou tutor {{{{x}}}} {HOSTILE}\n```\n")

    async def go():
        async with running(root) as (app, pilot):
            shown = findings(app)
            assert any("[/]" in f and "[bold]x[/bold]" in f for f in shown)
            assert not any("\x1b" in f or "\x9b" in f or "\u202e" in f for f in shown)
            app.open_artifact("system-prompt")
            await pilot.pause()
            await pilot.press("f8")
            await pilot.press("f")
            await pilot.pause()
            body = str(app.screen.query_one("#review-body").render())
            assert "\x1b" not in body and "[/]" in body
            await pilot.press("8")  # the system prompt
            body = str(app.screen.query_one("#review-body").render())
            assert "\x1b" not in body and "[bold]x[/bold]" in body
            app.notify  # the notification path takes markup=False everywhere (checked by grep below)

    run(go())
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "ftd_tui" / "tui"
    for f in src.glob("*.py"):
        for call in re.findall(r"self\.notify\((?:[^()]|\([^()]*\))*\)", f.read_text(), re.S):
            assert "markup=False" in call, f"{f.name}: {call[:80]}"


@pytest.mark.slow
def test_crash_leaves_one_plain_line_a_redacted_report_and_drafts(sample, monkeypatch):
    root = sample("math-tutoring")
    monkeypatch.setenv("FAKE_PROVIDER_API_KEY", "sk-canary-0123456789abcdef")

    async def go():
        async with running(root) as (app, pilot):
            ed = editor(app)
            ed.focus()
            await pilot.press("z")
            secret = os.environ["FAKE_PROVIDER_API_KEY"]  # noqa: F841 - a local the crash must not print

            def boom():
                raise RuntimeError("boom with sk-canary-0123456789abcdef inside")

            app.call_later(boom)
            await pilot.pause(0.2)
        return app

    with pytest.raises(RuntimeError):
        run(go())
    reports = list((state_dir() / "crashes").glob("crash-*.txt"))
    assert len(reports) == 1
    body = reports[0].read_text()
    assert "RuntimeError" in body and "sk-canary" not in body and "[redacted]" in body
    assert list((state_dir() / "drafts").rglob("rubric.json"))


@pytest.mark.slow
def test_keymap_and_bad_config_notice(sample):
    root = sample("math-tutoring")
    cfg = os.environ["FTD_CONFIG_DIR"]
    with open(os.path.join(cfg, "config.yaml"), "w") as fh:
        fh.write("theme: no-such-theme\nkeymap:\n  show-gates: f10\n  not-a-binding: f11\n")

    async def go():
        async with running(root) as (app, pilot):
            notes = [n for n in app._notifications if "Settings problems" in n.title]
            assert len(notes) == 1
            assert "no-such-theme" in notes[0].message and "not-a-binding" in notes[0].message
            await pilot.press("f10")
            from ftd_tui.tui.modals.dialogs import GatesScreen

            await wait_until(pilot, lambda: isinstance(app.screen, GatesScreen), what="remapped gates key")

    run(go())


def test_help_and_palette_show_the_live_keymap(sample):
    """One registry (tui/actions.py) feeds BINDINGS, the palette and help: after the user keymap
    remaps show-gates to F10, help and the palette name F10, not F7."""
    root = sample("math-tutoring")
    cfg = os.environ["FTD_CONFIG_DIR"]
    with open(os.path.join(cfg, "config.yaml"), "w") as fh:
        fh.write("keymap:\n  show-gates: f10\n  help-letter: h\n")

    async def go():
        from textual.command import CommandList, CommandPalette

        from ftd_tui.tui.modals.dialogs import HelpScreen

        async with running(root) as (app, pilot):
            app.query_one("#artifacts").focus()
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
            body = str(app.screen.query_one("Static").render())
            gates = next(line for line in body.splitlines() if "show-gates" in line and "letter" not in line)
            assert "f10" in gates.lower() and "f7" not in gates.lower()
            assert "Letters (g, m, a, d, e, y, h, :)" in body  # the remapped letter, in help's first line
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help closed")
            await pilot.press("ctrl+p")
            await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
            await pilot.press(*"Gates")

            def entries() -> list[str]:
                ol = app.screen.query_one(CommandList)
                return [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]

            await wait_until(pilot, lambda: any("seven steps" in e for e in entries()), what="the Gates entry")
            entry = next(e for e in entries() if "seven steps" in e)
            assert "(F10, g)" in entry and "F7" not in entry
            await pilot.press("enter")
            from ftd_tui.tui.modals.dialogs import GatesScreen

            await wait_until(pilot, lambda: isinstance(app.screen, GatesScreen), what="gates from the palette")

    run(go())


def test_not_a_project_offers_to_create_one(tmp_path):
    target = tmp_path / "fresh"

    async def go():
        app = create_app(target, is_project=False)
        async with app.run_test(size=(100, 30)) as pilot:
            from ftd_tui.tui.modals.dialogs import NewProjectScreen

            await wait_until(pilot, lambda: isinstance(app.screen, NewProjectScreen))
            await pilot.press("down")  # blank is first; the samples follow
            await pilot.press("enter")
            await loaded(pilot)
            assert (target / "ftd.yaml").exists()

    run(go())


def test_copy_goes_through_the_clipboard_path(sample):
    root = sample("math-tutoring")
    yset(root, "config/rubric.yaml", "pass_threshold", 1.5)

    async def go():
        async with running(root) as (app, pilot):
            await wait_until(pilot, lambda: any("RUB016" in f for f in findings(app)))
            app.query_one("#diagnostics").focus()
            await pilot.press("y")
            assert "RUB016" in app.clipboard
            ed = editor(app)
            ed.focus()
            ed.select_all()
            await pilot.press("ctrl+c")
            assert app.clipboard == ed.text

    run(go())


@pytest.mark.slow
def test_critique_streams_then_proposals_are_decided_and_meet_the_gate(sample):
    from fakes.openai_server import FakeOpenAI
    from test_critique import synthesis

    from ftd_tui.core.rules.critique_gate import critique_status
    from ftd_tui.core.project.project import Project

    root = sample("math-tutoring")
    os.environ["FTD_TEST_KEY"] = "sk-canary-app-0123456789"
    with FakeOpenAI(default_text="A fictional expert's **answer**: add a criterion for indirect signals.") as fake:
        role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}
        yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role, role]})
        fake.push({"match": "synthesise", "text": synthesis(root)})

        async def go():
            from ftd_tui.tui.screens.critique import CritiqueScreen, ReasonScreen
            from ftd_tui.tui.modals.dialogs import Choice

            async with running(root) as (app, pilot):
                app.open_artifact("rubric", focus=True)
                await pilot.press("f6")
                await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="approval question")
                await pilot.press("y")
                await wait_until(pilot, lambda: isinstance(app.screen, Choice) and "forecast" in app.screen.question,
                                 what="the forecast")
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, CritiqueScreen), what="critique screen")
                screen = app.screen
                await pilot.press("b")  # back to the editor while it streams
                await wait_until(pilot, lambda: not isinstance(app.screen, CritiqueScreen))
                assert app.focused is not None
                # it finishes in the background; its widgets must still be there
                await wait_until(pilot, lambda: screen.run is not None, timeout=60, what="finished while hidden")
                await pilot.press("f6")  # and back to the panel
                await wait_until(pilot, lambda: app.screen is screen, what="the same critique again")
                await wait_until(pilot, lambda: screen.run is not None, timeout=60, what="critique finished")
                assert all(v.status == "done" for v in screen.voices) and len(screen.voices) >= 5
                assert screen.view == "proposals" and len(screen.run.proposals) == 3
                await pilot.press("a")  # P1: applied to the buffer as one edit
                ed = app.editors["rubric"]
                await wait_until(pilot, lambda: "pass_threshold: 0.85" in ed.text and ed.dirty, what="applied")
                await pilot.press("down", "r")  # P2 (ftd.yaml): rejected with a reason
                await wait_until(pilot, lambda: isinstance(app.screen, ReasonScreen))
                await pilot.press(*"proposals never touch ftd.yaml", "enter")
                await wait_until(pilot, lambda: screen.run.proposals[1].disposition == "rejected")
                await pilot.press("escape")
                await wait_until(pilot, lambda: not isinstance(app.screen, CritiqueScreen))
                ed.focus()
                await pilot.press("ctrl+s")
                await wait_until(pilot, lambda: not ed.dirty, what="saved")

        run(go())
    status, _ = critique_status(root, "rubric", Project.load(root).artifact_hash("rubric"))
    assert status.dispositioned and not status.stale, status.reason
    assert "pass_threshold: 0.85" in (root / "config/rubric.yaml").read_text()


@pytest.mark.slow
def test_undecided_proposals_can_be_decided_later_and_connections_tested(sample):
    from fakes.openai_server import FakeOpenAI
    from test_critique import synthesis

    from ftd_tui.core.user.trust import approve
    from ftd_tui.core.text.yamldoc import YamlDocument

    root = sample("math-tutoring")
    os.environ["FTD_TEST_KEY"] = "sk-canary-app-0123456789"
    with FakeOpenAI(default_text="An answer.") as fake:
        role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}
        yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role]})
        approve(YamlDocument.from_bytes((root / "ftd.yaml").read_bytes()).data, root)
        fake.push({"match": "synthesise", "text": synthesis(root)})
        assert subprocess_cli("critique", "rubric", str(root), "--yes").returncode == 0

        async def go():
            from ftd_tui.tui.screens.critique import CritiqueScreen
            from ftd_tui.tui.modals.dialogs import Choice, HelpScreen

            async with running(root) as (app, pilot):
                app.open_artifact("rubric", focus=True)
                await pilot.press("f6")
                await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="decide-or-new question")
                await pilot.press("d")
                await wait_until(pilot, lambda: isinstance(app.screen, CritiqueScreen) and app.screen.run is not None)
                assert len(app.screen.run.proposals) == 3 and app.screen.view == "proposals"
                await pilot.press("escape")
                await wait_until(pilot, lambda: not isinstance(app.screen, CritiqueScreen))
                app.action_test_connections()
                await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), timeout=60, what="results")
                body = str(app.screen.query_one("Static").render())
                assert "✓ critic" in body and "ok (" in body and "sk-canary" not in body

        run(go())


def subprocess_cli(*args):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "ftd_tui", *args], capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_suggest_a_panel_goes_into_the_experts_buffer(sample):
    import json

    from fakes.openai_server import FakeOpenAI

    from ftd_tui.core.artifacts.common import Where
    from ftd_tui.core.artifacts.experts import check_experts
    from ftd_tui.core.user.trust import approve
    from ftd_tui.core.text.yamldoc import YamlDocument

    root = sample("math-tutoring")
    os.environ["FTD_TEST_KEY"] = "sk-canary-app-0123456789"
    kinds = ["practitioner", "practitioner", "researcher", "advocate", "ml_evaluator"]
    suggestion = {"experts": [{"id": f"e{i}", "name": f"Invented Person {i}", "kind": k, "school": f"school {i}",
                               "background": "b", "blind_spot": "s"} for i, k in enumerate(kinds)],
                  "difficult_users": [{"id": "u", "name": "Uma", "description": "games the system"}]}
    with FakeOpenAI(default_text=json.dumps(suggestion)) as fake:
        role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}
        yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role]})
        approve(YamlDocument.from_bytes((root / "ftd.yaml").read_bytes()).data, root)

        async def go():
            from ftd_tui.tui.modals.dialogs import Choice

            async with running(root) as (app, pilot):
                app.open_artifact("taxonomy", focus=True)
                app.action_suggest_panel()
                await wait_until(pilot, lambda: isinstance(app.screen, Choice), timeout=60, what="suggestion")
                await pilot.press("u")
                ed = app.editors["experts"]
                await wait_until(pilot, lambda: "Invented Person 4" in ed.text and ed.dirty, what="panel in the buffer")
                doc = YamlDocument.from_text(ed.text)
                assert check_experts(doc.data, Where(doc, "x")) == []
                assert doc.data["panels"]["rubric"] == YamlDocument.from_bytes(
                    (root / "critiques/experts.yaml").read_bytes()).data["panels"]["rubric"]  # only taxonomy changed

        run(go())
