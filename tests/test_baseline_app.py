"""The baseline in the app: F5 forecasts, Enter starts a detached `ftd baseline` child, the
screen follows its run folder to the results, a conversation opens with Enter, and the person
records the decision. Through the real litellm path to the local fake server."""

from __future__ import annotations

import json
import time

import pytest

from apphelp import run, running, wait_until
from baselinehelp import Roles, only_run, wire
from fakes.openai_server import FakeOpenAI

from ftd_tui.core import runs
from ftd_tui.core.checks import check_project
from ftd_tui.core.gates import compute_gates
from ftd_tui.core.project import Project


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_MODE", "PRODUCTION")


def shown(app) -> str:
    from ftd_tui.tui.baseline_screen import BaselineScreen

    screen = app.screen
    if not isinstance(screen, BaselineScreen):
        return ""
    main = screen.query_one("#main")
    title = screen.query_one("#title")
    return _plain(title) + "\n" + _plain(main)


def _plain_options(screen) -> str:
    ol = screen.query_one("#criteria")
    return "\n".join(str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count))


def _plain(widget) -> str:
    from rich.console import Console

    console = Console(width=160, record=True, file=open("/dev/null", "w"))
    console.print(widget.content)
    return console.export_text()


@pytest.mark.parametrize("key", ["f5", "ctrl+r"])
def test_f5_opens_the_forecast_without_writing_anything(sample, key):
    root = sample("math-tutoring")
    with FakeOpenAI() as fake:
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)

        async def go():
            async with running(root) as (app, pilot):
                await pilot.press(key)
                await wait_until(pilot, lambda: "judge calls" in shown(app), what="forecast")
                text = shown(app)
                assert "Enter starts a new run" in text and "eval/scenarios.yaml does not exist yet" in text
                assert "openai/judge-a" in text and "user_sim" in text
                await pilot.press("escape")
                await wait_until(pilot, lambda: shown(app) == "", what="back to the editor")

        run(go())
    assert not (root / "eval").exists()  # a forecast writes nothing


def test_enter_runs_detached_then_results_transcript_and_decision(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.no = {"CRAFT1"}
        fake.responder = roles
        fake.latency = 0.01
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)

        async def go():
            from ftd_tui.tui.baseline_screen import DecisionScreen, TranscriptScreen
            from ftd_tui.tui.screens import Choice

            async with running(root) as (app, pilot):
                await pilot.press("f5")
                await wait_until(pilot, lambda: "judge calls" in shown(app), what="forecast")
                await pilot.press("enter")
                await wait_until(pilot, lambda: "Baseline results" in shown(app), timeout=90, what="results")
                text = shown(app)
                assert "Gaps by category" in text and "█" in text and "pass rate" in text
                assert "CRAFT1" in text
                await pilot.press("tab")
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, TranscriptScreen), what="transcript")
                body = _plain(app.screen.query_one("#conversation-text"))
                assert "[1] user" in body and "[1] assistant" in body and "CRAFT1" in body
                # the reviewer: failed checks first; single keys label and move on
                await pilot.press("n", "y")
                await wait_until(pilot, lambda: "you: YES" in _plain_options(app.screen), what="labels shown")
                await pilot.press("x")  # export the labels as candidate calibration examples
                await pilot.press("escape")
                await wait_until(pilot, lambda: not isinstance(app.screen, TranscriptScreen), what="back to results")
                rubric = app.editors["rubric"].text
                assert rubric.count("type: UNREVIEWED") == 2 and "suggested_type: FAIL" in rubric
                # the results follow the labels: judge-vs-human beside judge-vs-judge agreement
                await wait_until(pilot, lambda: "Judges against a person" in shown(app) and "TPR" in shown(app),
                                 what="judge-vs-human table")
                assert "Agreement between judges" in shown(app)
                # leaving the results without a decision asks for one
                await pilot.press("escape")
                await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="decide now?")
                await pilot.press("d")
                await wait_until(pilot, lambda: isinstance(app.screen, DecisionScreen), what="decision dialog")
                await pilot.press("enter")  # proceed
                await pilot.press(*"base model fails coaching craft")
                await pilot.press("enter")
                await wait_until(pilot, lambda: not isinstance(app.screen, DecisionScreen), what="decision saved")

        run(go())
    report = (root / "base-model-eval-results.md").read_text()
    assert "decision: proceed" in report and "base model fails coaching craft" in report
    # the person's labels reached the report without a rerun: judge-vs-human with n
    assert "## Judges against a person" in report and "2 labels by" in report
    labels = [json.loads(x) for x in (only_run(root) / "human_labels.jsonl").read_text().splitlines()]
    assert [(r["criterion"], r["label"]) for r in labels][0] == ("CRAFT1", "NO") and all(r["reviewer"] for r in labels)
    p = Project.load(root)
    g = next(g for g in compute_gates(p, check_project(p)) if g.step == 7)
    assert g.passed, g.reason


def test_quitting_the_app_does_not_stop_the_run(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        fake.latency = 0.05
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)

        async def go():
            async with running(root) as (app, pilot):
                await pilot.press("f5")
                await wait_until(pilot, lambda: "judge calls" in shown(app), what="forecast")
                await pilot.press("enter")
                await wait_until(pilot, lambda: "exchanges" in shown(app) and "state: running" in shown(app),
                                 timeout=30, what="running")
                app.exit()

        run(go())
        run_dir = only_run(root)
        deadline = time.time() + 90
        while time.time() < deadline:
            p = runs.read_json(run_dir / runs.PROGRESS) or {}
            if p.get("state") in ("done", "failed"):
                break
            time.sleep(0.2)
        assert p.get("state") == "done"
    assert (root / "base-model-eval-results.md").is_file()


def test_cancel_stops_the_child_and_keeps_finished_calls(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        fake.latency = 0.2
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)

        async def go():
            from ftd_tui.tui.screens import Choice

            async with running(root) as (app, pilot):
                await pilot.press("f5")
                await wait_until(pilot, lambda: "judge calls" in shown(app), what="forecast")
                await pilot.press("enter")
                await wait_until(pilot, lambda: "state: running" in shown(app), timeout=30, what="running")
                await wait_until(pilot, lambda: (only_run(root) / "calls.jsonl").is_file()
                                 and (only_run(root) / "calls.jsonl").read_text().count("\n") >= 2, timeout=30,
                                 what="some calls")
                await pilot.press("c")
                await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="confirm")
                await pilot.press("y")
                await wait_until(pilot, lambda: "Baseline results" in shown(app), timeout=30, what="stopped")
                assert "cancelled" in shown(app)

        run(go())
    run_dir = only_run(root)
    assert runs.read_lock(run_dir) is None
    kept = runs.read_jsonl(run_dir / runs.CALLS)
    assert len(kept) >= 2


def test_calibration_self_test_from_the_palette(sample):
    root = sample("math-tutoring")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles  # judges answer YES to everything: every FAIL example is missed
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)

        async def go():
            from ftd_tui.tui.calibrate_screen import CalibrationScreen

            async with running(root) as (app, pilot):
                await pilot.press("ctrl+p")
                await pilot.press(*"Calibration self")
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, CalibrationScreen), what="screen")
                await wait_until(pilot, lambda: app.screen.done, timeout=60, what="self-test finished")
                body = _plain(app.screen.query_one("#cal-body"))
                assert "cannot apply" in body and "openai/judge-a" in body and "TNR" in body
                await pilot.press("escape")

        run(go())
    assert list((root / "eval" / "calibration").iterdir())
