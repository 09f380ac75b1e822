"""RunSummary (core/evaluation/summary.py): summary.json typed, round-tripped exactly."""

from __future__ import annotations

import json

import pytest

from baselinehelp import Roles, cli, only_run, wire
from fakes.openai_server import FakeOpenAI

from ftd_tui.core.evaluation import runs
from ftd_tui.core.evaluation.summarize import fail_for_judges
from ftd_tui.core.evaluation.summary import KEYS, RunSummary, read_summary
from ftd_tui.core.text.textsafe import json_text


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _on_disk(value) -> str:
    return json_text(value, indent=1, default=str) + "\n"  # as runs.write_json_atomic writes it


def test_a_real_runs_summary_round_trips_byte_for_byte(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.no = {"CRAFT1"}
        fake.responder = roles
        wire(root, fake.base_url, scenarios=2, min_per_gate=0)
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
    path = only_run(root) / runs.SUMMARY
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    s = RunSummary.from_dict(data)
    assert s.to_dict() == data and list(s.to_dict()) == list(data)
    assert _on_disk(s.to_dict()) == text
    # every key the runner writes is a field (none falls into extra), and the fields read as typed
    assert s.extra == {} and set(data) <= set(KEYS)
    assert s.run == data["run"] == path.parent.name and s.state == "done"
    assert s.assessed == data["assessed"] >= 1 and s.pass_rate == data["pass_rate"]
    assert s.interval == data["interval"] and s.recommendation == data["recommendation"]
    assert s.failure is None and "failure" not in s.to_dict()
    assert s.requests["sent"] == s.calls and isinstance(s.fault_check, dict)
    assert any(c["id"] == "CRAFT1" and c["no"] for c in s.criteria)
    # built in code from the same fields, the summary is written in the runner's own key order
    fresh = RunSummary(**{k: getattr(s, k) for k in KEYS})
    assert _on_disk(fresh.to_dict()) == text
    assert read_summary(path.parent) == s and read_summary(path.parent / "nowhere") is None


def test_a_run_failed_for_its_judges_keeps_failure_where_the_runner_wrote_it():
    data = {k: None for k in KEYS if k != "failure"}
    data.update(run="r1", state="done", calls=3)
    # the runner's order: summarize's keys, the analysis, "state", then fail_for_judges, then calls …
    head = {k: data[k] for k in KEYS[: KEYS.index("state") + 1]}
    fail_for_judges(head, [{"judge": 0, "model": "j", "errors": 9, "answers": 10, "share": 0.9}], 0.2)
    written = {**head, **{k: data[k] for k in KEYS[KEYS.index("calls"):]}}
    s = RunSummary.from_dict(written)
    assert s.failure["kind"] == "judges_unusable" and s.state == "failed" and s.pass_rate is None
    assert list(s.to_dict()) == list(written) == list(RunSummary(**{k: getattr(s, k) for k in KEYS}).to_dict())


def test_keys_it_does_not_know_and_keys_an_older_run_never_wrote_stay_as_they_were():
    old = {"run": "r0", "pass_rate": 0.5, "from_the_future": {"x": [1]}, "interval": [0.2, 0.8]}
    s = RunSummary.from_dict(old)
    assert s.to_dict() == old and list(s.to_dict()) == list(old)
    assert s.extra == {"from_the_future": {"x": [1]}} and s.state is None
    s.state = "done"  # set after reading: written after the keys that were there
    assert list(s.to_dict()) == ["run", "pass_rate", "from_the_future", "interval", "state"]
    with pytest.raises(TypeError):
        RunSummary.from_dict([])
