"""The critique's edges (issue 14): an empty synthesis is an error with three ways on, "reviewed,
nothing to change" closes the gate, the forecast comes first (calls, tokens, cost; nothing sent
without --yes or Enter), the app's F6 forecast, error view and background status line, and an
empty panel suggestion. Through litellm to the scripted server, in-process where possible."""

from __future__ import annotations

import json

import pytest

from apphelp import run, running, wait_until
from fakes.openai_server import FakeOpenAI
from helpers import yset

from ftd_tui.core.rules.critique_gate import log_order

CANARY = "sk-canary-flow-0123456789"
ANSWER = ("The rubric asks whether the tutor 'checks understanding' but never says what counts as evidence: a "
          "student who types 'ok got it' after a worked example would pass CQ1. Fix: require a question that "
          "makes the student apply the step to a new number.")
EMPTY = json.dumps({"proposals": []})


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("FTD_TEST_KEY", CANARY)  # the user folders are isolated by conftest


def ftd(capsys, *args) -> tuple[int, str, str]:
    from ftd_tui.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def wired(sample, capsys, critic: dict):
    root = sample("math-tutoring")
    yset(root, "ftd.yaml", "models", {"critic": critic, "judges": [critic, critic]})
    assert ftd(capsys, "trust", root)[0] == 0
    return root


def fake_role(fake) -> dict:
    return {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}


def expert_requests(fake) -> list[dict]:
    return [r for r in fake.requests if "synthesise" not in json.dumps(r["body"]["messages"])]


@pytest.mark.slow
def test_empty_synthesis_is_an_error_and_reviewed_closes_the_gate(sample, capsys):
    from ftd_tui.core.rules.critique_gate import critique_status
    from ftd_tui.core.project.project import Project
    from ftd_tui.services.critique.forecast import _messages_tokens, critique_forecast
    from ftd_tui.services.critique.log import read_front
    from ftd_tui.services.critique.run import plan_critique
    from ftd_tui.core.economics.counting import approx_counter
    from test_critique import synthesis

    with FakeOpenAI(default_text=ANSWER) as fake:
        root = wired(sample, capsys, fake_role(fake))
        project = Project.load(root)
        settings = project.files["settings"].data
        forecast = critique_forecast(plan_critique(project, "rubric", settings=settings), settings)
        fake.push({"match": "synthesise", "text": EMPTY})
        code, out, err = ftd(capsys, "critique", "rubric", root, "--yes")
        assert code == 1, out + err
        assert out.index("Forecast: critique of the rubric") < out.index("## ")  # the forecast came first
        assert "the synthesis returned no proposals. Three ways on:" in out
        assert f"ftd critique rubric {root} --retry-synthesis --yes" in out
        assert f'ftd critique rubric {root} --reviewed "why nothing needs to change"' in out
        assert "write the changes yourself: edit config/rubric.yaml" in out
        assert "Traceback" not in err and CANARY not in out + err
        # the forecast counted the very requests the experts were sent
        counter = approx_counter(None)
        experts = expert_requests(fake)
        assert forecast.roles[0].calls == len(experts) >= 5
        assert forecast.roles[0].input_tokens == sum(_messages_tokens(counter, r["body"]["messages"]) for r in experts)
        assert [r.cost for r in forecast.roles] == [0.0, 0.0] and "local" in "\n".join(
            __import__("ftd_tui.services.critique.forecast", fromlist=["lines"]).lines(forecast))
        logs = sorted((root / "critiques/rubric").glob("*.md"), key=log_order)
        front = read_front(logs[-1])
        assert front["synthesis"] is False and front["synthesis_error"] == "the synthesis returned no proposals"
        status, _ = critique_status(root, "rubric", project.artifact_hash("rubric"))
        assert not status.dispositioned and "no synthesis" in status.reason

        # nothing to mark on a unit never critiqued; an empty reason is refused
        code, _, err = ftd(capsys, "critique", "taxonomy", root, "--reviewed", "fine as it is")
        assert code == 1 and "no critique of the taxonomy yet" in err
        assert ftd(capsys, "critique", "rubric", root, "--reviewed", "  ")[0] == 1
        reason = "the panel found nothing CQ1 does not already cover; the pilot graded 40 transcripts with it"
        before = logs[-1].read_text()
        code, out, err = ftd(capsys, "critique", "rubric", root, "--reviewed", reason)
        assert code == 0, err
        assert f"reviewed, nothing to change: {reason}" in out
        after = logs[-1].read_text()
        assert after.split("\n---", 1)[1] == before.split("\n---", 1)[1]  # the answers kept byte for byte
        front = read_front(logs[-1])
        assert front["reviewed"]["reason"] == reason and front["reviewed"]["at"].endswith("Z")
        status, _ = critique_status(root, "rubric", Project.load(root).artifact_hash("rubric"))
        assert status.dispositioned and not status.stale and reason in status.reason
        code, out, _ = ftd(capsys, "status", root)
        assert "✓ critique: rubric    reviewed, nothing to change: the panel found" in out

        # retrying the synthesis: the experts' answers from the cache, only the synthesis asked again
        sent = len(fake.requests)
        fake.push({"match": "synthesise", "text": synthesis(root)})
        code, out, err = ftd(capsys, "critique", "rubric", root, "--retry-synthesis", "--yes")
        assert len(fake.requests) == sent + 1 and "synthesise" in json.dumps(fake.requests[-1]["body"])
        assert "P1 [critical] Raise the bar" in out
        # a new log with critical proposals waiting: those are decided, never marked reviewed
        code, _, err = ftd(capsys, "critique", "rubric", root, "--reviewed", reason)
        assert code == 1 and "awaiting a decision (P1, P2)" in err
        status, _ = critique_status(root, "rubric", Project.load(root).artifact_hash("rubric"))
        assert not status.dispositioned
    # an edit after "reviewed" makes it stale, like a disposition
    (logs[-1]).rename(root / "critiques/rubric/99999999T000000Z.md")  # the reviewed log is the latest again
    (root / "config/rubric.yaml").write_text((root / "config/rubric.yaml").read_text() + "# later\n")
    status, _ = critique_status(root, "rubric", Project.load(root).artifact_hash("rubric"))
    assert status.dispositioned and status.stale and "reviewed" in status.reason


