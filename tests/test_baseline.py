"""The baseline run end to end: the real `ftd baseline` process, through litellm, to the local
fake server playing critic, simulator, base model and judges."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from baselinehelp import REPO, Roles, cli, cli_process, judgments, only_run, records, wire
from fakes.openai_server import FakeOpenAI
from helpers import replace, yset

from ftd_tui.core.rules.checks import check_project
from ftd_tui.core.rules.gates import compute_gates
from ftd_tui.core.text.markdown import parse_markdown
from ftd_tui.core.project.project import Project
from ftd_tui.core.evaluation.runs import inputs_hash_of


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def gate7(root):
    p = Project.load(root)
    return next(g for g in compute_gates(p, check_project(p)) if g.step == 7)


@pytest.mark.slow
def test_a_run_makes_multi_turn_conversations_judges_them_and_writes_the_report(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.no = {"CRAFT1"}  # one criterion fails everywhere
        fake.responder = roles
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        run = only_run(root)
        transcripts = sorted((run / "transcripts").glob("*.json"))
        # 3 gates x 1 + stratified: every scenario a multi-turn conversation of its target length
        scen = json.loads((run / "scenarios.json").read_text())
        assert len(transcripts) == len(scen) == out["scenarios"] >= 4
        for s in scen:
            t = json.loads((run / "transcripts" / f"{s['id']}.json").read_text())
            assert len(t["exchanges"]) == s["target_exchanges"] >= 1
            assert t["status"] == "complete" and t["fault"] is None
            assert s["situation"].startswith("You are juggling")
        # one record per judge plus the combined one, per conversation
        js = judgments(run)
        assert len(js) == 3 * len(scen)
        assert {j["judge"] for j in js} == {"openai/judge-a", "openai/judge-b", "combined"}
        combined = [j for j in js if j["judge"] == "combined"]
        assert all(j["answers"]["CRAFT1"] == "NO" and "CRAFT1" in j["failed_checks"] for j in combined)
        assert out["pass_rate"] == sum(j["pass"] for j in combined) / len(combined)
        assert out["calls"] == roles.count
        # the simulator got the persona and flaws; the base model got the system prompt as system message
        base_reqs = [q["body"] for q in fake.requests if q["body"]["model"] == "base"]
        sysmsg = base_reqs[0]["messages"][0]
        assert sysmsg["role"] == "system" and "wellbeing" in sysmsg["content"].lower()
        longest = max(base_reqs, key=lambda b: len(b["messages"]))
        roles_seq = [m["role"] for m in longest["messages"]]
        assert roles_seq[1:] == ["user", "assistant"] * ((len(roles_seq) - 2) // 2) + ["user"]
        judge_reqs = [q["body"] for q in fake.requests if q["body"]["model"].startswith("judge")]
        assert all(b.get("temperature") == 0 for b in judge_reqs)
        one = judge_reqs[0]["messages"][1]["content"]
        assert "CALIBRATION EXAMPLES" in one and "<<<END DATA-" in one
        # statistics only for a criterion about length, questions or format (COMM1 is about length)
        stats = {re.search(r"Criterion (\S+):", b["messages"][1]["content"]).group(1):
                 "Statistics computed by ftd" in b["messages"][1]["content"] for b in judge_reqs}
        assert stats["COMM1"] and not stats["SAFE1"]
        # min_turns: a criterion needing 3 exchanges is never asked of a shorter conversation
        for s in scen:
            asked = {j["criterion"] for j in records(run, "answer") if j["conv"] == s["id"]}
            if s["target_exchanges"] < 3:
                assert "ARC1" not in asked
            else:
                assert "ARC1" in asked
    report = (root / "base-model-eval-results.md").read_text()
    assert f"id: {run.name}" in report or run.name in report
    p = Project.load(root)
    fm = parse_markdown(report).front_matter.data
    assert fm["run"]["inputs_hash"] == inputs_hash_of(p)
    g = gate7(root)
    assert not g.passed and "no human decision" in g.reason
    r = cli("decide", str(root), "--decision", "proceed", "--by", "A. Person", "--rationale", "safety first")
    assert r.returncode == 0, r.stderr
    assert gate7(root).passed
    decided = (root / "base-model-eval-results.md").read_text()
    # a rerun resumes the finished run: no call at all, and the decision stays byte for byte
    with FakeOpenAI() as fake2:
        fake2.responder = Roles()
        wire_again = fake2.base_url
        yset(root, "ftd.yaml", "models.base.api_base", wire_again)
        # changing the endpoint changes the inputs: the run must not be resumed silently
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode != 0 and "changed since" in r.stderr
    yset(root, "ftd.yaml", "models.base.api_base", fake.base_url)
    with FakeOpenAI() as fake3:
        pass
    r = cli("baseline", str(root), "--format", "json")  # the original server is gone: any call would fail
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["calls"] == 0
    after = (root / "base-model-eval-results.md").read_text()
    block = decided[decided.index("decision:"):decided.index("\n---", decided.index("decision:"))]
    assert block in after


@pytest.mark.slow
def test_killed_run_resumes_and_redoes_only_unfinished_work(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles
        fake.latency = 0.05
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)
        proc = subprocess.Popen([sys.executable, "-m", "ftd_tui", "baseline", str(root), "--format", "json", "--no-cache"],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            runs_dir = root / "eval" / "runs"
            calls = list(runs_dir.glob("*/calls.jsonl")) if runs_dir.is_dir() else []
            if calls and len(calls[0].read_text().splitlines()) >= 25:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        run = only_run(root)
        first = records(run)
        # one call per usage entry (a situation record is its own usage); the simulator's message
        # has its own record, checkpointed before the base model is asked
        done_calls = sum(len(r["usage"]) if "usage" in r else 1 for r in first)
        first_requests = roles.count
        assert 25 <= len(first) and first_requests >= done_calls
        r = cli("baseline", str(root), "--format", "json", "--no-cache")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        second_requests = roles.count - first_requests
    assert only_run(root) == run  # resumed, not a new run
    total = sum(len(r["usage"]) if "usage" in r else 1 for r in records(run))
    # nothing checkpointed was asked again
    assert second_requests == total - done_calls
    assert out["calls"] == second_requests
    assert out["state"] == "done" and out["unfinished"] == []


@pytest.mark.slow
def test_harness_faults_are_excluded_and_reported_apart(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)
        # the first simulator message refuses; the first base reply is cut by the reply limit
        fake.push({"match": "exchange 1 of", "text": "I'm sorry, but I can't role-play this scenario."})
        fake.push({"match": "s02", "text": "never used"}) if False else None
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
    run = only_run(root)
    s = json.loads((run / "summary.json").read_text())
    kinds = [e["kind"] for e in s["excluded"]]
    assert kinds == ["sim_refusal"]
    assert out["excluded"] == 1
    assert out["assessed"] == out["scenarios"] - 1
    report = (root / "base-model-eval-results.md").read_text()
    assert "sim_refusal" in report or "refus" in report.lower()


@pytest.mark.slow
def test_cut_replies_and_server_truncation_are_faults(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)
        # the server reports far fewer prompt tokens than were sent: it truncated the input
        fake.push({"match": "message 2 number", "text": "Sure.", "prompt_tokens": 12})
        fake.push({"match": "message 1 number", "text": "A very long reply " * 5, "finish_reason": "length"})
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
    s = json.loads((only_run(root) / "summary.json").read_text())
    kinds = sorted(e["kind"] for e in s["excluded"])
    assert kinds == ["input_truncated", "reply_cut"]
    assert s["cut_replies"] and s["truncations"]


@pytest.mark.slow
def test_rate_limits_server_errors_and_malformed_judges(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.judge_text = {"CRAFT2": "this is not json at all"}
        fake.responder = roles
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        fake.push({"status": 429, "retry_after": 0}, {"status": 500})
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
    run = only_run(root)
    combined = [j for j in judgments(run) if j["judge"] == "combined"]
    # a judge output unreadable after one re-ask is ERROR, counted as NO and reported apart
    assert all(j["answers"]["CRAFT2"] == "ERROR" and j["error_count"] >= 1 for j in combined)
    assert all("CRAFT2" in j["failed_checks"] for j in combined)


@pytest.mark.slow
def test_a_live_lock_names_its_holder(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
        run = only_run(root)
        holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            import socket

            (run / "run.lock").write_text(json.dumps({"pid": holder.pid, "user": "maria", "host": socket.gethostname(),
                                                      "started": "2026-11-25T10:00:00Z"}))
            r = cli("baseline", str(root))
            assert r.returncode == 1
            assert "maria@" in r.stderr and str(holder.pid) in r.stderr
        finally:
            holder.kill()
            holder.wait()
        r = cli("baseline", str(root), "--format", "json")  # the holder died: its lock is stale
        assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_rubric_change_starts_a_new_run_that_reuses_the_conversations(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        assert cli("baseline", str(root), "--format", "json").returncode == 0
        before = dict(roles.calls)
        replace(root, "config/rubric.yaml", "pass_threshold: 0.8", "pass_threshold: 0.75")
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 1 and "the rubric" in r.stderr
        r = cli("baseline", str(root), "--format", "json", "--yes")
        assert r.returncode == 0, r.stderr
        assert roles.calls.get("sim", 0) == before.get("sim", 0) and roles.calls.get("base", 0) == before.get("base", 0)
        # the judging is redone, but a threshold does not change what a judge is asked: the requests
        # are byte-identical (fence ids come from the content), so the cache answers them
        assert roles.calls["judge-a"] == before["judge-a"]
    runs_ = sorted((root / "eval" / "runs").iterdir())
    assert len(runs_) == 2 and all((r / "judgments.jsonl").read_text().strip() for r in runs_)


def test_max_cost_counts_in_flight_calls_and_refuses_unknown_prices(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        wire(root, fake.base_url, scenarios=3, min_per_gate=1, price=True)
        r = cli("baseline", str(root), "--format", "json", "--max-cost", "0.05")
        assert r.returncode == 1
        s = json.loads(r.stdout)
        # stopped before a call could pass the cap, counting what was in flight
        assert s["state"] == "stopped" and 0 < s["cost"] <= 0.05 and s["calls"] > 0
        yset(root, "ftd.yaml", "models.judges", [{"model": "openai/judge-a", "api_base": "https://judge.example.com/v1"}])
    r = cli("baseline", str(root), "--fresh", "--max-cost", "1")
    assert r.returncode == 1 and "price is unknown" in r.stderr


@pytest.mark.slow
def test_smoke_is_two_scenarios_of_two_exchanges_and_writes_no_report(sample):
    root = sample("software-support")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles
        wire(root, fake.base_url, scenarios=8, min_per_gate=1)
        r = cli("baseline", str(root), "--smoke", "--format", "json")
        assert r.returncode == 0, r.stderr
    run = only_run(root)
    ts = [json.loads(p.read_text()) for p in (run / "transcripts").glob("*.json")]
    assert len(ts) == 2 and all(len(t["exchanges"]) <= 2 for t in ts)
    assert not (root / "base-model-eval-results.md").exists()
    # the knowledge file rides along in the system message the base model gets
    base = [q["body"] for q in fake.requests if q["body"]["model"] == "base"]
    assert "--- SUPPORT POLICY ---" in base[0]["messages"][0]["content"]


@pytest.mark.slow
def test_ollama_base_gets_num_ctx_and_thinking_off_and_timeouts_are_retried(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        server = fake.base_url.rsplit("/v1", 1)[0]
        yset(root, "ftd.yaml", "models.base", {"model": "ollama_chat/gemma3:12b", "api_base": server, "timeout": 1})
        # the model's reply thinks first: the thinking never reaches the transcript
        roles.base_entry = {"text": "<think>the user seems stressed</think>That sounds heavy. What matters most?"}
        fake.push({"match": "message 1 number", "delay": 2.5})  # one hung call: timed out, retried
        # a child process: with a 1 s timeout per call, sharing the test worker's loop and CPU made
        # a retry time out too on a loaded CI machine (seen once)
        r = cli_process("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
    base = [q["body"] for q in fake.requests if q["body"].get("model") == "gemma3:12b"]
    assert base, "the base model was reached through Ollama's /api/chat"
    run = only_run(root)
    manifest = json.loads((run / "manifest.json").read_text())
    limit = manifest["settings"]["reply_limit"]
    # the budget (16,384) plus the reply limit, rounded up to 1K: Ollama's default would truncate
    want = -(-(16384 + limit) // 1024) * 1024
    assert all(b["options"]["num_ctx"] == want and b["options"]["num_predict"] == limit for b in base)
    assert all(b.get("think") is False for b in base)
    exchanges = sum(len(json.loads(p.read_text())["exchanges"]) for p in (run / "transcripts").glob("*.json"))
    assert len(base) == exchanges + 1  # the hung call, then its retry
    for p in (run / "transcripts").glob("*.json"):
        t = json.loads(p.read_text())
        assert all("<think>" not in e["assistant"] and e["assistant"].startswith("That sounds") for e in t["exchanges"])
    assert manifest["base_serving"]["stack"].startswith("Ollama") and manifest["base_serving"]["num_ctx"] == want


@pytest.mark.slow
def test_an_edited_scenario_is_not_resumed_over(sample):
    from ftd_tui.core.evaluation.scenarios import read_scenarios, set_situation

    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        assert cli("baseline", str(root), "--format", "json").returncode == 0
        path = root / "eval" / "scenarios.yaml"
        text = path.read_text()
        first = read_scenarios(text)[0][0]
        assert first["situation"].startswith("You are juggling")  # the run wrote it back, for reuse
        path.write_text(set_situation(text, first["id"], "You were just made redundant and feel ashamed to say so."))
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 1 and "eval/scenarios.yaml" in r.stderr
        r = cli("baseline", str(root), "--format", "json", "--yes")
        assert r.returncode == 0, r.stderr
    newest = sorted((root / "eval" / "runs").iterdir())[-1]
    frozen = json.loads((newest / "scenarios.json").read_text())
    assert frozen[0]["situation"].startswith("You were just made redundant")


@pytest.mark.slow
def test_runs_lists_shows_and_prunes_and_the_forecast_is_json(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        wire(root, fake.base_url, scenarios=3, min_per_gate=1, price=True)
        r = cli("baseline", str(root), "--forecast", "--format", "json")
        assert r.returncode == 0, r.stderr
        assert not (root / "eval").exists()  # a forecast writes nothing
        fc = json.loads(r.stdout)["forecast"]
        roles = {row["role"]: row for row in fc["roles"]}
        assert set(roles) == {"critic (situations)", "user_sim", "base", "judge openai/judge-a", "judge openai/judge-b"}
        assert roles["user_sim"]["calls"] == roles["base"]["calls"] == fc["exchanges"]
        assert fc["total_cost"] > 0 and fc["unknown_prices"] == []
        assert cli("baseline", str(root), "--format", "json").returncode == 0
        assert cli("baseline", str(root), "--fresh", "--format", "json").returncode == 0
    r = cli("runs", str(root), "--format", "json")
    listed = json.loads(r.stdout)
    assert len(listed) == 2 and listed[0]["state"] == "done" and listed[0]["current"] is True
    assert listed[0]["id"] > listed[1]["id"]  # newest first
    r = cli("runs", "show", str(root), "--format", "json")
    assert json.loads(r.stdout)["summary"]["run"] == listed[0]["id"]
    r = cli("runs", "prune", str(root), "--keep", "0", "--format", "json")
    # the run the report refers to is kept
    assert json.loads(r.stdout)["deleted"] == [listed[1]["id"]]
    assert [p.name for p in (root / "eval" / "runs").iterdir()] == [listed[0]["id"]]


@pytest.mark.slow
def test_a_decision_goes_stale_when_a_new_run_replaces_the_results(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        assert cli("baseline", str(root), "--format", "json").returncode == 0
        assert cli("decide", str(root), "--decision", "stop", "--by", "R. Lee", "--rationale", "no").returncode == 0
        assert gate7(root).passed
        assert cli("baseline", str(root), "--fresh", "--format", "json").returncode == 0
    g = gate7(root)
    assert not g.passed and "decision was made on run" in g.reason
    report = (root / "base-model-eval-results.md").read_text()
    assert "decided_by: R. Lee" in report  # kept, never rewritten by the tool
