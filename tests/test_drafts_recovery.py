"""A recovered draft stays on disk until its text is saved to the file or the user discards it:
offering it, "decide later", restoring it without saving, a second drop — none of them loses it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from apphelp import editor, run, running, wait_until

TYPED = "# Notiz: Kriterium CQ3 prüfen — \"the judge keeps flagging polite refusals\"\n"


@pytest.fixture(autouse=True)
def harmless_editor(monkeypatch):
    monkeypatch.setenv("EDITOR", "true")


def drafts_dir() -> Path:
    return Path(os.environ["FTD_STATE_DIR"]) / "drafts"


def rubric_drafts() -> list[Path]:
    """This session's (rubric.json) and any set aside from earlier sessions (rubric.<ms>.json)."""
    return sorted(drafts_dir().rglob("rubric*.json"))


def rubric_draft() -> Path | None:
    found = rubric_drafts()
    return found[0] if found else None


def draft_text() -> str | None:
    """The newest kept text of the rubric, from whichever draft file holds it."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in rubric_drafts()]
    return max(records, key=lambda r: r["saved_at"])["text"] if records else None


async def type_unsaved(app, pilot, text: str = TYPED) -> None:
    app.config.draft_interval_s = 0.2
    ed = editor(app)
    assert ed.artifact_id == "rubric"  # the start-up buffer
    ed.focus()
    ed.move_cursor((0, 0))
    ed.insert(text)
    await wait_until(pilot, lambda: (draft_text() or "").startswith(text), what="draft written")


def drop_session(root) -> None:
    """A first session types into the start-up buffer and is lost: no save, no quit dialog."""

    async def first():
        async with running(root) as (app, pilot):
            await type_unsaved(app, pilot)
            app.exit()

    run(first())
    assert (draft_text() or "").startswith(TYPED)


async def offered(app, pilot):
    from ftd_tui.tui.modals.dialogs import DraftsScreen

    await wait_until(pilot, lambda: isinstance(app.screen, DraftsScreen), what="drafts offered")


async def idle(pilot, seconds: float) -> None:
    """Long enough for every draft timer (0.2-1 s) and a disk poll to have fired."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await pilot.pause(0.1)


@pytest.mark.slow
def test_an_offered_draft_is_still_on_disk_while_the_user_decides(sample):
    root = sample("math-tutoring")
    drop_session(root)

    async def second():
        async with running(root) as (app, pilot):
            app.config.draft_interval_s = 0.2
            await offered(app, pilot)
            await idle(pilot, 2.5)
            assert (draft_text() or "").startswith(TYPED), "the draft went while it was being offered"

    run(second())


@pytest.mark.slow
def test_decide_later_then_quit_keeps_the_draft_and_offers_it_again(sample):
    root = sample("math-tutoring")
    drop_session(root)

    async def later():
        async with running(root) as (app, pilot):
            app.config.draft_interval_s = 0.2
            await offered(app, pilot)
            await pilot.press("escape")  # decide later
            await idle(pilot, 2.0)
            assert (draft_text() or "").startswith(TYPED)
            await pilot.press("ctrl+q")
            await idle(pilot, 0.3)

    run(later())
    assert (draft_text() or "").startswith(TYPED) and len(rubric_drafts()) == 1

    async def again():
        async with running(root) as (app, pilot):
            await offered(app, pilot)
            await pilot.press("r")
            ed = app.editors["rubric"]
            await wait_until(pilot, lambda: ed.text.startswith(TYPED) and ed.dirty, what="restored")

    run(again())


@pytest.mark.slow
def test_a_restored_draft_survives_a_second_drop_and_goes_only_when_saved(sample):
    root = sample("math-tutoring")
    drop_session(root)
    on_disk = (root / "config/rubric.yaml").read_text()

    async def restore_then_drop():
        async with running(root) as (app, pilot):
            app.config.draft_interval_s = 0.2
            await offered(app, pilot)
            await pilot.press("r")
            ed = app.editors["rubric"]
            await wait_until(pilot, lambda: ed.text.startswith(TYPED) and ed.dirty, what="restored")
            await idle(pilot, 1.5)
            assert (draft_text() or "").startswith(TYPED), "a restored, unsaved draft was deleted"
            ed.move_cursor((1, 0))
            ed.insert("# und noch eine Zeile nach dem Wiederherstellen\n")
            await wait_until(pilot, lambda: "nach dem Wiederherstellen" in (draft_text() or ""), what="draft updated")
            app.exit()  # dropped again

    run(restore_then_drop())
    assert (root / "config/rubric.yaml").read_text() == on_disk
    assert "nach dem Wiederherstellen" in (draft_text() or "") and len(rubric_drafts()) == 1  # adopted, not copied

    async def restore_and_save():
        async with running(root) as (app, pilot):
            await offered(app, pilot)
            await pilot.press("r")
            ed = app.editors["rubric"]
            await wait_until(pilot, lambda: ed.text.startswith(TYPED) and ed.dirty, what="restored")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not ed.dirty, what="saved")
            await wait_until(pilot, lambda: rubric_draft() is None, what="draft gone after the save")

    run(restore_and_save())
    assert (root / "config/rubric.yaml").read_text().startswith(TYPED)


