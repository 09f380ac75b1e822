"""End to end in real tmux at 80x24: launch, open through the palette, type, save, outside
edits, quitting with unsaved work, hostile text, and text snapshots of a few screens."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tmuxhelp import Tmux, have_tmux

pytestmark = pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)")
SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    yield t
    t.kill()


def env_for(tmp_path) -> dict[str, str]:
    env = {"TERM": "tmux-256color", "LANG": "C.UTF-8", "COLORTERM": ""}
    for name in ("CONFIG", "STATE", "CACHE"):
        d = tmp_path / f"user-{name.lower()}"
        d.mkdir(exist_ok=True)
        env[f"FTD_{name}_DIR"] = str(d)
    return env


def launch(tmux, root, tmp_path, *extra):
    tmux.start([str(root), *extra], env_for(tmp_path))
    return tmux.wait_for(lambda s: s.startswith(" Next") and "config/rubric.yaml" in s, what="first screen")


def test_palette_type_save(tmux, sample, tmp_path):
    root = sample("math-tutoring")
    launch(tmux, root, tmp_path)
    tmux.send("C-p")
    tmux.wait_for("Search for commands", what="palette")
    tmux.type("Open: Persona")
    tmux.wait_for("Open: Persona template")
    tmux.send("Enter")
    tmux.wait_for("config/persona-template.yaml ─", what="personas in the editor")
    tmux.type("# typed in tmux")
    tmux.send("Enter")
    tmux.wait_for("modified")
    tmux.send("C-s")
    tmux.wait_for("saved config/persona-template.yaml", what="save notice")
    assert (root / "config/persona-template.yaml").read_text().startswith("# typed in tmux\n")


def test_outside_edit_while_dirty(tmux, sample, tmp_path):
    root = sample("math-tutoring")
    launch(tmux, root, tmp_path)
    tmux.type("# mine")
    tmux.send("Enter")
    tmux.wait_for("modified")
    f = root / "config/rubric.yaml"
    theirs = f.read_text() + "# theirs\n"
    f.write_text(theirs)
    tmux.wait_for("changed on disk while you had unsaved", what="conflict dialog")
    tmux.send("d")
    tmux.wait_for("on disk → yours", what="diff")
    tmux.wait_for("+# mine", what="our line in the diff")
    tmux.send("Escape")
    tmux.wait_for("Keep mine", what="back to the question")
    tmux.send("t")
    tmux.wait_for(lambda s: "modified" not in s, what="took theirs")
    assert f.read_text() == theirs


def test_quit_with_unsaved_work(tmux, sample, tmp_path):
    root = sample("math-tutoring")
    launch(tmux, root, tmp_path)
    before = (root / "config/rubric.yaml").read_text()
    tmux.type("unsaved")
    tmux.wait_for("modified")
    tmux.send("C-q")
    tmux.wait_for("Unsaved changes in config/rubric.yaml", what="quit question")
    tmux.send("c")
    tmux.wait_for(lambda s: "Unsaved changes" not in s)
    assert not tmux.dead()
    tmux.send("C-q")
    tmux.wait_for("Unsaved changes")
    tmux.send("x")
    tmux.wait_for(lambda s: tmux.dead(), what="exit")
    assert (root / "config/rubric.yaml").read_text() == before


def test_hostile_text_cannot_reach_the_terminal(tmux, sample, tmp_path):
    root = sample("math-tutoring")
    payload = base64.b64encode(b"pwned-by-a-rubric").decode()
    f = root / "config/rubric.yaml"
    f.write_text(f"# \x1b]52;c;{payload}\x07 [/] [bold]not bold[/bold] \x1b[2J\n" + f.read_text())
    screen = launch(tmux, root, tmp_path)
    assert "[/] [bold]not bold[/bold]" in screen and "␛]52;c;" in screen
    buffers = tmux.tmux("list-buffers", check=False)
    assert "pwned" not in buffers
    assert not tmux.dead()


def _snapshot(name: str, screen: str) -> None:
    lines = [l.rstrip() for l in screen.rstrip("\n").splitlines()]
    text = "\n".join(lines) + "\n"
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("FTD_UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
        if not os.environ.get("FTD_UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {name} was missing and has been written; rerun")
    assert text == path.read_text(), f"screen differs from tests/snapshots/{name}.txt:\n{text}"


def test_snapshots_80x24(tmux, sample, tmp_path):
    root = sample("math-tutoring")
    screen = launch(tmux, root, tmp_path)
    tmux.wait_for(lambda s: "no findings" in s and "saved" in s)
    _snapshot("main-80x24", tmux.settled())
    tmux.send("F7")
    tmux.wait_for("Gates: Enter opens")
    _snapshot("gates-80x24", tmux.settled())
    tmux.send("Escape")
    tmux.wait_for(lambda s: "Gates: Enter opens" not in s)
    tmux.send("F8")
    tmux.wait_for("REVIEW · gates")
    _snapshot("review-80x24", tmux.settled())
    tmux.send("q")
    tmux.wait_for(lambda s: "REVIEW" not in s)
    tmux.send("F3")
    tmux.wait_for("critiques/experts.yaml")
    _snapshot("artifacts-80x24", tmux.settled())
