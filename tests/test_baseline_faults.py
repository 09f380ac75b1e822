"""The baseline under faults (issue 12, items 3, 8, 12, 13): the real `ftd baseline` process,
through litellm, to the fake server — judges that never answer in JSON, a kill while the base
model is answering, the same --scenarios twice, and a base model answering with terminal escapes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from baselinehelp import REPO, Roles, cli, only_run, records, wire
from helpers import yset
from fakes.openai_server import FakeOpenAI

from ftd_tui.services.baseline.run_limits import EARLY_STOP_MIN
from ftd_tui.core.rules.checks import check_project
from ftd_tui.core.rules.gates import compute_gates
from ftd_tui.core.text.markdown import parse_markdown
from ftd_tui.core.project.project import Project


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def short(root) -> None:
    """Two or three exchanges per conversation keep each run to a few seconds."""
    yset(root, "ftd.yaml", "budget.max_transcript_tokens", 900)


def sim_requests(fake: FakeOpenAI) -> list[dict]:
    return [q["body"] for q in fake.requests if q["body"].get("model") == "sim"]


@pytest.mark.slow
def test_judges_answering_only_prose_fail_the_run_and_every_request_is_counted(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()

        def answer(body: dict) -> dict:
            if str(body.get("model", "")).startswith("judge"):  # never JSON, not even after the re-ask
                return {"text": "Honestly? I'd say the coach did fine here, mostly. Hard to be sure."}
            return roles(body)

        fake.responder = answer
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        short(root)
        r = cli("baseline", str(root), "--format", "json", "--no-cache")
        sent = len(fake.requests)
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["state"] == "failed" and out["failure"]["kind"] == "judges_unusable"
    assert out["recommendation"] is None and out["pass_rate"] is None
    # the judge that first proved unusable stopped the run; the other is named too once it has
    # answered at all (every one of its answers was ERROR as well)
    assert {u["model"] for u in out["failure"]["judges"]} <= {"openai/judge-a", "openai/judge-b"}
    assert out["failure"]["judges"]
    assert all(u["errors"] == u["answers"] > 0 for u in out["failure"]["judges"])
    run = only_run(root)
    summary = json.loads((run / "summary.json").read_text())
    progress = json.loads((run / "progress.json").read_text())
    assert summary["state"] == "failed" and progress["state"] == "failed"
    # the run stopped paying once a judge was surely past the limit (EARLY_STOP_MIN answers, all
    # ERROR), not after every question and its re-ask: questions are left unanswered for a resume
    judged = progress["stages"]["judgments"]
    assert EARLY_STOP_MIN <= judged["done"] < judged["total"], judged
    assert any("stopped before paying for more" in e for e in summary["errors"])
    # conversations the stop left unjudged are not harness faults, and are never called so
    assert out["unfinished"] and out["excluded"] == 0
    assert {e["kind"] for e in summary["excluded"]} <= {"not_judged", "incomplete"}
    # every request the server received is counted: a judge question recorded as ERROR was asked
    # and re-asked; one stopped before its re-ask was asked once and is recorded as failed
    answers = records(run, "answer")
    assert answers and all(a["answer"] == "ERROR" for a in answers)
    assert out["calls"] == sent
    req = out["requests"]
    failed = records(run, "failed")
    assert req["sent"] == sent and req["failed"] == len(failed) > len(answers)
    asked = sum(u["requests"] for f in failed for u in f["usage"])
    assert asked == 2 * len(answers) + (len(failed) - len(answers))
    assert req["sent"] == req["answered"] + asked
    # without the stop: every question asked twice
    assert req["sent"] < req["answered"] + 2 * judged["total"]
    judge_rows = [u for role, u in summary["usage"].items() if role.startswith("judge")]
    assert sum(u["requests"] for u in judge_rows) == asked and sum(u["calls"] for u in judge_rows) == 0
    # the report says so first and recommends nothing; gate 7 stays open
    report = (root / "base-model-eval-results.md").read_text()
    body = report[report.index("<!-- ftd:generated:start -->"):]
    assert body.index("## Run failed: judges unusable") < body.index("## Recommendation")
    assert "Recommended: **none**" in body and "judge openai/judge-a answered ERROR on" in body
    fm = parse_markdown(report).front_matter.data
    assert fm["recommendation"] is None and fm["pass_rate"] is None
    p = Project.load(root)
    gate7 = next(g for g in compute_gates(p, check_project(p)) if g.step == 7)
    assert not gate7.passed
    # the text form says it too
    r = cli("baseline", str(root))
    assert r.returncode == 1 and "failed: judges unusable" in r.stdout and "Traceback" not in r.stderr
    assert "harness faults" not in r.stdout and "unfinished:" in r.stdout
    assert "0 excluded (harness faults)" in (root / "base-model-eval-results.md").read_text()


class SlowBase:
    """Plays every role; while ``hold`` is set, a base request is left waiting (the kill comes
    while the base model is still answering)."""

    def __init__(self):
        self.roles = Roles()
        self.hold = True
        self.waiting = 0
        self.lock = threading.Lock()

    def __call__(self, body: dict) -> dict:
        if body.get("model") == "base" and self.hold:
            with self.lock:
                self.waiting += 1
            return {"text": "never delivered", "delay": 30}
        return self.roles(body)


@pytest.mark.slow
def test_a_run_killed_while_the_base_model_answers_never_asks_the_simulator_again(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        play = SlowBase()
        fake.responder = play
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        short(root)
        proc = subprocess.Popen([sys.executable, "-m", "ftd_tui", "baseline", str(root), "--format", "json", "--no-cache"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 60
        held: list[dict] = []
        while time.time() < deadline:
            calls = list((root / "eval" / "runs").glob("*/calls.jsonl")) if (root / "eval" / "runs").is_dir() else []
            if calls:
                recs = [json.loads(x) for x in calls[0].read_text().splitlines() if x.endswith("}")]
                held = [x for x in recs if x.get("kind") == "user_message"]
                # every conversation's first message is answered and on disk; its base reply is pending
                if len(held) >= 2 and play.waiting >= 2:
                    break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(held) >= 2 and play.waiting >= 2, "the run never reached the moment to kill it"
        run = only_run(root)
        assert not [x for x in records(run, "exchange") if x.get("assistant") is not None]  # no base reply yet
        before = len(sim_requests(fake))
        play.hold = False
        r = cli("baseline", str(root), "--format", "json", "--no-cache")
        assert r.returncode == 0, r.stderr
        sims = sim_requests(fake)
    assert only_run(root) == run
    transcripts = [json.loads(p.read_text()) for p in sorted((run / "transcripts").glob("*.json"))]
    exchanges = sum(len(t["exchanges"]) for t in transcripts)
    assert all(t["status"] == "complete" for t in transcripts)
    # one simulator request per exchange over both processes: the answered ones were not re-sent
    assert len(sims) == exchanges
    # and the resumed base model got exactly the message the simulator wrote before the kill
    first = {x["conv"]: x["user"] for x in held if x["n"] == 1}
    assert {t["id"]: t["exchanges"][0]["user"] for t in transcripts if t["id"] in first} == first
    assert before == len(held)


@pytest.mark.slow
def test_the_same_scenarios_request_twice_resumes_even_when_gates_added_scenarios(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        wire(root, fake.base_url, scenarios=2, min_per_gate=1)
        short(root)
        r = cli("baseline", str(root), "--scenarios", "2", "--format", "json")
        assert r.returncode == 0, r.stderr
        first = json.loads(r.stdout)
        # the safety gates' own scenarios grew the list past the 2 asked for
        assert first["scenarios"] > 2
        r = cli("baseline", str(root), "--scenarios", "2", "--format", "json")
        assert r.returncode == 0, r.stderr
        again = json.loads(r.stdout)
    assert again["run"] == first["run"] and again["calls"] == 0 and only_run(root).name == first["run"]
    # a genuinely different request still says what to do, located at the file
    r = cli("baseline", str(root), "--scenarios", "7")
    assert r.returncode == 1
    assert f"eval/scenarios.yaml holds {first['scenarios']} scenarios, not 7: add --redraw" in r.stderr
    assert "Traceback" not in r.stderr


HOSTILE = ("Entiendo, suena agotador. \x1b]52;c;cm0gLXJmIH4=\x07Try one small step today\x1b[2J — "
           "\x9b31mmaybe\x9b0m a 10-minute walk? \u202eesrever\u202c \x1b]0;pwned\x07\x1b]8;;http://x.example\x07link"
           "\x1b]8;;\x07 ¿Qué te parece?")
RAW = (b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode(), "\u202c".encode())


def test_a_base_model_answering_with_escapes_is_stored_escaped_and_exact(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.base_entry = {"text": HOSTILE}
        fake.responder = roles
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        short(root)
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
    run = only_run(root)
    written = [p for p in run.rglob("*") if p.is_file()] + [root / "base-model-eval-results.md"]
    assert {p.name for p in written} >= {"calls.jsonl", "judgments.jsonl", "summary.json", "progress.json",
                                         "manifest.json", "scenarios.json"}
    for p in written:
        data = p.read_bytes()
        assert not [b for b in RAW if b in data], p
    # json.loads gives the model's reply back byte for byte
    t = json.loads(next((run / "transcripts").glob("*.json")).read_text(encoding="utf-8"))
    assert t["exchanges"] and all(e["assistant"] == HOSTILE for e in t["exchanges"])
    assert all(x["assistant"] == HOSTILE for x in records(run, "exchange"))
    assert not [b for b in RAW if b in r.stdout.encode()]