def test_forecast_sends_nothing_and_an_unpriced_model_is_unknown(sample, capsys, monkeypatch):
    with FakeOpenAI(default_text=ANSWER) as fake:
        # a remote endpoint that is never reached: --forecast calls nothing
        remote = {"model": "openai/tutor-critic-unpriced", "api_base": "https://llm.example.invalid/v1",
                  "api_key_env": "FTD_TEST_KEY"}
        root = sample("math-tutoring")
        yset(root, "ftd.yaml", "models", {"critic": remote, "judges": [fake_role(fake)]})
        code, out, err = ftd(capsys, "critique", "rubric", root, "--forecast")
        assert code == 0, err
        lines = out.splitlines()
        experts = next(l for l in lines if "critic (experts)" in l)
        synth = next(l for l in lines if "critic (synthesis)" in l)
        assert " calls " in experts and "unknown" in experts and "in " in experts and "out " in experts
        assert synth.split()[2] == "1" and "unknown" in synth
        assert "total cost unknown (unknown price: critic (experts), critic (synthesis))" in out
        assert "tutor-critic-unpriced is not in litellm's price map" in out
        assert not (root / "critiques/rubric").exists()
        # the fake server as the critic, but no --yes and no terminal: not started
        yset(root, "ftd.yaml", "models.critic", fake_role(fake))
        assert ftd(capsys, "trust", root)[0] == 0
        code, out, err = ftd(capsys, "critique", "rubric", root)
        assert code == 1 and "Forecast: critique of the rubric" in out and "add --yes" in err
        assert len(fake.requests) == 0
        # at a terminal it asks; "n" stops it before anything is sent
        asked = []
        monkeypatch.setattr("sys.stdin", type("Tty", (), {"isatty": lambda self: True})())
        monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
        code, out, err = ftd(capsys, "critique", "rubric", root)
        assert code == 1 and asked == ["Enter starts the critique (n and Enter: stop) "] and "not started" in err
        assert len(fake.requests) == 0
        assert not (root / "critiques/rubric").exists()


# --------------------------------------------------------------------------- the app


def approved(root, fake) -> None:
    from ftd_tui.core.user.trust import approve
    from ftd_tui.core.text.yamldoc import YamlDocument

    role = fake_role(fake)
    yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role, role]})
    approve(YamlDocument.from_bytes((root / "ftd.yaml").read_bytes()).data, root)


