"""End to end in real tmux at 80x24: launch, open through the palette, type, save, outside
edits, quitting with unsaved work, hostile text, and text snapshots of a few screens."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tmuxhelp import Tmux, have_tmux

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)")]
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
    launch(tmux, root, tmp_path)
    tmux.wait_for(lambda s: "RUB026" in s and "saved" in s)  # the slack line: the checks have run
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


def test_f4_hands_the_terminal_to_editor_and_reloads(tmux, sample, tmp_path):
    root = sample("math-tutoring")
    script = tmp_path / "fake-editor.sh"
    script.write_text("#!/bin/sh\nprintf '# added in $EDITOR\\n' >> \"$1\"\n")
    script.chmod(0o755)
    env = env_for(tmp_path)
    env["EDITOR"] = str(script)
    env["VISUAL"] = ""
    tmux.start([str(root)], env)
    tmux.wait_for(lambda s: "config/rubric.yaml" in s and "RUB026" in s, what="loaded")
    tmux.send("C-p")
    tmux.wait_for("Search for commands")
    tmux.type("Open: System")
    tmux.wait_for("Open: System prompt")
    tmux.send("Enter")
    tmux.wait_for("config/system-prompt.md ─")
    tmux.send("F4")
    f = root / "config/system-prompt.md"
    deadline = __import__("time").monotonic() + 10
    while not f.read_text().endswith("# added in $EDITOR\n"):
        assert __import__("time").monotonic() < deadline, "the editor never ran"
        __import__("time").sleep(0.05)
    tmux.wait_for("reloaded config/system-prompt.md", what="reload notice")
    assert not tmux.dead()


def test_hangup_keeps_unsaved_work_as_a_draft(tmux, sample, tmp_path):
    root = sample("math-tutoring")
    env = env_for(tmp_path)
    (Path(env["FTD_CONFIG_DIR"]) / "config.yaml").write_text("draft_interval_s: 60\n")  # no timer will save it
    tmux.start([str(root)], env)
    tmux.wait_for(lambda s: "config/rubric.yaml" in s and "RUB026" in s, what="loaded")
    tmux.type("# typed just before the connection dropped")
    tmux.wait_for("modified")
    pane_pid = tmux.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip()
    import subprocess
    import time

    kids = subprocess.run(["pgrep", "-P", pane_pid], capture_output=True, text=True).stdout.split()
    app_pid = int(kids[0]) if kids else int(pane_pid)
    os.kill(app_pid, 1)  # SIGHUP
    drafts = Path(env["FTD_STATE_DIR"]) / "drafts"
    deadline = time.monotonic() + 10
    while not list(drafts.rglob("rubric.json")):
        assert time.monotonic() < deadline, "no draft after SIGHUP"
        time.sleep(0.05)
    import json

    text = json.loads(next(drafts.rglob("rubric.json")).read_text())["text"]
    assert text.startswith("# typed just before the connection dropped")
    # and the process is gone: no orphan left spinning on a closed terminal
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(app_pid, 0)
        except ProcessLookupError:
            break
        state = Path(f"/proc/{app_pid}/stat").read_text().split()[2] if Path(f"/proc/{app_pid}/stat").exists() else "X"
        if state == "Z":
            break  # exited, waiting for its parent to reap it
        assert time.monotonic() < deadline, "the app kept running after SIGHUP"
        time.sleep(0.05)


def test_no_app_survives_its_tmux_server(tmux, sample, tmp_path):
    """Killing the tmux server (every test's teardown, a closed terminal) must end the app."""
    import subprocess
    import time

    root = sample("math-tutoring")
    launch(tmux, root, tmp_path)
    pane_pid = tmux.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip()
    kids = subprocess.run(["pgrep", "-P", pane_pid], capture_output=True, text=True).stdout.split()
    app_pid = int(kids[0]) if kids else int(pane_pid)
    tmux.kill()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{app_pid}").exists() and Path(f"/proc/{app_pid}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the app is still running after its terminal went away"
        time.sleep(0.05)


def test_canary_key_never_reaches_the_screen_or_a_file(tmux, sample, tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fakes.openai_server import FakeOpenAI

    from ftd_tui.core.text.yamldoc import YamlDocument

    canary = "sk-canary-e2e-5f0a9c1d2b"
    root = sample("math-tutoring")
    with FakeOpenAI(default_text="unused") as fake:
        # every call fails, and the server echoes the key in its error
        fake.push(*[{"status": 500, "message": f"upstream saw key {canary}"}] * 60)
        f = root / "ftd.yaml"
        role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_CANARY_KEY"}
        doc = YamlDocument.from_bytes(f.read_bytes()).set("models", {"critic": role, "judges": [role, role]})
        f.write_bytes(doc.to_bytes())
        env = env_for(tmp_path)
        env["FTD_CANARY_KEY"] = canary
        tmux.start([str(root)], env)
        tmux.wait_for(lambda s: "config/rubric.yaml" in s and "RUB026" in s, what="loaded")
        tmux.send("F6")
        tmux.wait_for("need your approval", what="approval question")
        tmux.send("y")
        tmux.wait_for("the forecast", what="the critique's forecast")
        tmux.send("Enter")
        screen = tmux.wait_for(lambda s: "Critique failed" in s or "no expert answered" in s, timeout=60,
                               what="the induced error")
        assert canary not in screen
        tmux.send("Escape")
        tmux.send("C-q")
    for folder in (root, tmp_path):
        for path in folder.rglob("*"):
            if path.is_file():
                assert canary.encode() not in path.read_bytes(), path


def test_baseline_on_a_hotkey_in_a_real_terminal(tmux, sample, tmp_path):
    """F5 → forecast → Enter → results over a real tty; hostile model text stays inert."""
    from baselinehelp import Roles, wire
    from fakes.openai_server import FakeOpenAI

    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.no = {"CRAFT1"}
        # the base model answers with an escape sequence that would set the clipboard (OSC 52)
        roles.base_entry = {"text": "Noted.\x1b]52;c;" + base64.b64encode(b"pwned").decode() + "\x07 What next?"}
        fake.responder = roles
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        launch(tmux, root, tmp_path)
        tmux.send("F5")
        tmux.wait_for("judge calls", timeout=20, what="forecast")
        tmux.send("Enter")
        screen = tmux.wait_for("Baseline results", timeout=90, what="results")
        assert "pass rate" in screen and "█" in screen
        tmux.send("Enter")  # the highlighted (first) conversation
        tmux.wait_for("[1] user", timeout=15, what="transcript")
        tmux.send("Tab")  # to the conversation, then down to the replies
        tmux.send("PageDown")
        screen = tmux.wait_for("What next?", timeout=15, what="the base model's reply on screen")
        assert "pwned" not in screen and "]52;" not in screen
        clip = tmux.tmux("show-buffer", check=False)
        assert "pwned" not in clip
