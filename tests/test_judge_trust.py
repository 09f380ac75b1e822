"""Can the judges be trusted? Agreement in the report, flip rates from --judge-repeats, and
paired comparisons with --against — the real `ftd baseline` against the fake server."""

from __future__ import annotations

import json
import re

import pytest

from baselinehelp import Roles, cli, judgments, wire
from fakes.openai_server import FakeOpenAI
from helpers import replace

from ftd_tui.core.evaluation import run_analysis, runs


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class Split(Roles):
    """judge-b says NO to CRAFT2 where judge-a says YES; judge-a changes its answer every time
    the same question is asked again."""

    def __init__(self):
        super().__init__()
        self.asked: dict[str, int] = {}

    def __call__(self, body):
        model = str(body.get("model"))
        text = " ".join(str(m.get("content", "")) for m in body.get("messages") or [])
        if model.startswith("judge") and "Criterion CRAFT2:" in text and model == "judge-b":
            self.count += 1
            return {"text": json.dumps({"reasoning": "evidence", "answer": "NO"})}
        if model == "judge-a":
            key = re.sub(r"DATA-[0-9A-F]{8}", "", text)  # every ask has a fresh fence marker
            self.asked[key] = self.asked.get(key, 0) + 1
            self.count += 1
            return {"text": json.dumps({"reasoning": "evidence", "answer": "YES" if self.asked[key] % 2 else "NO"})}
        return super().__call__(body)


@pytest.mark.slow
def test_agreement_and_flip_rates_reach_the_summary_and_the_report(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Split()
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        r = cli("baseline", str(root), "--format", "json", "--judge-repeats", "3")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
    run = sorted((root / "eval" / "runs").iterdir())[-1]
    s = json.loads((run / "summary.json").read_text())
    rows = {a["id"]: a for a in s["agreement"]}
    craft2 = rows["CRAFT2"]
    assert craft2["n"] == 3 and craft2["raw_agreement"] == 0.0
    assert craft2["yes_rate"] == {"openai/judge-a": 1.0, "openai/judge-b": 0.0}
    assert craft2["kappa"] is None and craft2["undefined_reason"] == "a judge never varied"
    # re-asked uncached: judge-a changes its mind on COMM1, judge-b never does
    reps = out["judge_repeats"]
    assert reps["k"] == 3
    assert reps["judges"]["openai/judge-b"]["flipped"] == 0
    assert reps["judges"]["openai/judge-a"] == {"n": 24, "flipped": 24, "rate": 1.0}
    repeats = [r for r in runs.read_jsonl(run / "calls.jsonl") if r.get("kind") == "repeat"]
    assert len(repeats) == 24 * 2 * 2  # 24 questions x 2 judges x 2 more asks
    report = (root / "base-model-eval-results.md").read_text()
    assert "## Agreement between judges" in report and "| CRAFT2 | 3 | 100%, 0% | 0% | undefined: a judge never varied" in report
    assert "## Judge repeats" in report and "## Judges against a person" in report
    assert "untested against a person" in report


@pytest.mark.slow
def test_against_runs_the_same_scenarios_and_seeds_and_pairs_the_scores(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.no = {"CRAFT1"}
        fake.responder = roles
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)
        assert cli("baseline", str(root), "--format", "json").returncode == 0
        first = sorted((root / "eval" / "runs").iterdir())[0]
        # "try prompt engineering first": a new system prompt, the same scenarios
        replace(root, "config/system-prompt.md", "You are", "You are a careful,")
        roles.no = set()
        r = cli("baseline", str(root), "--format", "json", "--against", first.name[:15])
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
    second = sorted((root / "eval" / "runs").iterdir())[-1]
    assert second != first
    assert json.loads((second / "scenarios.json").read_text()) == json.loads((first / "scenarios.json").read_text())
    m1, m2 = (json.loads((d / "manifest.json").read_text()) for d in (first, second))
    assert m2["against"] == first.name and m2["sample_seed"] == m1["sample_seed"]
    cmp = out["comparison"]
    a = {j["id"]: j["score"] for j in judgments(second) if j["judge"] == "combined"}
    b = {j["id"]: j["score"] for j in judgments(first) if j["judge"] == "combined"}
    diffs = [a[k] - b[k] for k in a]
    assert cmp["n"] == 3 and cmp["mean_diff"] == pytest.approx(sum(diffs) / 3)
    assert cmp["wins"] == sum(d > 1e-9 for d in diffs) == 3 and cmp["losses"] == 0
    report = (root / "base-model-eval-results.md").read_text()
    assert "## Paired comparison" in report and first.name in report and "3 better, 0 worse, 0 tied" in report


def test_judge_vs_human_marks_a_judge_not_trusted(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    recs = []
    for conv in ("s01", "s02", "s03"):
        for judge in ("a", "b", "combined"):
            recs.append({"id": conv, "judge": judge, "answers": {"Q1": "YES", "Q2": "NO"}})
    (run / runs.JUDGMENTS).write_text("".join(json.dumps(r) + "\n" for r in recs))
    for conv, q1 in (("s01", "NO"), ("s02", "NO"), ("s03", "YES")):
        run_analysis.record_label(run, conv, "Q1", q1, "kim")
    run_analysis.record_label(run, "s01", "Q2", "YES", "kim")
    run_analysis.record_label(run, "s01", "Q2", "CLEAR", "kim")  # taken back
    rows = {h["id"]: h for h in run_analysis.versus_human(run_analysis.judgments(run), run_analysis.human_labels(run), {})}
    assert set(rows) == {"Q1"}
    q1 = rows["Q1"]
    assert q1["labelled"] == 3 and q1["combined_disagreements"] == 2 and q1["not_trusted"]
    # the person said YES once (judge YES: TPR 1/1) and NO twice (judge YES both times: TNR 0/2)
    assert q1["judges"]["a"]["tpr"] == 1.0 and q1["judges"]["a"]["tnr"] == 0.0 and q1["judges"]["a"]["n"] == 3