@pytest.mark.slow
def test_discard_is_the_only_other_way_a_draft_goes(sample):
    root = sample("math-tutoring")
    drop_session(root)

    async def discard():
        async with running(root) as (app, pilot):
            await offered(app, pilot)
            await pilot.press("x")
            await wait_until(pilot, lambda: rubric_draft() is None, what="discarded")

    run(discard())


@pytest.mark.slow
def test_typing_after_decide_later_keeps_both_drafts(sample):
    root = sample("math-tutoring")
    drop_session(root)
    newer = "# zweite Sitzung: 'Decide later' gewählt, dann weitergeschrieben\n"

    async def later_then_type_then_drop():
        async with running(root) as (app, pilot):
            await offered(app, pilot)
            await pilot.press("escape")
            await type_unsaved(app, pilot, newer)
            app.exit()

    run(later_then_type_then_drop())
    texts = sorted(json.loads(p.read_text(encoding="utf-8"))["text"] for p in rubric_drafts())
    assert len(texts) == 2 and texts[0].startswith(TYPED) and texts[1].startswith(newer)

    async def both_offered():
        from ftd_tui.tui.modals.dialogs import DraftItem

        async with running(root) as (app, pilot):
            await offered(app, pilot)
            assert len(app.screen.query(DraftItem)) == 2

    run(both_offered())


@pytest.mark.skipif(not __import__("tmuxhelp").have_tmux(), reason="tmux is not installed (.ci/run installs it)")
@pytest.mark.slow
@pytest.mark.e2e
def test_a_real_hangup_then_decide_later_keeps_the_draft(sample, tmp_path):
    import subprocess

    from tmuxhelp import Tmux

    root = sample("math-tutoring")
    env = {"TERM": "tmux-256color", "LANG": "C.UTF-8", "COLORTERM": ""}
    for name in ("CONFIG", "STATE", "CACHE"):
        d = tmp_path / f"user-{name.lower()}"
        d.mkdir(exist_ok=True)
        env[f"FTD_{name}_DIR"] = str(d)
    (tmp_path / "user-config" / "config.yaml").write_text("draft_interval_s: 0.2\n")
    drafts = tmp_path / "user-state" / "drafts"

    def kept() -> list[str]:
        return [json.loads(p.read_text(encoding="utf-8"))["text"] for p in drafts.rglob("rubric*.json")]

    t = Tmux(tmp_path)
    try:
        t.start([str(root)], env)
        t.wait_for(lambda s: "config/rubric.yaml" in s and "RUB026" in s, what="loaded")
        t.type("# getippt kurz bevor die SSH-Verbindung abbrach")
        t.wait_for("modified")
        pane_pid = t.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip()
        kids = subprocess.run(["pgrep", "-P", pane_pid], capture_output=True, text=True).stdout.split()
        os.kill(int(kids[0]) if kids else int(pane_pid), 1)  # SIGHUP
        t.wait_for(lambda s: t.dead(), what="exit on SIGHUP")
    finally:
        t.kill()
    assert any(x.startswith("# getippt kurz") for x in kept())
    for _ in range(2):  # restart, decide later, quit: twice, the draft is still there
        t = Tmux(tmp_path)
        try:
            t.start([str(root)], env)
            t.wait_for("kept as drafts", what="drafts offered")
            time.sleep(2.0)  # every draft timer and disk poll has had its chance
            assert any(x.startswith("# getippt kurz") for x in kept()), "deleted while offered"
            t.send("Escape")
            t.wait_for(lambda s: "kept as drafts" not in s, what="decide later")
            time.sleep(1.0)
            t.send("C-q")
            t.wait_for(lambda s: t.dead(), what="quit")
        finally:
            t.kill()
        assert any(x.startswith("# getippt kurz") for x in kept()), "lost after decide later and quit"
