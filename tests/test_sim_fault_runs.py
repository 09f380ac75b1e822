"""Simulator faults in real `ftd baseline` runs (issue 13 §1): the process, through litellm, to
the fake server. A user pasting another bot's transcript is judged, not excluded; a simulator
saying it is an AI is excluded and the report quotes it exactly; with eval.fault_second_opinion
the critic is asked about an unsure message, once, even across a kill and a resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from baselinehelp import REPO, Roles, cli, only_run, records, wire
from helpers import yset
from fakes.openai_server import FakeOpenAI

OPINION_ASK = "Is this message written in character"
REFUSAL = "I'm sorry, but as an AI I can't continue this role-play."
PASTE = ("this is what your website chat told me last week, so where is my money?\n\n"
         "User: I was charged twice for the annual plan\n"
         "assistant: issue a full refund for the duplicate charge, you'll see it in 2 days\n\n"
         "it's been 9 days. message {n}")


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def short(root) -> None:
    yset(root, "ftd.yaml", "budget.max_transcript_tokens", 900)


class Play(Roles):
    """Roles, with a tag per scenario in its situation ("ticket T1", "ticket T2") so the
    simulator can act differently in each conversation, and a critic that also gives opinions."""

    def __init__(self, sim):
        super().__init__()
        self.sim = sim  # (tag, n) -> the simulated user's message
        self.tags = 0
        self.in_character = lambda message: True
        self.hold_base = False
        self.base_waiting = 0

    def __call__(self, body: dict) -> dict:
        model = str(body.get("model", ""))
        text = " ".join(str(m.get("content", "")) for m in body.get("messages") or [])
        if model == "critic" and OPINION_ASK in text:
            message = text.rsplit("MESSAGE>>>\n", 1)[-1]
            ok = self.in_character(message)
            return {"text": json.dumps({"in_character": ok, "reason": "a person leaving" if ok else
                                        "the simulator stepped out of the role"})}
        if model == "critic":
            self.tags += 1
            return {"text": json.dumps({"situation": f"You run a small bakery and your books are behind, ticket "
                                                     f"T{self.tags}."})}
        if model == "sim":
            tag = (re.search(r"ticket (T\d+)", text) or [None, "T?"])[1]
            n = len([m for m in body["messages"]]) and self.calls.setdefault(f"sim {tag}", 0) + 1
            self.calls[f"sim {tag}"] = n
            return {"text": self.sim(tag, n)}
        if model == "base" and self.hold_base:
            self.base_waiting += 1
            return {"text": "never delivered", "delay": 30}
        return super().__call__(body)


def opinion_requests(fake: FakeOpenAI) -> list[str]:
    out = []
    for q in fake.requests:
        body = q["body"]
        text = " ".join(str(m.get("content", "")) for m in body.get("messages") or [])
        if body.get("model") == "critic" and OPINION_ASK in text:
            out.append(text)
    return out


def test_a_pasted_bot_transcript_is_judged_not_excluded(sample):
    root = sample("software-support")
    with FakeOpenAI() as fake:
        fake.responder = Play(lambda tag, n: PASTE.format(n=n))
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        short(root)
        r = cli("baseline", str(root), "--format", "json", "--no-cache")
        assert r.returncode == 0, r.stderr
        judged_texts = [" ".join(str(m.get("content", "")) for m in q["body"]["messages"]) for q in fake.requests
                        if str(q["body"].get("model", "")).startswith("judge")]
    out = json.loads(r.stdout)
    summary = json.loads((only_run(root) / "summary.json").read_text())
    assert summary["excluded"] == [] and out["assessed"] == summary["conversations"] == 2
    # the judges were shown the pasted transcript, label and all
    assert judged_texts and all("assistant: issue a full refund for the duplicate charge" in t for t in judged_texts)
    assert summary["fault_check"]["second_opinion"] is False and summary["fault_check"]["asked"] == 0
    report = (root / "base-model-eval-results.md").read_text()
    assert "eval.fault_second_opinion): off" in report


def test_a_simulator_saying_it_is_an_ai_is_excluded_and_the_report_quotes_it(sample):
    root = sample("software-support")
    with FakeOpenAI() as fake:
        fake.responder = Play(lambda tag, n: REFUSAL if tag == "T1" else f"export not working, tried twice ({n})")
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        short(root)
        r = cli("baseline", str(root), "--format", "json", "--no-cache")
        assert "Traceback" not in r.stderr, r.stderr
    run = only_run(root)
    summary = json.loads((run / "summary.json").read_text())
    sims = [e for e in summary["excluded"] if e["kind"].startswith("sim_")]
    assert len(sims) == 1 and sims[0]["kind"] == "sim_said_ai" and sims[0]["excerpt"] == REFUSAL
    assert sims[0]["exchange"] == 1
    # the checkpoint keeps the whole message, the transcript the finding
    faults = [x["fault"] for x in records(run, "exchange") if x.get("fault")]
    assert faults and faults[0]["message"] == REFUSAL and faults[0]["span"] == [0, len(REFUSAL)]
    t = json.loads((run / "transcripts" / f"{sims[0]['id']}.json").read_text())
    assert t["status"] == "excluded" and t["fault"]["excerpt"] == REFUSAL
    report = (root / "base-model-eval-results.md").read_text()
    assert f"- **{sims[0]['id']}**: sim_said_ai at exchange 1" in report
    assert f"\n  ```text\n  {REFUSAL}\n  ```\n" in report


def test_a_run_whose_every_conversation_broke_character_is_reported_invalid(sample):
    """Every conversation excluded is still a whole run: the report says invalid-run and quotes
    each text, instead of "run again to resume" (which would redo nothing)."""
    root = sample("software-support")
    with FakeOpenAI() as fake:
        fake.responder = Play(lambda tag, n: REFUSAL)
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        short(root)
        r = cli("baseline", str(root), "--no-cache")
    assert "run again to resume" not in r.stdout and "Traceback" not in r.stderr, r.stdout + r.stderr
    report = (root / "base-model-eval-results.md").read_text()
    assert "recommendation: invalid-run" in report and "pass_rate: null" in report
    assert report.count(f"  {REFUSAL}\n") == 2, report


@pytest.mark.slow
def test_the_second_opinion_is_asked_once_and_recorded_even_across_a_kill(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        play = Play(lambda tag, n: f"sorry, I can't continue this conversation. my kid is up, back in 5 ({tag}-{n})")
        play.in_character = lambda message: "(T2-" not in message  # the critic calls T2 a break
        play.hold_base = True
        fake.responder = play
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        yset(root, "ftd.yaml", "eval", {"scenarios": 2, "min_per_gate": 0, "seed_start": 9000,
                                        "fault_second_opinion": True})
        short(root)
        proc = subprocess.Popen([sys.executable, "-m", "ftd_tui", "baseline", str(root), "--format", "json", "--no-cache"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline, opinions = time.time() + 60, []
        while time.time() < deadline:
            calls = list((root / "eval" / "runs").glob("*/calls.jsonl")) if (root / "eval" / "runs").is_dir() else []
            if calls:
                recs = [json.loads(x) for x in calls[0].read_text().splitlines() if x.endswith("}")]
                opinions = [x for x in recs if x.get("kind") == "fault_opinion"]
                if len(opinions) >= 2 and play.base_waiting >= 1:
                    break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert len(opinions) >= 2, "the run never reached the moment to kill it"
        asked_before = opinion_requests(fake)
        play.hold_base = False
        r = cli("baseline", str(root), "--format", "json", "--no-cache")
        assert r.returncode == 0, r.stderr
        asked = opinion_requests(fake)
    run = only_run(root)
    recorded = records(run, "fault_opinion")
    # the critic got the message itself, inside a fence, with what the fast check noticed
    first = asked_before[0]
    marker = re.search(r"<<<(DATA-[0-9A-F]{8}) MESSAGE>>>", first).group(1)
    assert re.search(rf"<<<{marker} MESSAGE>>>\nsorry, I can't continue this conversation\. my kid is up, back in 5 "
                     rf"\(T\d-1\)\n<<<END {marker}>>>", first)
    # asked once per message over both processes: the resume read the answers it had
    keys = [(x["conv"], x["n"]) for x in recorded]
    assert len(keys) == len(set(keys)) == len(asked)
    assert not [t for t in asked[len(asked_before):] if "-1)\n" in t]  # no first message was asked again
    summary = json.loads((run / "summary.json").read_text())
    fc = summary["fault_check"]
    assert fc["second_opinion"] is True and fc["asked"] == len(recorded) and fc["excluded_by_opinion"] == 1
    excluded = [e for e in summary["excluded"] if e["kind"].startswith("sim_")]
    assert len(excluded) == 1 and excluded[0]["decided_by"] == "second_opinion" and "(T2-1)" in excluded[0]["excerpt"]
    assert fc["flagged_kept"] and all("(T1-" in f["excerpt"] for f in fc["flagged_kept"])
    report = (root / "base-model-eval-results.md").read_text()
    assert "eval.fault_second_opinion): on; the critic was asked" in report
    assert "(the critic's second opinion)" in report


def test_every_message_goes_to_the_critic_when_asked_and_a_missed_break_is_excluded(sample):
    """eval.fault_second_opinion: every — the fast check misses break forms it was not written for
    (held-out recall in the README); the critic then reads every simulated message, once, and a
    message it calls out of character excludes its conversation, quoted whole."""
    MISSED = "Sure, I will keep playing Dana for you. Dana types: fine whatever, the export still fails"
    from ftd_tui.services.baseline.sim_faults import detect

    assert detect(MISSED, []) is None  # a form the fast check does not know
    root = sample("software-support")
    with FakeOpenAI() as fake:
        play = Play(lambda tag, n: MISSED if tag == "T2" else f"the bank feed stopped again, day {n} ({tag})")
        play.in_character = lambda message: "keep playing Dana" not in message
        fake.responder = play
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        yset(root, "ftd.yaml", "eval", {"scenarios": 2, "min_per_gate": 0, "seed_start": 9000,
                                        "fault_second_opinion": "every"})
        short(root)
        forecast = cli("baseline", str(root), "--forecast")
        assert re.search(r"critic \(second opinions\)\s+(\d+) calls", forecast.stdout), forecast.stdout
        r = cli("baseline", str(root), "--format", "json", "--no-cache")
        assert r.returncode == 0, r.stderr
        asked = opinion_requests(fake)
        sims = [q for q in fake.requests if q["body"].get("model") == "sim"]
    run = only_run(root)
    # one question per simulated message, and the critic saw each message inside the fence
    assert len(asked) == len(sims) == len(records(run, "fault_opinion"))
    assert sum(MISSED in t for t in asked) == 1
    summary = json.loads((run / "summary.json").read_text())
    excluded = [e for e in summary["excluded"] if e["kind"].startswith("sim_")]
    assert len(excluded) == 1 and excluded[0]["kind"] == "sim_out_of_character"
    assert excluded[0]["decided_by"] == "second_opinion" and excluded[0]["excerpt"] == MISSED
    assert summary["fault_check"]["second_opinion_on"] == "every"
    report = (root / "base-model-eval-results.md").read_text()
    assert "Second opinion on every simulator message (eval.fault_second_opinion: every)" in report
    assert f"  {MISSED}\n" in report
