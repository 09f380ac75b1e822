"""Token economics: offline counting, exact counting through a chat template, the estimate's
arithmetic, prices, the CLI and the meter."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ftd_tui.core.economics.costs import price_for
from ftd_tui.core.economics.counting import Counter, exact_counter, tiktoken_encoding
from ftd_tui.core.economics.estimate import Inputs, estimate, generation_tokens
from helpers import rules, yset

TEXT = "The quick brown fox — naïve café, 日本語 — jumps over the lazy dog. {persona} ```yaml\nkey: [1, 2]\n```"


def test_offline_count_equals_tiktokens_own():
    enc = tiktoken_encoding("cl100k_base")
    assert enc is not None
    expected = len(enc.encode(TEXT, disallowed_special=()))
    # a fresh interpreter with every socket refused: the files must come from disk
    code = textwrap.dedent(f"""
        import socket
        def refuse(*a, **k):
            raise OSError("network is unreachable (test)")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import os
        os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        from ftd_tui.core.economics.counting import approx_counter
        c = approx_counter("Google")
        print(c.count({TEXT!r}), c.name)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    count, name = out.stdout.split(" ", 1)
    assert int(count) == expected
    assert name.startswith("≈ cl100k_base")


def _fixture_tokenizer(folder: Path) -> Path:
    """A word-level tokenizer and a ChatML template, built here (nothing is downloaded)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # \\w+ | [^\\w\\s]+
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": template, "bos_token": "", "eos_token": ""}))
    return folder


def test_exact_count_through_a_chat_template(tmp_path):
    c = exact_counter("acme/tiny-chat", _fixture_tokenizer(tmp_path / "tok"))
    assert c.exact
    # per message: '<|' 'im_start' '|>' ROLE ... '<|' 'im_end' '|>' = 7 tokens around the content
    assert c.per_message_overhead == 7 and c.fixed_overhead == 0
    assert c.count("one two three, four") == 5  # 'one' 'two' 'three' ',' 'four'


def test_exact_counter_is_found_through_tokenizer_path(sample, tmp_path):
    root = sample("math-tutoring")
    _fixture_tokenizer(root / "tokenizer")
    assert "BUD005" in rules(root)
    yset(root, "ftd.yaml", "budget.tokenizer_path", "tokenizer", create=True)
    assert "BUD005" not in rules(root)
    out = subprocess.run([sys.executable, "-m", "ftd_tui", "tokens", str(root), "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    data = json.loads(out.stdout)
    assert data["exact"] is True and "exact" in data["tokenizer"]


class Fixed(Counter):
    def __init__(self):
        super().__init__("fixed", True, 3, 1)

    def count(self, text: str) -> int:
        return len(text.split())  # one token per word


def test_estimate_by_hand():
    inp = Inputs(system_prompt=" ".join(["w"] * 100), styles=[("only", 1.0, 20, 40, "words")],
                 turn_ranges=[(0.5, 2, 3), (0.5, 10, 10)], ratio=(1.0, 1.5), cap=2.0,
                 sample_text=" ".join(["w"] * 60), budget=1000)
    est = estimate(inp, Fixed())
    # user 30 words = 30 tokens; assistant 30 × 1.25 = 37.5; template 2 × 3; per exchange 73.5
    assert est.per_exchange_tokens == 73.5
    fixed = 100 + 1 + 3  # system prompt + BOS + the system turn's template
    # N: 2 (25%), 3 (25%), 10 (50%) -> p50 at N = 3, p95 at N = 10
    assert est.transcript_tokens["p50"] == math.ceil(fixed + 3 * 73.5)
    assert est.transcript_tokens["p95"] == math.ceil(fixed + 10 * 73.5)
    # max: 10 exchanges of 40 user words and a reply at the 2x hard cap
    assert est.transcript_tokens["max"] == math.ceil(fixed + 10 * (40 * 3 + 6))
    assert est.exchanges_fit == int((1000 - fixed) // 73.5)
    assert est.tier == "cheapest"


def test_generation_grows_with_the_square_of_the_exchanges():
    # the spec's example: 25 exchanges of ~500 tokens re-send ~300K tokens of history
    g = generation_tokens(25, 500, 200, 300, sim_prompt=800, asst_prompt=800)
    history = 500 * 25 * 24 / 2
    assert g["simulator_input"] == 25 * 800 + history
    assert g["assistant_input"] == 25 * 800 + history + 25 * 200
    total = g["simulator_input"] + g["assistant_input"]
    assert 320_000 < total < 360_000
    assert g["simulator_output"] == 25 * 200 and g["assistant_output"] == 25 * 300
    g2 = generation_tokens(50, 500, 200, 300, 800, 800)
    assert g2["simulator_input"] > 3.5 * g["simulator_input"]  # doubling n roughly quadruples it


def test_prices_unknown_local_and_given():
    assert price_for({"model": "openai/no-such-model-xyz"}).known is False
    local = price_for({"model": "ollama_chat/gemma3:12b", "api_base": "http://localhost:11434"})
    assert local.known is False and "local" in local.source
    given = price_for({"model": "x/y", "price": {"input_per_mtok": 3, "output_per_mtok": 15}})
    assert given.input_per_token == 3e-6 and given.output_per_token == 15e-6
    assert price_for({"model": "gemini/gemini-2.5-flash"}).known  # from litellm's bundled map


def test_unknown_price_is_never_zero(sample):
    root = sample("math-tutoring")
    yset(root, "ftd.yaml", "models.judges[0].model", "openai/no-such-judge")
    out = subprocess.run([sys.executable, "-m", "ftd_tui", "tokens", str(root), "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    data = json.loads(out.stdout)
    assert data["cost"]["judging"] is None
    assert data["cost"]["generation"] is not None and data["cost"]["generation"] > 0
    assert data["cost"]["training"] is None  # no GPU price given: unknown, with GPU-hours shown
    assert data["cost_detail"]["training"]["gpu_hours"] > 0
    assert set(data) >= {"tokenizer", "exact", "system_prompt_tokens", "per_exchange_tokens", "transcript_tokens",
                         "max_transcript_tokens", "context_window", "exchanges_fit", "tier", "cost"}
    assert set(data["transcript_tokens"]) == {"p50", "p95", "max"}
    yset(root, "ftd.yaml", "training", {"gpu_hour_usd": 2.0}, create=True)
    data = json.loads(subprocess.run([sys.executable, "-m", "ftd_tui", "tokens", str(root), "--format", "json"],
                                     capture_output=True, text=True, timeout=60).stdout)
    assert data["cost"]["training"] == pytest.approx(data["cost_detail"]["training"]["gpu_hours"] * 2.0, rel=0.01)


def test_p95_over_budget_is_an_error_without_slicing_and_a_warning_with_it(sample):
    from helpers import diagnostics

    root = sample("math-tutoring")
    yset(root, "ftd.yaml", "budget.max_transcript_tokens", 2000)
    d = next(d for d in diagnostics(root) if d.rule == "BUD004")
    assert d.severity == "error"
    yset(root, "ftd.yaml", "budget.slicing", True, create=True)
    d = next(d for d in diagnostics(root) if d.rule == "BUD004")
    assert d.severity == "warning"


def test_text_report(sample):
    root = sample("wellbeing-coaching")
    out = subprocess.run([sys.executable, "-m", "ftd_tui", "tokens", str(root)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "conversation    p50 ≈" in out.stdout and "square of the exchanges" in out.stdout


def test_meter_follows_the_system_prompt_and_the_budget(sample, tmp_path, monkeypatch):
    from apphelp import loaded, wait_until
    from ftd_tui.tui.app import create_app

    root = sample("math-tutoring")

    async def go():
        app = create_app(root)
        async with app.run_test(size=(160, 48)) as pilot:
            await loaded(pilot)
            await wait_until(pilot, lambda: app.estimate is not None and app.counter is not None, what="estimate")
            meter = lambda: str(app.query_one("#meter").render())
            assert "p95 ≈" in meter() and "cost-effective" in meter()
            before = app.estimate.system_prompt_tokens
            app.open_artifact("system-prompt", focus=True)
            ed = app.editors["system-prompt"]
            row = next(i for i, l in enumerate(ed.text.splitlines()) if l.startswith("```")) + 1
            ed.move_cursor((row, 0))
            ed.insert("Always answer in full sentences and never skip a step of the working. ")
            await wait_until(pilot, lambda: app.estimate.system_prompt_tokens > before, what="recount")
            app.open_artifact("settings", focus=True)
            ed = app.editors["settings"]
            text = ed.text.replace("max_transcript_tokens: 12288", "max_transcript_tokens: 2000")
            assert text != ed.text
            ed.load_text(text)
            await wait_until(pilot, lambda: "OVER" in meter(), what="over budget")

    asyncio.run(go())
