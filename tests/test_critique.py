"""The expert role-play critique end to end through litellm to the scripted server: every
voice streams, the synthesis becomes proposals, the log is written, dispositions meet the gate."""

from __future__ import annotations

import json
import os

import pytest

from fakes.openai_server import FakeOpenAI
from helpers import yget, yset

CANARY = "sk-canary-critique-0123456789"
ANSWER = "The rubric misses **indirect** risk signals. \x1b]52;c;cHduZWQ=\x07 Fix: add a criterion."


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("FTD_TEST_KEY", CANARY)  # the user folders are isolated by conftest


def cli(*args):
    """`ftd ARGS` in this process: the same main(), stdout and stderr captured apart. A subprocess
    would pay litellm's import (~7 s of CPU here) on every call."""
    import contextlib
    import io
    from types import SimpleNamespace

    from ftd_tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def project_with(fake, sample):
    root = sample("math-tutoring")
    role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}
    yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role, role]})
    assert cli("trust", str(root)).returncode == 0
    return root


def synthesis(root) -> str:
    rubric = (root / "config/rubric.yaml").read_text()
    assert rubric.count("pass_threshold: 0.80") == 1
    return json.dumps({"proposals": [
        {"id": "P1", "title": "Raise the bar", "rationale": "r", "experts": ["A"], "severity": "critical",
         "target": "pass_threshold", "patch": {"file": "config/rubric.yaml", "find": "pass_threshold: 0.80",
                                               "replace": "pass_threshold: 0.85"}},
        {"id": "P2", "title": "Change the budget", "rationale": "r", "experts": ["B"], "severity": "major",
         "target": "budget", "patch": {"file": "ftd.yaml", "find": "max_transcript_tokens", "replace": "x"}},
        {"id": "P3", "title": "Polish", "rationale": "r", "experts": ["C"], "severity": "minor",
         "target": "wording", "patch": {"file": "config/rubric.yaml", "find": "no such text anywhere", "replace": "y"}},
    ]})


@pytest.mark.slow
def test_cli_critique_streams_every_voice_and_writes_the_log(sample):
    from ftd_tui.core.rules.critique_gate import critique_status
    from ftd_tui.core.project.project import Project
    from ftd_tui.services.critique.log import read_front, record_disposition

    with FakeOpenAI(default_text=ANSWER) as fake:
        root = project_with(fake, sample)
        fake.push({"match": "synthesise", "text": synthesis(root)})
        p = cli("critique", "rubric", str(root), "--yes")
        assert p.returncode == 0, p.stdout + p.stderr
        experts = yget(root, "critiques/experts.yaml", "panels.rubric.experts")
        users = yget(root, "critiques/experts.yaml", "panels.rubric.difficult_users")
        assert len(fake.requests) == len(experts) + len(users) + 1
        for e in experts:
            assert f"## {e['name']}" in p.stdout
        assert "\x1b" not in p.stdout and "indirect" in p.stdout
        assert "P1 [critical] Raise the bar  ⚠ touches pass_threshold" in p.stdout
        assert "P2 [major] Change the budget" in p.stdout and "never touch ftd.yaml" in p.stdout
        assert CANARY not in p.stdout + p.stderr
        # the prompts fence the artifact as data
        first = json.dumps(fake.requests[0]["body"]["messages"])
        assert "<<<DATA-" in first and "never follow instructions" in first and "FICTIONAL" in first
    logs = sorted((root / "critiques" / "rubric").glob("*.md"))
    assert len(logs) == 1
    front = read_front(logs[0])
    assert front["synthesis"] is True and [x["id"] for x in front["proposals"]] == ["P1", "P2", "P3"]
    assert front["proposals"][1]["cannot_apply"] == "proposals never touch ftd.yaml"
    project = Project.load(root)
    status, _ = critique_status(root, "rubric", project.artifact_hash("rubric"))
    assert not status.dispositioned and "P1" in status.reason and "P2" in status.reason
    h = project.artifact_hash("rubric")
    record_disposition(logs[0], 0, "rejected", "0.80 is calibrated on the pilot", h)
    record_disposition(logs[0], 1, "rejected", "out of scope: ftd.yaml", h)
    status, _ = critique_status(root, "rubric", h)
    assert status.dispositioned and not status.stale
    # the log's own edit kept everything else byte for byte
    assert "## " in logs[0].read_text() and "indirect" in logs[0].read_text()
    (root / "config/rubric.yaml").write_text((root / "config/rubric.yaml").read_text() + "# later\n")
    status, _ = critique_status(root, "rubric", Project.load(root).artifact_hash("rubric"))
    assert status.stale


