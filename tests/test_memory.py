"""Training memory, GPU class and file sizes (core/economics/memory.py), against hand-computed numbers."""

from __future__ import annotations

import pytest

from ftd_tui.core.economics.memory import (
    Arch, figures_for, file_sizes, lora_params, logits_gb, parse_hardware_gb, training_memory,
)

LLAMA_8B = Arch(params_b=8.03, hidden_size=4096, num_layers=32, vocab_size=128256,
                num_attention_heads=32, num_kv_heads=8, intermediate_size=14336)


def _part(est, name):
    return next(p for p in est.parts if p.name == name)


def test_logits_of_the_memory_note():
    # 262,144 × 16,384 × 4 B = 17,179,869,184 B
    assert logits_gb(262144, 16384) == pytest.approx(17.18, abs=0.005)
    assert logits_gb(262144, 16384, bytes_per=2) == pytest.approx(8.59, abs=0.005)


def test_lora_adapter_count_by_hand():
    # per layer 16·(8192 + 5120 + 5120 + 8192 + 18432·3) = 1,310,720; × 32 layers
    assert lora_params(LLAMA_8B, 16) == 41_943_040
    assert lora_params(LLAMA_8B, 8) == 41_943_040 // 2


def test_qlora_llama_8b_at_16k():
    fused = training_memory(LLAMA_8B, "qlora", 16384)
    naive = training_memory(LLAMA_8B, "qlora", 16384, fused_ce=False)
    assert 8 < fused.total_gb < 20
    assert fused.fits == "24 GB"
    assert fused.fused_ce and not naive.fused_ce
    # naive minus fused = full logits minus one 1,024-token chunk
    expected = logits_gb(128256, 16384) - logits_gb(128256, 1024)
    assert naive.total_gb - fused.total_gb == pytest.approx(expected)
    assert naive.total_gb - fused.total_gb == pytest.approx(logits_gb(128256, 16384), rel=0.1)
    # embeddings + untied LM head in bf16: 2 × 128,256 × 4,096 × 2 B ≈ 2.10 GB, beside the NF4 body
    weights = _part(fused, "weights")
    embed = 2 * 128256 * 4096 * 2 / 1e9
    body = (8.03e9 - 2 * 128256 * 4096) * 4.127 / 8 / 1e9
    assert weights.gb == pytest.approx(embed + body, rel=1e-3)
    assert "bf16" in weights.assumption and "NF4" in weights.assumption
    # activations: 16384·4096·32·2 B + 16384·(16·4096 + 3·14336)·2 B
    act = (16384 * 4096 * 32 * 2 + 16384 * (16 * 4096 + 3 * 14336) * 2) / 1e9
    assert _part(fused, "activations").gb == pytest.approx(act)
    assert "fused" in _part(fused, "logits").assumption
    assert "naive" in _part(naive, "logits").assumption
    assert all(p.assumption for p in fused.parts)
    assert fused.total_gb == pytest.approx(sum(p.gb for p in fused.parts))


def test_full_finetune_needs_more_than_one_gpu():
    full = training_memory(LLAMA_8B, "full", 16384)
    assert full.total_gb > 100
    assert full.fits is None
    # 14 B per parameter of optimizer state and gradients beside 2 B of weights
    assert _part(full, "optimizer state and gradients").gb == pytest.approx(8.03 * 14)
    assert not any(p.name == "LoRA adapters" for p in full.parts)


def test_lora_between_and_methods_ordered():
    figs = figures_for(LLAMA_8B, 16384)
    assert set(figs) == {"qlora", "lora", "full"}
    assert figs["qlora"].total_gb < figs["lora"].total_gb < figs["full"].total_gb
    assert figs["lora"].fits == "40 GB"
    assert _part(figs["lora"], "LoRA adapters").gb == pytest.approx(41_943_040 * 2 / 1e9)
    assert _part(figs["lora"], "optimizer state and gradients").gb == pytest.approx(41_943_040 * 12 / 1e9)


def test_batch_and_short_sequences():
    one = training_memory(LLAMA_8B, "qlora", 2048)
    two = training_memory(LLAMA_8B, "qlora", 2048, batch=2)
    assert _part(two, "activations").gb == pytest.approx(2 * _part(one, "activations").gb)
    short = training_memory(LLAMA_8B, "qlora", 512)
    assert _part(short, "logits").gb == pytest.approx(logits_gb(128256, 512))  # chunk ≤ sequence
    with pytest.raises(ValueError):
        training_memory(LLAMA_8B, "dora", 1024)
    with pytest.raises(ValueError):
        training_memory(LLAMA_8B, "lora", 0)


def test_tied_embeddings_counted_once():
    tied = Arch(params_b=8.03, hidden_size=4096, num_layers=32, vocab_size=128256,
                num_attention_heads=32, num_kv_heads=8, intermediate_size=14336, tied_embeddings=True)
    w_tied = _part(training_memory(tied, "qlora", 4096), "weights")
    w_untied = _part(training_memory(LLAMA_8B, "qlora", 4096), "weights")
    # the second copy moves from bf16 (2 B) into the NF4 body (≈0.516 B)
    assert w_untied.gb - w_tied.gb == pytest.approx(128256 * 4096 * (2 - 4.127 / 8) / 1e9, rel=1e-3)


def test_missing_numbers_estimated_and_said():
    guess = Arch(params_b=8.03, hidden_size=4096, num_layers=32, vocab_size=128256)
    est = training_memory(guess, "qlora", 16384)
    text = " ".join(est.assumptions)
    assert "MLP width unknown" in text and "key/value heads unknown" in text
    assert 8 < est.total_gb < 25
    # the MLP width recovered from the parameter count, with kv = q dims assumed (no GQA)
    assert 11_000 < lora_params(guess) / 32 / 16 < 120_000
    bare = Arch(params_b=8.0, hidden_size=None, num_layers=None, vocab_size=None)
    est = training_memory(bare, "lora", 8192)
    text = " ".join(est.assumptions)
    assert "hidden size unknown" in text and "layer count unknown" in text and "vocabulary unknown" in text
    assert 10 < est.total_gb < 60
    # a complete architecture guesses nothing
    assert not any("unknown" in a for a in training_memory(LLAMA_8B, "qlora", 1024).assumptions)


def test_file_sizes_monotone():
    sizes = file_sizes(LLAMA_8B)
    assert sizes["bf16"] == pytest.approx(16.06)
    assert sizes["Q8_0"] == pytest.approx(8.03 * 8.5 / 8)
    assert sizes["bf16"] > sizes["Q8_0"] > sizes["Q4_K_M"] > sizes["MLX 4-bit"] > 0


@pytest.mark.parametrize("text, gb", [
    ("Training: 1x NVIDIA A100 80GB (rented)", 80),
    ("RTX 4090 24 GB", 24),
    ("2x A100 40GB", 40),
    ("H100", 80),
    ("A100", 80),
    ("4x L40S", 48),
    ("T4 on Colab", 16),
    ("RTX 5090", 32),
    ("Training: A10G\nInference: Apple M2 Max 96 GB", 24),
    ("Training: rented A100-40GB; serving on a Mac with 32 GB", 40),
    ("Apple M3 Max 64 GB unified memory", 64),
    ("Training: cloud GPU with 48 GB, 256 GB RAM", 48),
    ("a laptop", None),
    ("", None),
    (None, None),
])
def test_parse_hardware_gb(text, gb):
    assert parse_hardware_gb(text) == gb
