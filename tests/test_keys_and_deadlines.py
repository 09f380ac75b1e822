"""Issue 12, items 2, 4, 9 and 14 (doctor): a provider's key never goes to a local port without
approval, a key pasted into `ftd set` is refused unseen, every call ends within its deadlines
(against a real server that never answers and one that trickles), and `ftd doctor` exits 0
only when every role answered.

Everything goes through the real litellm path to the scripted server on 127.0.0.1; what a
server received is read from ``server.requests``."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest

from fakes.openai_server import FakeOpenAI
from ftd_tui.services.llm.door import Door, LLMError
from helpers import diagnostics, yset

CANARY = "sk-proj-canary9f3b7c1d2e4a6b8c0d1e2f3a"  # shaped like an OpenAI project key
SLACK = 1.5  # seconds past a deadline a call may take to wind down on a shared, busy machine


@pytest.fixture
def server():
    with FakeOpenAI(default_text="Gern geschehen — the fake server answered.") as fake:
        yield fake


@pytest.fixture(autouse=True)
def canary_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)


def _cli(*args, env=None, stdin=None):
    return subprocess.run([sys.executable, "-m", "ftd_tui", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})}, input=stdin)


def _bearers(fake) -> list[str]:
    return [next((v for k, v in r["headers"].items() if k.lower() == "authorization"), "") for r in fake.requests]


# --------------------------------------------------------------------------- item 2: keys to loopback


def _leaky_project(sample, base_url: str):
    """The probe's reproduction: a judge on a local port that reads the OpenAI key."""
    root = sample("math-tutoring")
    yset(root, "ftd.yaml", "models.judges[0]", {"model": "openai/gpt-5.2", "api_base": base_url,
                                                 "api_key_env": "OPENAI_API_KEY"})
    return root


def test_a_providers_key_to_a_local_port_is_a_finding_and_needs_approval(server, sample):
    from ftd_tui.core.user.trust import approval_title, needs_approval
    from ftd_tui.core.text.yamldoc import YamlDocument

    root = _leaky_project(sample, server.base_url)
    found = [d for d in diagnostics(root) if d.rule == "SET013"]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].file == "ftd.yaml"
    line = (root / "ftd.yaml").read_text().splitlines()[found[0].line - 1]
    assert "api_key_env" in line and line[found[0].column - 1:].startswith("OPENAI_API_KEY")
    assert "$OPENAI_API_KEY" in found[0].message and server.base_url in found[0].message
    items = needs_approval(YamlDocument.from_bytes((root / "ftd.yaml").read_bytes()).data)
    assert f"models.judges[0] sends your $OPENAI_API_KEY and project text to {server.base_url}" in items
    assert "keys" in approval_title(items)


@pytest.mark.parametrize("role, expected", [
    # implied: no api_key_env, but litellm reads OPENAI_API_KEY for an openai/ model off this machine
    ({"model": "openai/gpt-5.2", "api_base": "https://llm.example.com/v1"},
     "models.critic sends your $OPENAI_API_KEY and project text to https://llm.example.com/v1"),
    # another provider's standard key to a vLLM server on this machine
    ({"model": "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "api_base": "http://localhost:8000/v1",
      "api_key_env": "ANTHROPIC_API_KEY"},
     "models.critic sends your $ANTHROPIC_API_KEY and project text to http://localhost:8000/v1"),
    # the OpenAI key sent to Anthropic's own endpoint is still not Anthropic's key
    ({"model": "anthropic/claude-sonnet-4-5", "api_key_env": "OPENAI_API_KEY"},
     "models.critic sends your $OPENAI_API_KEY and project text to anthropic's default endpoint"),
])
def test_every_way_a_key_can_go_astray_is_named(role, expected):
    from ftd_tui.core.user.trust import needs_approval

    assert needs_approval({"models": {"critic": role}}) == [expected]


