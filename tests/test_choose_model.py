"""Choosing the base model: exact edits of ftd.yaml and model-choice.md that keep the person's
words, and the checks that read the catalog (base variants, memory beyond the hardware)."""

from __future__ import annotations

from types import SimpleNamespace

from helpers import diagnostics, yset

from ftd_tui.core.project.choose_model import candidate_entry, set_base_model, update_model_choice
from ftd_tui.core.text.markdown import parse_markdown


def facts(**kw):
    base = dict(id="Qwen/Qwen2.5-7B-Instruct", params_b=7.6, context_window=32768, vocab_size=152064,
                formats=["gguf", "mlx"], license="Apache-2.0", family="qwen", source={"context_window": "catalog"})
    base.update(kw)
    return SimpleNamespace(**base)


def test_a_new_model_choice_has_front_matter_and_room_for_prose():
    text = update_model_choice(None, "Qwen/Qwen2.5-7B-Instruct", [candidate_entry(facts(), None, None)], "qlora", "ollama")
    doc = parse_markdown(text)
    fm = doc.front_matter.data
    assert fm["chosen"] == "Qwen/Qwen2.5-7B-Instruct" and fm["method"] == "qlora"
    assert fm["deployment"] == {"target": "ollama"}
    assert fm["candidates"][0]["context_window"] == 32768 and fm["candidates"][0]["formats"] == ["gguf", "mlx"]
    assert "base_pass_rate" not in fm["candidates"][0]  # unknown is left out, never 0
    assert "# Base model choice" in doc.body


def test_an_existing_choice_keeps_the_persons_words(sample):
    root = sample("wellbeing-coaching")
    before = (root / "model-choice.md").read_text()
    mem = SimpleNamespace(total_gb=21.44, method="qlora", seq_len=16384, assumptions=["fused cross-entropy"])
    entries = [candidate_entry(facts(id="Qwen/Qwen3-14B", context_window=40960, params_b=14.8), mem, 0.42),
               candidate_entry(facts(id="microsoft/phi-4", params_b=14.7, context_window=16384), None, None)]
    after = update_model_choice(before, "Qwen/Qwen3-14B", entries, "qlora")
    fm = parse_markdown(after).front_matter.data
    q = next(c for c in fm["candidates"] if c["id"] == "Qwen/Qwen3-14B")
    assert q["context_window"] == 40960 and q["training_memory_gb"] == 21.4 and q["base_pass_rate"] == 0.42
    assert q["base_capability"].startswith("Expected: strongest reasoning")  # a person's words: untouched
    assert fm["candidates"][-1]["id"] == "microsoft/phi-4"  # a new candidate is appended
    body_before = before[before.index("\n---", 4):]
    assert after.endswith(body_before[body_before.index("\n", 1):])  # the prose, byte for byte
    import difflib

    removed = [x for x in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if x.startswith("-") and not x.startswith("---")]
    # chosen, and the derived figures ftd recomputed for the one existing candidate (7), nothing else
    assert len(removed) == 7 and all("base_capability" not in x and "training_cost" not in x for x in removed)


def test_base_model_is_set_with_its_comment_kept(sample):
    root = sample("wellbeing-coaching")
    text = (root / "ftd.yaml").read_text()
    new = set_base_model(text, "Qwen/Qwen3-14B")
    assert "base_model: Qwen/Qwen3-14B   # must agree with model-choice.md `chosen`" in new
    assert [a for a, b in zip(text.splitlines(), new.splitlines()) if a != b] == [
        "base_model: google/gemma-3-12b-it   # must agree with model-choice.md `chosen`"]
    assert set_base_model(new, "Qwen/Qwen3-14B") == new


def test_memory_beyond_the_stated_hardware_is_a_warning(sample):
    root = sample("wellbeing-coaching")
    assert "MOD009" not in {d.rule for d in diagnostics(root)}  # QLoRA of Gemma 3 12B at 16K fits an A100 80GB
    yset(root, "ftd.yaml", "deployment.hardware", "Training: 1x RTX 4090 24 GB")
    yset(root, "ftd.yaml", "budget.max_transcript_tokens", 16384)
    text = (root / "model-choice.md").read_text().replace("method: qlora", "method: full")
    (root / "model-choice.md").write_text(text)
    found = [d for d in diagnostics(root) if d.rule == "MOD009"]
    assert len(found) == 1 and "24 GB" in found[0].message and found[0].file == "model-choice.md"