@pytest.mark.slow
def test_f6_forecasts_then_an_empty_synthesis_offers_three_ways_and_reviewed_closes_the_gate(sample):
    from ftd_tui.services.critique.log import read_front
    from ftd_tui.tui.screens.critique import CritiqueScreen, ReasonScreen
    from ftd_tui.tui.modals.dialogs import Choice

    root = sample("math-tutoring")
    with FakeOpenAI(default_text=ANSWER) as fake:
        approved(root, fake)

        async def go():
            async with running(root) as (app, pilot):
                app.open_artifact("rubric", focus=True)
                await pilot.press("f6")
                await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="the forecast")
                assert "forecast" in app.screen.question
                assert "critic (experts)" in app.screen.detail and "critic (synthesis)" in app.screen.detail
                assert "local" in app.screen.detail
                await pilot.press("escape")  # cancelled: nothing sent, no screen
                await wait_until(pilot, lambda: not isinstance(app.screen, Choice))
                assert fake.requests == [] and app._critique_screen is None
                # slow answers, so the critique is seen running behind the editor
                # the first two voices (a local server takes two at a time) start answering 1.5 s late
                fake.push(*[{"text": ANSWER, "chunks": 3, "first_delay": 1.5}] * 2)
                fake.push({"match": "synthesise", "text": EMPTY})
                await pilot.press("f6")
                await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="the forecast again")
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, CritiqueScreen), what="critique screen")
                screen = app.screen
                await pilot.press("b")
                status = lambda: str(app.query_one("#next").render())  # noqa: E731
                await wait_until(pilot, lambda: "critique of the rubric running" in status(), what="status line")
                assert "answered" in status() and "F6 shows it" in status()
                await wait_until(pilot, lambda: screen.run is not None, timeout=60, what="finished behind the editor")
                await wait_until(pilot, lambda: "running" not in status(), what="status line cleared")
                await pilot.press("f6")
                await wait_until(pilot, lambda: app.screen is screen)
                # never a blank tab: the error and the three ways on, their keys in the footer
                assert screen.view == "error" and not screen.run.proposals
                body = str(screen.query_one("#synthesis-error-body").render())
                assert "the synthesis returned no proposals" in body
                assert "retry the synthesis" in body and "write them yourself" in body and "mark it reviewed" in body
                shown = {k: a.binding.description for k, a in screen.active_bindings.items() if a.enabled}
                assert {shown.get("s"), shown.get("w"), shown.get("v")} == {
                    "Retry", "Write", "Reviewed"}
                await pilot.press("v")
                await wait_until(pilot, lambda: isinstance(app.screen, ReasonScreen))
                app.screen.query_one("Input").value = "the panel raised nothing the criteria miss"
                await pilot.press("enter")
                await wait_until(pilot, lambda: app.snapshot.result.critiques["rubric"].dispositioned
                                 and "reviewed, nothing to change" in app.snapshot.result.critiques["rubric"].reason,
                                 what="the gate closed")
                assert not app.snapshot.result.critiques["rubric"].stale
                assert "recorded: reviewed" in str(screen.query_one("#synthesis-error-body").render())
                # s: a new critique; the experts' answers from the cache, only the synthesis is asked again
                sent = len(fake.requests)
                fake.push({"match": "synthesise", "text": EMPTY})
                await pilot.press("s")
                await wait_until(pilot, lambda: isinstance(app.screen, CritiqueScreen) and app.screen is not screen
                                 and app.screen.run is not None, timeout=60, what="the retried synthesis")
                assert len(fake.requests) == sent + 1 and "synthesise" in json.dumps(fake.requests[-1]["body"])
                assert app.screen.view == "error"
                # w: back to the editor, to write the changes yourself
                await pilot.press("w")
                await wait_until(pilot, lambda: not isinstance(app.screen, CritiqueScreen))
                assert app.current == "rubric" and app.focused is app.editors["rubric"]

        run(go())
    logs = sorted((root / "critiques/rubric").glob("*.md"), key=log_order)
    assert len(logs) == 2
    assert read_front(logs[0])["reviewed"]["reason"] == "the panel raised nothing the criteria miss"
    assert read_front(logs[1])["synthesis"] is False


@pytest.mark.slow
def test_an_empty_panel_suggestion_says_so_and_offers_nothing(sample):
    from ftd_tui.tui.modals.dialogs import Choice

    root = sample("math-tutoring")
    with FakeOpenAI(default_text=json.dumps({"experts": [], "difficult_users": []})) as fake:
        approved(root, fake)

        async def go():
            async with running(root) as (app, pilot):
                app.open_artifact("taxonomy", focus=True)
                app.action_suggest_panel()
                await wait_until(pilot, lambda: any("suggested no experts" in n.message for n in app._notifications),
                                 timeout=60, what="the empty answer said")
                assert not isinstance(app.screen, Choice) and len(fake.requests) == 1
                assert not app.editors.get("experts") or not app.editors["experts"].dirty

        run(go())