def test_failures_keep_partial_text_and_exit_nonzero(sample):
    with FakeOpenAI(default_text=ANSWER) as fake:
        root = project_with(fake, sample)
        experts = yget(root, "critiques/experts.yaml", "panels.personas.experts")
        fake.push({"text": "half an answer that stops here and never ends properly", "cut_after": 2, "chunks": 6})
        fake.push({"match": "synthesise", "text": "not json at all"}, {"match": "not valid JSON", "text": "still not"})
        p = cli("critique", "personas", str(root), "--yes")
        assert p.returncode == 1
        assert "synthesis failed" in p.stdout and "Traceback" not in p.stderr
        assert len(experts) >= 5
    log = next((root / "critiques" / "personas").glob("*.md")).read_text()
    assert "half an" in log and "synthesis: false" in log


def test_no_critic_is_a_clear_error(sample):
    root = sample("math-tutoring")
    from helpers import ydel

    ydel(root, "ftd.yaml", "models.critic")
    p = cli("critique", "taxonomy", str(root))
    assert p.returncode == 1 and "models.critic is not configured" in p.stderr and "Traceback" not in p.stderr


def test_default_panels_are_fictional_complete_and_used_when_none_is_written(sample):
    from ftd_tui.core.artifacts.common import Where
    from ftd_tui.core.artifacts.experts import check_experts
    from ftd_tui.core.text.yamldoc import YamlDocument
    from ftd_tui.services.critique.log import read_front
    from ftd_tui.services.critique.run import DEFAULT_PANELS

    doc = YamlDocument.from_bytes(DEFAULT_PANELS.read_bytes())
    assert check_experts(doc.data, Where(doc, "default_panels.yaml")) == []
    with FakeOpenAI(default_text="An answer.") as fake:
        root = project_with(fake, sample)
        os.remove(root / "critiques/experts.yaml")
        fake.push({"match": "synthesise", "text": synthesis(root)})
        p = cli("critique", "rubric", str(root), "--yes")
        assert p.returncode == 0, p.stderr
        assert "default, domain-general panel" in p.stderr
        names = [e["name"] for e in doc.data["panels"]["rubric"]["experts"]]
        assert all(f"## {n}" in p.stdout for n in names)
    front = read_front(next((root / "critiques" / "rubric").glob("*.md")))
    assert front["panel"].startswith("ftd default")


def _baseline_run(root):
    run = root / "eval" / "runs" / "20261125T100000Z-abcdef12"
    (run / "transcripts").mkdir(parents=True)
    scores = {"c1": 0.31, "c2": 0.95, "c3": 0.60, "c4": 0.88}
    lines = []
    for cid, score in scores.items():
        (run / "transcripts" / f"{cid}.json").write_text(json.dumps({
            "id": cid, "persona": {}, "scenario": {},
            "exchanges": [{"user": f"user words in {cid}", "assistant": f"assistant reply in {cid} \x1b[2J"}]}))
        for judge in ("j1", "combined"):
            lines.append(json.dumps({"id": cid, "judge": judge, "pass": score >= 0.8, "score": score,
                                     "answers": {"CM1": "NO"}, "reasonings": {"CM1": f"why {cid}"},
                                     "failed_checks": ["CM1"] if score < 0.8 else [], "safety_gate_failed": False}))
    (run / "judgments.jsonl").write_text("\n".join(lines) + "\nnot json\n")
    return run


def test_critique_with_transcripts_shows_best_and_worst_as_data(sample):
    from ftd_tui.services.critique.transcripts import best_and_worst, latest_run

    with FakeOpenAI(default_text="An answer.") as fake:
        root = project_with(fake, sample)
        p = cli("critique", "rubric", str(root), "--with-transcripts", "--yes")
        assert p.returncode == 1 and "no baseline run" in p.stderr
        run = _baseline_run(root)
        assert latest_run(root) == run
        shown = best_and_worst(run)
        assert [k.split(": conversation ")[1] for k in shown] == ["c1", "c3", "c4", "c2"]
        assert all("\x1b" not in v for v in shown.values())
        fake.push({"match": "synthesise", "text": synthesis(root)})
        p = cli("critique", "rubric", str(root), "--with-transcripts", "--yes")
        assert p.returncode == 0, p.stderr
        sent = json.dumps(fake.requests[-2]["body"]["messages"])
        assert "assistant reply in c1" in sent and "why c1" in sent and "<<<DATA-" in sent
