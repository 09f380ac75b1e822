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

from ftd_tui.core.evaluation import runs
from ftd_tui.core.rules.checks import check_project
from ftd_tui.core.rules.gates import compute_gates
from ftd_tui.core.project.project import Project


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_MODE", "PRODUCTION")


def shown(app) -> str:
    from ftd_tui.tui.screens.baseline import BaselineScreen

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
@pytest.mark.slow
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


@pytest.mark.slow
def test_enter_runs_detached_then_results_transcript_and_decision(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        roles = Roles()
        roles.no = {"CRAFT1"}
        fake.responder = roles
        fake.latency = 0.01
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)

        async def go():
            from ftd_tui.tui.modals.decision import DecisionScreen
            from ftd_tui.tui.screens.transcript import TranscriptScreen
            from ftd_tui.tui.modals.dialogs import Choice

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


@pytest.mark.slow
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


@pytest.mark.slow
def test_cancel_stops_the_child_and_keeps_finished_calls(sample):
    root = sample("wellbeing-coaching")
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        fake.latency = 0.2
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)

        async def go():
            from ftd_tui.tui.modals.dialogs import Choice

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


@pytest.mark.slow
def test_calibration_self_test_from_the_palette(sample):
    root = sample("math-tutoring")
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles  # judges answer YES to everything: every FAIL example is missed
        wire(root, fake.base_url, scenarios=3, min_per_gate=1)

        async def go():
            from ftd_tui.tui.screens.calibration import CalibrationScreen

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


@pytest.mark.slow
def test_choosing_a_base_model_from_the_catalog(sample):
    """Filter, shortlist, compare, choose: ftd.yaml and model-choice.md change by exact edits."""
    root = sample("wellbeing-coaching")
    prose = (root / "model-choice.md").read_text().split("\n---\n", 1)[1]
    # a finished baseline measured gemma3:12b through Ollama: its pass rate fills the column
    run_dir = root / "eval" / "runs" / "20261120T100000Z-0123abcd"
    run_dir.mkdir(parents=True)
    runs.write_json_atomic(run_dir / runs.MANIFEST, {"id": run_dir.name, "created": "x", "settings": {"smoke": False},
                                                     "models": {"base": {"model": "ollama_chat/gemma3:12b"}}})
    runs.write_json_atomic(run_dir / runs.PROGRESS, {"state": "done"})
    runs.write_json_atomic(run_dir / runs.SUMMARY, {"pass_rate": 0.4375, "assessed": 16})

    async def go():
        from ftd_tui.tui.screens.models import ModelsScreen
        from ftd_tui.tui.modals.dialogs import Choice

        async with running(root) as (app, pilot):
            app.action_models()
            await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen) and app.screen.rows, what="catalog")
            screen = app.screen
            assert len(screen.rows) >= 14
            assert screen.pass_rates == {"google/gemma-3-12b-it": 0.4375}
            await pilot.press("slash", *"qwen3 14")
            await wait_until(pilot, lambda: len(screen.rows) == 1, what="filtered")
            assert screen.rows[0][0].id == "Qwen/Qwen3-14B"
            mem = screen.rows[0][1]
            assert mem is not None and mem.method == "qlora" and mem.fits in ("24 GB", "40 GB", "80 GB")
            await pilot.press("enter")  # leaves the filter for the table
            await pilot.press("x", "x")  # lora, then a full fine-tune: far more memory
            assert screen.rows[0][1].method == "full"
            assert screen.rows[0][1].total_gb > mem.total_gb * 3 and screen.rows[0][1].fits is None
            await pilot.press("x")  # back to qlora
            # model-choice.md's candidates start as the shortlist; space toggles
            assert "Qwen/Qwen3-14B" in screen.shortlist
            await pilot.press("space")
            assert "Qwen/Qwen3-14B" not in screen.shortlist
            await pilot.press("space")
            await pilot.press("v")
            detail = _plain(screen.query_one("#detail"))
            assert "Shortlist side by side" in detail and "Qwen3-14B" in detail
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="confirm")
            await pilot.press("y")
            await wait_until(pilot, lambda: not app.editors["model-choice"].dirty
                             and "Qwen/Qwen3-14B" in app.editors["model-choice"].text.split("\n")[1], what="saved")
            await wait_until(pilot, lambda: app.snapshot.generation == app.generation, what="checks settled")
            assert app.current == "model-choice"  # the pane shown is the one the choice wrote last

    run(go())
    settings = (root / "ftd.yaml").read_text()
    assert "base_model: Qwen/Qwen3-14B   # must agree with model-choice.md `chosen`" in settings
    choice = (root / "model-choice.md").read_text()
    assert choice.startswith("---\nchosen: Qwen/Qwen3-14B\n")
    assert choice.split("\n---\n", 1)[1] == prose  # the person's prose, byte for byte
    assert "Expected: strongest reasoning of the four" in choice  # their words on the candidate too