def test_what_needs_no_approval_stays_free():
    from ftd_tui.core.user.trust import needs_approval

    free = [
        {"model": "openai/judge-a", "api_base": "http://127.0.0.1:18200/v1"},  # the test wiring: no key goes
        {"model": "ollama_chat/gemma3:12b", "api_base": "http://localhost:11434"},
        {"model": "openai/gpt-5.2", "api_base": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"},
        {"model": "anthropic/claude-sonnet-4-5"},
    ]
    for role in free:
        assert needs_approval({"models": {"critic": role}}) == [], role


def test_a_key_pasted_into_api_key_env_is_never_echoed_by_trust_or_the_door(server):
    from ftd_tui.core.user.trust import needs_approval

    s = {"models": {"critic": {"model": "openai/gpt-5.2", "api_base": server.base_url, "api_key_env": CANARY}}}
    items = needs_approval(s)
    assert items and all(CANARY not in i for i in items)
    d = Door(s, trusted=True)
    with pytest.raises(LLMError) as err:
        asyncio.run(d.complete(d.role("critic"), [{"role": "user", "content": "Bonjour"}]))
    assert CANARY not in err.value.message and server.requests == []


def test_the_door_refuses_the_local_port_until_approved(server, tmp_path):
    from ftd_tui.core.user.trust import approve

    s = {"models": {"critic": {"model": "openai/gpt-5.2", "api_base": server.base_url,
                               "api_key_env": "OPENAI_API_KEY"}}}
    d = Door(s, base_delay=0.01)
    msg = [{"role": "user", "content": "Can you sanity-check this rubric question for me?"}]
    with pytest.raises(LLMError) as err:
        asyncio.run(d.complete(d.role("critic"), msg))
    assert err.value.kind == "not_trusted" and "$OPENAI_API_KEY" in err.value.message
    assert server.requests == [] and CANARY not in err.value.message
    approve(s, tmp_path)
    asyncio.run(d.complete(d.role("critic"), msg))
    assert _bearers(server) == [f"Bearer {CANARY}"]  # approved: now, and only now, the key goes


def test_the_test_wiring_sends_no_key_and_needs_no_approval(server, tmp_path):
    from baselinehelp import wire
    from ftd_tui.core.user.trust import needs_approval
    from ftd_tui.core.text.yamldoc import YamlDocument
    import shutil

    root = tmp_path / "p"
    shutil.copytree(os.path.join(os.path.dirname(__file__), "..", "sample_projects", "math-tutoring"), root)
    wire(root, server.base_url)
    s = YamlDocument.from_bytes((root / "ftd.yaml").read_bytes()).data
    assert needs_approval(s) == []
    d = Door(s)
    asyncio.run(d.complete(d.role("critic"), [{"role": "user", "content": "hi"}]))
    assert _bearers(server) == ["Bearer not-needed"]


@pytest.mark.slow
def test_doctor_sends_no_key_before_trust_and_trust_says_the_key_goes(server, sample):
    root = _leaky_project(sample, server.base_url)
    p = _cli("doctor", str(root))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "$OPENAI_API_KEY" in p.stdout and "ftd trust" in p.stdout
    assert p.stdout.strip().splitlines()[-1].startswith("not tested: nothing was sent")
    assert server.requests == []  # not a single request, so no `Authorization: Bearer <canary>`
    p = _cli("trust", str(root))
    assert p.returncode == 0
    assert f"models.judges[0] sends your $OPENAI_API_KEY and project text to {server.base_url}" in p.stdout
    assert CANARY not in p.stdout + p.stderr and server.requests == []
    # approved: the key may go now (the other roles are cloud ones; point them here too, no key)
    for name in ("critic", "user_sim", "base"):
        yset(root, "ftd.yaml", f"models.{name}", {"model": "openai/fake-model", "api_base": server.base_url})
    yset(root, "ftd.yaml", "models.judges[1]", {"model": "openai/fake-model", "api_base": server.base_url})
    p = _cli("trust", str(root))  # the models section changed: approve again
    p = _cli("doctor", str(root))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().splitlines()[-1] == "ok: all 5 role(s) answered"
    assert _bearers(server).count(f"Bearer {CANARY}") == 1 and CANARY not in p.stdout + p.stderr


# --------------------------------------------------------------------------- item 4: ftd set


@pytest.mark.parametrize("path, value", [
    ("models.critic.api_key_env", CANARY),  # the probe's reproduction, with --create
    ("models.critic.api_key_env", "my openai key"),  # not a variable name (SET004's rule)
    ("description", f"Support bot; staging key {CANARY} until Friday"),  # a key anywhere leaks into git
    ("models.judges[0]", '{model: openai/gpt-5.2, api_key_env: "sk-ant-api03-Zq8w2canaryKEYvalue77"}'),
    ("domain", "ghp_CanaryTokenFromGitHub1234567890abcd"),
])
def test_set_refuses_a_key_without_echoing_it(sample, path, value):
    root = sample("math-tutoring")
    before = (root / "ftd.yaml").read_bytes()
    p = _cli("set", str(root / "ftd.yaml"), path, value, "--create")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "refused" in p.stderr and "not shown" in p.stderr and "Traceback" not in p.stderr
    secret = value if "{" not in value else "sk-ant-api03-Zq8w2canaryKEYvalue77"
    for text in (p.stdout, p.stderr):
        assert secret not in text and CANARY not in text and "canary" not in text.lower()
    assert (root / "ftd.yaml").read_bytes() == before  # nothing written


def test_set_refuses_the_value_of_a_secret_variable_whatever_its_shape(sample):
    root = sample("math-tutoring")
    before = (root / "ftd.yaml").read_bytes()
    odd = "Zm9vYmFyLXRlYW0tc2VjcmV0LTIwMjY"  # no known shape, but it is $TEAM_LLM_TOKEN's value
    p = _cli("set", str(root / "ftd.yaml"), "description", odd, env={"TEAM_LLM_TOKEN": odd})
    assert p.returncode == 1 and odd not in p.stdout + p.stderr
    assert (root / "ftd.yaml").read_bytes() == before


def test_set_still_takes_a_variable_name(sample):
    root = sample("math-tutoring")
    p = _cli("set", str(root / "ftd.yaml"), "models.critic.api_key_env", "TEAM_CLAUDE_KEY", "--create")
    assert p.returncode == 0, p.stderr
    assert "api_key_env: TEAM_CLAUDE_KEY" in (root / "ftd.yaml").read_text()


# --------------------------------------------------------------------------- item 9: deadlines


def _door(fake, *, role=None, **kw) -> Door:
    spec = {"model": "openai/fake-model", "api_base": fake.base_url, **(role or {})}
    kw.setdefault("base_delay", 0.01)
    return Door({"models": {"critic": spec}}, trusted=True, **kw)


def _warm(d: Door) -> None:
    """One answered call first: litellm's first-call set-up (seconds on a busy machine) must not
    eat the small deadlines under test. It also marks the local server warm."""
    asyncio.run(d.complete(d.role("critic"), [{"role": "user", "content": "warm up"}]))


def _timed(coro) -> tuple[LLMError, float]:
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        asyncio.run(coro)
    return err.value, time.monotonic() - start


MSG = [{"role": "user", "content": "Könntest du mir kurz erklären, warum mein Bruch falsch gekürzt ist?"}]


@pytest.mark.slow
def test_a_server_that_never_answers_is_given_up_on_and_then_failed_fast(server):
    d = _door(server, local_first_token_timeout=1.0, max_attempts=4)
    _warm(d)
    server.push({"hang": True}, {"hang": True}, {"hang": True}, {"hang": True})
    err, took = _timed(d.stream(d.role("critic"), MSG))
    assert err.kind == "timeout"
    assert f"no first token within 1 s from {server.base_url}" in err.message
    assert "timed out 2 times in a row" in err.message
    assert len(server.requests) == 1 + 2  # the warm-up, then two attempts: not four
    assert took < 2 * 1.0 + SLACK
    err, took = _timed(d.stream(d.role("critic"), MSG))  # the next call fails fast, naming the deadline
    assert took < 0.5 and len(server.requests) == 3
    assert f"{server.base_url} timed out 2 times in a row (last: no first token within 1 s)" in err.message


@pytest.mark.slow
def test_a_non_streamed_call_to_a_silent_server_ends_at_the_roles_timeout(server):
    d = _door(server, role={"timeout": 1}, max_attempts=4)
    _warm(d)
    server.push({"hang": True}, {"hang": True})
    err, took = _timed(d.complete(d.role("critic"), MSG))
    assert "no complete answer within the role's timeout of 1 s" in err.message
    assert len(server.requests) == 3 and took < 2 * 1.0 + SLACK


@pytest.mark.slow
def test_a_trickling_stream_is_bounded_by_the_roles_timeout_not_per_read(server):
    # the probe's case: a chunk every few seconds never trips a per-read timeout
    d = _door(server, role={"timeout": 2})
    _warm(d)
    words = "Das ist eine sehr langsame Antwort , die Wort für Wort eintrifft und nie fertig wird"
    server.push({"text": words, "trickle": 0.6})
    got: list[str] = []
    err, took = _timed(d.stream(d.role("critic"), MSG, got.append))
    assert err.kind == "timeout" and "no complete answer within the role's timeout of 2 s" in err.message
    assert err.partial and "".join(got) == err.partial and words.startswith(err.partial)  # what arrived is kept
    assert len(server.requests) == 2 and took < 2 + SLACK  # a stream that delivered text is not re-sent


@pytest.mark.slow
def test_a_trickling_non_streamed_body_is_bounded_too(server):
    d = _door(server, role={"timeout": 1.5}, max_attempts=2)
    _warm(d)
    server.push({"text": "eventually", "trickle": 1.0}, {"text": "eventually", "trickle": 1.0})  # 8 s a body
    err, took = _timed(d.complete(d.role("critic"), MSG))
    assert "within the role's timeout of 1.5 s" in err.message
    assert len(server.requests) == 3 and took < 2 * 1.5 + SLACK


def test_a_stream_that_stalls_after_its_first_words(server):
    d = _door(server, local_first_token_timeout=1.0)
    _warm(d)
    server.push({"text": "Erstens zweitens", "trickle": 4.0})  # one word, then 4 s of silence
    err, took = _timed(d.stream(d.role("critic"), MSG))
    assert f"the stream from {server.base_url} stalled: nothing new within 1 s" in err.message
    assert err.partial == "Erstens " and took < 1.0 + SLACK and len(server.requests) == 2


def test_headers_then_silence_is_a_first_token_timeout(server):
    d = _door(server, local_first_token_timeout=1.0, max_attempts=1)
    _warm(d)
    server.push({"text": "late", "first_delay": 5})
    err, took = _timed(d.stream(d.role("critic"), MSG))
    assert "no first token within 1 s" in err.message and took < 1.0 + SLACK


@pytest.mark.slow
def test_the_whole_call_has_a_deadline_across_retries(server):
    # every attempt is cut at the role's timeout; the retries stop when the call's time is up
    d = _door(server, role={"timeout": 1}, call_deadline=2.5, trip_after=99, max_attempts=10)
    _warm(d)
    server.push(*[{"hang": True}] * 10)
    err, took = _timed(d.complete(d.role("critic"), MSG))
    assert "the whole call would exceed" in err.message or "the whole call exceeded 2.5 s" in err.message
    assert took < 2.5 + SLACK and 2 <= len(server.requests) - 1 <= 3


@pytest.mark.slow
def test_a_long_stream_meets_the_whole_call_deadline(server):
    d = _door(server, call_deadline=2.0, local_first_token_timeout=5.0)
    _warm(d)
    server.push({"text": " ".join(["langsam"] * 40), "trickle": 0.3})  # 12 s in all, never a long pause
    err, took = _timed(d.stream(d.role("critic"), MSG))
    assert f"the whole call exceeded 2 s (1 attempt) at {server.base_url}" in err.message
    assert took < 2.0 + SLACK


@pytest.mark.slow
def test_a_local_servers_first_call_may_take_longer(server):
    d = _door(server, local_first_call_timeout=4.0, local_first_token_timeout=1.0, max_attempts=1)
    server.push({"text": "Modell geladen.", "first_delay": 2.0}, {"text": "zu spät", "first_delay": 2.0})
    assert asyncio.run(d.stream(d.role("critic"), MSG)).text == "Modell geladen."  # cold: up to 4 s
    err, _ = _timed(d.stream(d.role("critic"), MSG))  # warm: 1 s
    assert "no first token within 1 s" in err.message


@pytest.mark.slow
def test_a_success_clears_the_timeout_count(server):
    d = _door(server, local_first_token_timeout=1.0, max_attempts=1)
    _warm(d)
    server.push({"hang": True})
    assert _timed(d.stream(d.role("critic"), MSG))[0].kind == "timeout"
    assert asyncio.run(d.stream(d.role("critic"), MSG)).text  # answered: the backend is fine again
    server.push({"hang": True})
    err, _ = _timed(d.stream(d.role("critic"), MSG))
    assert "in a row" not in err.message and len(server.requests) == 4


def test_a_connection_that_never_opens_fails_at_the_connect_deadline():
    # a listening socket whose accept queue is full: the SYN is dropped, connect() hangs
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        d = Door({"models": {"critic": {"model": "openai/fake-model", "api_base": base}}}, trusted=True,
                 connect_timeout=1.0, local_first_call_timeout=8.0, max_attempts=1)
        asyncio.run(asyncio.to_thread(__import__("ftd_tui.services.llm.door", fromlist=["x"]).load_litellm))
        err, took = _timed(d.complete(d.role("critic"), MSG))
        assert f"could not connect to {base} within 1 s" in err.message and took < 1.0 + 3
    finally:
        for c in fillers:
            c.close()
        srv.close()


@pytest.mark.slow
def test_critique_against_a_silent_server_fails_in_seconds_and_says_why(server, sample):
    """The probe's 90 minutes: every voice of the panel against a server that never answers."""
    root = sample("math-tutoring")
    role = {"model": "openai/fake-model", "api_base": server.base_url, "timeout": 2}
    yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role, role]})
    server.responder = lambda body: {"hang": True}
    start = time.monotonic()
    p = _cli("critique", "rubric", str(root), "--no-cache", "--yes")
    took = time.monotonic() - start
    assert p.returncode == 1 and "Traceback" not in p.stderr
    out = p.stdout + p.stderr
    assert "no complete answer within the role's timeout of 2 s" in out and server.base_url in out
    assert "timed out 2 times in a row" in out
    # two voices at a time for a local server: the first two time out, the rest fail fast
    assert len(server.requests) <= 3 and took < 60


