"""The LLM door through the real litellm code path to a scripted OpenAI-compatible server on
127.0.0.1: streaming, retries on 429 (Retry-After) / 500 / timeouts, a cut stream, structured
output with one re-ask, the response cache, keys that never leak, trust and offline rules."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path
import sys
import time

import pytest
from pydantic import BaseModel

from fakes.openai_server import FakeOpenAI
from ftd_tui.services.llm.cache import ResponseCache
from ftd_tui.services.llm.door import Door, LLMError

CANARY = "sk-canary-7d1f0c9a5b3e4f21aa"


@pytest.fixture
def fake():
    with FakeOpenAI(default_text="Hello from the fake server.") as server:
        yield server


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("FTD_TEST_KEY", CANARY)  # the user folders are isolated by conftest


def settings(fake, **role):
    spec = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY", "timeout": 5}
    spec.update(role)
    return {"models": {"critic": spec, "judges": [dict(spec), dict(spec)]}}


def door(fake, **kw) -> Door:
    return Door(settings(fake, **kw.pop("role", {})), trusted=True, base_delay=0.01, **kw)


def run(coro):
    return asyncio.run(coro)


def test_streams_in_order_and_counts_usage(fake):
    fake.push({"text": "one two three four five six", "chunks": 6, "chunk_delay": 0.01})
    d = door(fake)
    pieces = []
    reply = run(d.stream(d.role("critic"), [{"role": "user", "content": "hi there"}], pieces.append))
    assert "".join(pieces) == reply.text == "one two three four five six"
    assert len(pieces) >= 3
    # the server's own counts come back (the fake counts "hi there" with a real tokenizer + 4)
    assert reply.output_tokens == 6 and reply.input_tokens == 6
    assert d.usage["critic"].calls == 1
    assert fake.requests[0]["body"]["stream"] is True
    assert {k.lower(): v for k, v in fake.requests[0]["headers"].items()}["authorization"] == f"Bearer {CANARY}"


def test_429_honours_retry_after_then_succeeds(fake):
    fake.push({"status": 429, "retry_after": 1}, {"text": "after the wait"})
    d = door(fake)
    t = time.monotonic()
    reply = run(d.complete(d.role("critic"), [{"role": "user", "content": "x"}]))
    assert reply.text == "after the wait"
    assert time.monotonic() - t >= 0.9
    assert len(fake.requests) == 2


def test_500_retries_and_gives_up_with_a_clear_message(fake):
    fake.push({"status": 500}, {"text": "recovered"})
    d = door(fake)
    assert run(d.complete(d.role("critic"), [{"role": "user", "content": "x"}])).text == "recovered"
    fake.push(*[{"status": 500}] * 3)
    d = door(fake, max_attempts=3)
    with pytest.raises(LLMError) as err:
        run(d.complete(d.role("critic"), [{"role": "user", "content": "y"}]))
    assert err.value.kind == "server" and "models.critic" in err.value.message


def test_timeout_is_retried_then_reported(fake):
    fake.push({"delay": 3}, {"delay": 3})
    d = door(fake, max_attempts=2, role={"timeout": 0.5})
    with pytest.raises(LLMError) as err:
        run(d.complete(d.role("critic"), [{"role": "user", "content": "slow"}]))
    assert err.value.kind in ("timeout", "unreachable")
    assert len(fake.requests) == 2


def test_a_stream_cut_midway_keeps_what_arrived(fake):
    fake.push({"text": "alpha beta gamma delta epsilon zeta", "chunks": 6, "cut_after": 3})
    d = door(fake)
    got = []
    with pytest.raises(LLMError) as err:
        run(d.stream(d.role("critic"), [{"role": "user", "content": "x"}], got.append))
    assert err.value.kind == "cut"
    assert err.value.partial == "".join(got) and err.value.partial.startswith("alpha")
    assert len(fake.requests) == 1  # text had arrived: no silent retry that would repeat it


class Verdict(BaseModel):
    reasoning: str
    answer: str


def test_structured_output_reasks_once_then_errors(fake):
    fake.push({"text": "Sure! Here you go: not json"}, {"text": '```json\n{"reasoning": "evidence", "answer": "YES"}\n```'})
    d = door(fake)
    value, _ = run(d.structured(d.role("critic"), [{"role": "user", "content": "judge"}], Verdict))
    assert value == Verdict(reasoning="evidence", answer="YES")
    assert fake.requests[0]["body"]["response_format"]["type"] == "json_schema"
    assert len(fake.requests) == 2 and "not valid JSON" in fake.requests[1]["body"]["messages"][-1]["content"]
    fake.push({"text": "nope"}, {"text": "{\"reasoning\": 1}"})
    with pytest.raises(LLMError) as err:
        run(d.structured(d.role("critic"), [{"role": "user", "content": "judge again"}], Verdict))
    assert err.value.kind == "bad_output"


def test_cache_serves_repeats_never_errors_and_is_private(fake, tmp_path):
    cache = ResponseCache(tmp_path / "responses.sqlite")
    d = door(fake, cache=cache)
    msgs = [{"role": "user", "content": "same question"}]
    first = run(d.complete(d.role("critic"), msgs))
    again = run(d.complete(d.role("critic"), msgs))
    assert again.cached and again.text == first.text and len(fake.requests) == 1
    other = run(d.complete(d.role("critic"), msgs, sample_index=1))
    assert not other.cached and len(fake.requests) == 2
    fake.push(*[{"status": 500}] * 4)
    with pytest.raises(LLMError):
        run(door(fake, cache=cache, max_attempts=2).complete(d.role("critic"), [{"role": "user", "content": "fails"}]))
    fake.push({"text": "fine now"})
    assert run(d.complete(d.role("critic"), [{"role": "user", "content": "fails"}])).text == "fine now"
    assert stat.S_IMODE((tmp_path / "responses.sqlite").stat().st_mode) == 0o600


def test_missing_key_no_model_and_offline_are_clear(fake, monkeypatch):
    monkeypatch.delenv("FTD_TEST_KEY")
    d = door(fake)
    with pytest.raises(LLMError) as err:
        run(d.complete(d.role("critic"), [{"role": "user", "content": "x"}]))
    assert err.value.kind == "no_key" and "$FTD_TEST_KEY" in err.value.message
    with pytest.raises(LLMError) as err:
        Door({"models": {}}, trusted=True).role("user_sim")
    assert err.value.kind == "no_model"
    remote = Door({"deployment": {"offline": True},
                   "models": {"critic": {"model": "anthropic/claude-sonnet-4-5"}}}, trusted=True)
    with pytest.raises(LLMError) as err:
        run(remote.complete(remote.role("critic"), [{"role": "user", "content": "x"}]))
    assert err.value.kind == "offline"
    assert fake.requests == []


def test_unapproved_endpoints_are_refused_until_trusted(fake, tmp_path):
    from ftd_tui.core.user.trust import approve, is_approved, needs_approval

    s = settings(fake)  # a non-standard key variable: needs approval
    assert any("FTD_TEST_KEY" in item for item in needs_approval(s))
    d = Door(s, base_delay=0.01)
    with pytest.raises(LLMError) as err:
        run(d.complete(d.role("critic"), [{"role": "user", "content": "x"}]))
    assert err.value.kind == "not_trusted" and fake.requests == []
    approve(s, tmp_path)
    assert is_approved(s)
    assert run(d.complete(d.role("critic"), [{"role": "user", "content": "x"}])).text
    s["models"]["critic"]["api_base"] = "https://llm.example.com/v1"  # the section changed: ask again
    assert not is_approved(s)


def test_the_canary_key_is_nowhere(fake, tmp_path):
    cache = ResponseCache(tmp_path / "user-cache" / "responses.sqlite")
    fake.push({"status": 500, "message": f"upstream echoed the key {CANARY}"}, {"status": 500}, {"status": 500})
    d = door(fake, cache=cache, max_attempts=3)
    with pytest.raises(LLMError) as err:
        run(d.complete(d.role("critic"), [{"role": "user", "content": "x"}]))
    assert CANARY not in str(err.value) and CANARY not in err.value.message
    run(d.complete(d.role("critic"), [{"role": "user", "content": "ok"}]))
    cache.close()
    for root, _, files in os.walk(tmp_path):
        for name in files:
            assert CANARY.encode() not in open(os.path.join(root, name), "rb").read(), name


def test_importing_the_door_does_not_import_litellm():
    out = subprocess.run([sys.executable, "-c", "import sys, ftd_tui.services.llm.door; print('litellm' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ftd_tui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_trust_and_doctor_end_to_end(fake, sample):
    from helpers import yset

    root = sample("math-tutoring")
    role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}
    yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role, role]})
    p = _cli("doctor", str(root))
    assert p.returncode == 1 and "ftd trust" in p.stdout and "FTD_TEST_KEY" in p.stdout and fake.requests == []
    p = _cli("trust", str(root))
    assert p.returncode == 0 and "approved" in p.stdout
    p = _cli("doctor", str(root))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("✓") == 3 and "$FTD_TEST_KEY set" in p.stdout and "ok (" in p.stdout
    assert CANARY not in p.stdout + p.stderr
    p = _cli("doctor", str(root), env={"FTD_TEST_KEY": ""})
    assert p.returncode == 1 and "no key" in p.stdout and "not set" in p.stdout
    fake.__exit__()  # the server goes away
    p = _cli("doctor", str(root))
    assert p.returncode == 1 and "unreachable" in p.stdout and "Traceback" not in p.stderr


def test_doctor_setup_proposes_and_writes_a_user_models_block(sample, tmp_path, monkeypatch):
    from ftd_tui.core.user.roles import effective_settings, suggest_models

    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-real-but-set")
    models, notes = suggest_models([])
    assert [j["model"] for j in models["judges"]] == ["openai/gpt-5.2", "openai/gpt-5.2"]
    assert any("same family" in n for n in notes)
    root = sample("math-tutoring")
    from helpers import ydel

    ydel(root, "ftd.yaml", "models")
    p = _cli("doctor", str(root), "--setup", env={"OPENAI_API_KEY": "sk-not-real-but-set"})
    assert p.returncode == 1 and "--write" in p.stdout and "same family" in p.stdout
    cfg = Path(os.environ["FTD_CONFIG_DIR"]) / "config.yaml"
    cfg.write_text("# mine\ntheme: ftd-light   # keep\n")
    p = _cli("doctor", str(root), "--setup", "--write", env={"OPENAI_API_KEY": "sk-not-real-but-set"})
    assert p.returncode == 0, p.stdout + p.stderr
    text = cfg.read_text()
    assert text.startswith("# mine\ntheme: ftd-light   # keep\n") and "openai/gpt-5.2" in text
    assert "sk-not-real" not in text
    # the project's own roles win, role by role
    merged, sources = effective_settings({"models": {"critic": {"model": "x/y"}}}, {"critic": {"model": "a/b"},
                                                                                 "judges": [{"model": "c/d"}]})
    assert merged["models"]["critic"]["model"] == "x/y" and sources == {"critic": "ftd.yaml", "judges": "user config"}