# --------------------------------------------------------------------------- item 14: doctor


@pytest.mark.slow
def test_doctor_exits_1_when_a_role_does_not_answer_and_says_so_last(server, sample):
    root = sample("math-tutoring")
    good = {"model": "openai/fake-model", "api_base": server.base_url}
    gone = {"model": "openai/fake-model", "api_base": "http://127.0.0.1:9/v1"}  # nothing listens on port 9
    yset(root, "ftd.yaml", "models", {"critic": good, "user_sim": good, "judges": [good, gone], "base": good})
    p = _cli("doctor", str(root))
    assert p.returncode == 1, p.stdout + p.stderr
    last = p.stdout.strip().splitlines()[-1]
    assert last == "not working: 4 of 5 role(s) answered; failing: judges.1", p.stdout


def test_doctor_with_no_roles_exits_1(sample):
    from helpers import ydel

    root = sample("math-tutoring")
    ydel(root, "ftd.yaml", "models")
    p = _cli("doctor", str(root))
    assert p.returncode == 1
    assert p.stdout.strip().splitlines()[-1] == "not working: no model role is configured"


def test_the_apps_approval_dialog_says_the_key_goes_too(server, sample):
    from apphelp import run, running, wait_until
    from ftd_tui.tui.modals.dialogs import Choice

    root = _leaky_project(sample, server.base_url)

    async def go():
        async with running(root) as (app, pilot):
            app.open_artifact("rubric", focus=True)
            await pilot.press("f6")
            await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="approval question")
            assert "your keys and project text" in app.screen.question
            assert f"models.judges[0] sends your $OPENAI_API_KEY and project text to {server.base_url}" \
                in app.screen.detail
            await pilot.press("n")
            await wait_until(pilot, lambda: not isinstance(app.screen, Choice), what="dialog closed")

    run(go())
    assert server.requests == []  # cancelled: nothing was sent, the key least of all
