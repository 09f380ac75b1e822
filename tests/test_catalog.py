"""The model catalog: packaged facts, local snapshots laid over them, `ftd models`."""

from __future__ import annotations

import argparse
import json
import socket
import struct

import pytest

from ftd_tui.cli.parser import add_models
from ftd_tui.core.economics import catalog
from ftd_tui.core.artifacts.families import family_of
from ftd_tui.core.artifacts.model_choice import _INSTRUCT, FORMATS
from ftd_tui.core.text.markdown import parse_markdown

from conftest import SAMPLES


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No socket may connect, and the Hugging Face cache is an empty folder of the test's own
    (a developer's real cache would otherwise change the answers)."""
    def refuse(*a, **k):
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    hub = tmp_path / "hf-hub"
    hub.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    return hub


def snapshot(hub, model_id: str, config: dict, tokenizer_config: dict | None = None, rev: str = "abc"):
    folder = hub / ("models--" + model_id.replace("/", "--")) / "snapshots" / rev
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    if tokenizer_config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
        (folder / "tokenizer.json").write_text("{}")
    return folder


def write_safetensors(path, shapes: dict[str, list[int]]):
    header = {name: {"dtype": "BF16", "shape": shape, "data_offsets": [0, 0]} for name, shape in shapes.items()}
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


GEMMA3_LIKE = {
    "architectures": ["Gemma3ForConditionalGeneration"],
    "model_type": "gemma3",
    "text_config": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 4,
                    "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 128,
                    "vocab_size": 32000, "max_position_embeddings": 16384, "tie_word_embeddings": True},
    "vision_config": {"hidden_size": 64},
}


def run_models(capsys, *argv) -> str:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_models(sub)
    args = p.parse_args(["models", *argv])
    assert args.func(args) == 0
    return capsys.readouterr().out


# --------------------------------------------------------------------------- the packaged catalog

def test_catalog_spans_families_and_sizes():
    models = catalog.load_catalog()
    assert len(models) >= 14
    assert len({m.family for m in models}) >= 6
    sizes = [m.params_b for m in models]
    assert min(sizes) <= 2 and max(sizes) >= 27
    assert len({m.id.lower() for m in models}) == len(models)


def test_every_fact_names_its_source():
    for m in catalog.load_catalog():
        for k in catalog.FACT_FIELDS:
            if getattr(m, k) not in (None, [], ""):
                assert m.source.get(k) == "catalog", (m.id, k)
                assert m.sources.get(k, "").startswith("https://"), (m.id, k)
        assert m.as_of and m.released and len(m.released) == 7
        assert set(m.formats) <= set(FORMATS) - {"safetensors"}, m.id
        assert m.family == family_of(m.id), m.id
        assert m.ollama and ":" in m.ollama


def test_architecture_agrees_with_the_published_size():
    # a mistyped layer count or width shows up as a size that no longer matches the card
    for m in catalog.load_catalog():
        est = catalog._architecture_params(m, {}) / 1e9
        slack = 0.6 if "vision" in (m.notes or "") else 0.35
        assert abs(est - m.params_b) <= slack, (m.id, est, m.params_b)
        assert m.num_attention_heads % m.num_kv_heads == 0, m.id


def test_ids_are_instruct_variants_and_base_ids_are_not():
    for m in catalog.load_catalog():
        assert catalog.is_instruction_tuned(m.id) is True
        assert _INSTRUCT.search(m.id), m.id  # ftd check's MOD005 must not flag a catalog id
        if m.base_id:
            assert catalog.is_instruction_tuned(m.base_id) is False
            assert catalog.is_instruction_tuned(m.base_id.upper()) is False
            found = catalog.find(m.base_id)
            assert found.is_base_variant and found.id == m.id
    assert catalog.is_instruction_tuned("acme/never-heard-of-it") is None


def test_find_by_case_prefix_and_ollama_tag():
    assert catalog.find("GOOGLE/GEMMA-3-12B-IT").id == "google/gemma-3-12b-it"
    assert catalog.find("huggingface/Qwen/Qwen3-8B").id == "Qwen/Qwen3-8B"
    assert catalog.find("ollama_chat/gemma3:12b").id == "google/gemma-3-12b-it"
    assert catalog.find("") is None and catalog.find("gemma3") is None


def test_known_facts():
    g = catalog.find("google/gemma-3-12b-it")
    assert g.vocab_size == 262144 and g.context_window == 131072 and "qat" in g.formats
    assert catalog.find("microsoft/phi-4").base_id is None
    assert catalog.find("Qwen/Qwen3-8B").base_id == "Qwen/Qwen3-8B-Base"


def test_sample_candidates_agree_with_the_catalog():
    for project in SAMPLES.iterdir():
        mc = project / "model-choice.md"
        if not mc.is_file():
            continue
        fm = parse_markdown(mc.read_text()).front_matter.data
        for c in fm["candidates"]:
            m = catalog.find(c["id"])
            if m is None:
                continue
            assert c["vocab_size"] == m.vocab_size, (project.name, c["id"])
            assert c["context_window"] == m.context_window, (project.name, c["id"])


def test_catalog_copies_are_independent():
    a = catalog.load_catalog()
    a[0].formats.append("exl2")
    a[0].source.clear()
    b = catalog.load_catalog()
    assert "exl2" not in b[0].formats and b[0].source


# --------------------------------------------------------------------------- local snapshots

def test_read_snapshot_nested_text_config(tmp_path):
    folder = tmp_path / "snap"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(GEMMA3_LIKE))
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}", "model_max_length": 1e30}))
    f = catalog.read_snapshot(folder, "acme/tiny-chat")
    assert (f.hidden_size, f.num_layers, f.num_attention_heads, f.num_kv_heads, f.head_dim) == (1024, 4, 8, 4, 128)
    assert f.vocab_size == 32000 and f.context_window == 16384 and f.tied_embeddings is True
    assert f.instruction_tuned is True and "chat template" in f.source["instruction_tuned"]
    assert f.source["vocab_size"] == f"local snapshot {folder}"
    assert catalog.APPROX in f.source["params_b"] and f.params_b > 0
    assert f.formats == []


def test_read_snapshot_context_fallback_and_missing_config(tmp_path):
    assert catalog.read_snapshot(tmp_path, "acme/none") is None
    cfg = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1e30}))
    f = catalog.read_snapshot(tmp_path, "acme/base")
    assert f.context_window is None and f.instruction_tuned is None
    assert f.head_dim == 16 and "hidden_size / num_attention_heads" in f.source["head_dim"]
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 4096}))
    f = catalog.read_snapshot(tmp_path, "acme/base")
    assert f.context_window == 4096 and "model_max_length" in f.source["context_window"]


def test_read_snapshot_counts_safetensors_exactly(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                                                      "intermediate_size": 16, "vocab_size": 10}))
    write_safetensors(tmp_path / "model-00001-of-00002.safetensors", {"a": [1000, 1000], "b": [10]})
    write_safetensors(tmp_path / "model-00002-of-00002.safetensors", {"c": [5, 2]})
    (tmp_path / "README.md").write_text("---\nlicense: other\nlicense_name: acme-open\n---\n# Acme\n")
    f = catalog.read_snapshot(tmp_path, "acme/exact")
    assert f.params_b == round(1_000_020 / 1e9, 2) and f.source["params_b"].endswith("(safetensors)")
    assert f.formats == ["safetensors"] and f.license == "acme-open"


def test_known_models_adds_a_cached_model_the_catalog_lacks(offline):
    folder = snapshot(offline, "acme/tiny-chat", GEMMA3_LIKE, {"chat_template": "{{ messages }}"})
    models = catalog.known_models()
    assert len(models) == len(catalog.load_catalog()) + 1
    tiny = catalog.find("ACME/tiny-chat", models)
    assert tiny is not None and tiny.local
    assert tiny.vocab_size == 32000 and tiny.source["vocab_size"] == f"local snapshot {folder}"
    assert catalog.find("acme/tiny-chat") is None  # the packaged catalog itself is untouched


def test_known_models_overlays_a_catalog_model(offline):
    cfg = json.loads(json.dumps(GEMMA3_LIKE))
    cfg["text_config"] = {"hidden_size": 3840, "intermediate_size": 15360, "num_hidden_layers": 48,
                          "num_attention_heads": 16, "num_key_value_heads": 8}
    folder = snapshot(offline, "google/gemma-3-12b-it", cfg, {"chat_template": "x"})
    (folder / "model.safetensors").write_bytes(b"")  # unreadable header: no exact count
    g = catalog.find("google/gemma-3-12b-it", catalog.known_models())
    assert g.vocab_size == 262144 and g.source["vocab_size"] == "catalog"
    assert g.hidden_size == 3840 and g.source["hidden_size"] == f"local snapshot {folder}"
    assert g.params_b == 12.2 and g.source["params_b"] == "catalog"  # an estimate never replaces the card
    assert g.formats[:3] == ["gguf", "mlx", "qat"] and "safetensors" in g.formats
    assert g.license == "Gemma Terms of Use"


def test_known_models_notes_a_context_disagreement(offline):
    cfg = {"hidden_size": 4096, "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8,
           "intermediate_size": 12288, "vocab_size": 151936, "max_position_embeddings": 40960}
    snapshot(offline, "Qwen/Qwen3-8B", cfg)
    q = catalog.find("Qwen/Qwen3-8B", catalog.known_models())
    assert q.context_window == 40960 and q.source["context_window"].startswith("local snapshot")
    assert "40,960" in q.notes and "32,768" in q.notes


def test_a_cached_base_variant_is_flagged(offline):
    snapshot(offline, "google/gemma-3-12b-pt", GEMMA3_LIKE)
    pt = next(m for m in catalog.known_models() if m.id == "google/gemma-3-12b-pt")
    assert pt.is_base_variant and pt.instruction_tuned is False


def test_explicit_snapshot_from_a_project(tmp_path):
    root = tmp_path / "proj"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "config.json").write_text(json.dumps(GEMMA3_LIKE))
    (root / "ftd.yaml").write_text("budget:\n  tokenizer_path: weights\n")
    (root / "model-choice.md").write_text("---\nchosen: acme/house-model-it\n---\nprose\n")
    m = catalog.find("acme/house-model-it", catalog.known_models(root))
    assert m is not None and m.local and m.hidden_size == 1024


# --------------------------------------------------------------------------- ftd models

def test_cmd_models_json_shape(capsys, offline):
    snapshot(offline, "acme/tiny-chat", GEMMA3_LIKE, {"chat_template": "x"})
    data = json.loads(run_models(capsys, "--format", "json", "--sort", "params"))
    assert len(data) == len(catalog.load_catalog()) + 1
    for d in data:
        for key in ("id", "params", "context_window", "vocab_size", "license", "formats", "family", "source", "sources"):
            assert key in d
    params = [d["params"] for d in data if d["params"] is not None]
    assert params == sorted(params, reverse=True)
    tiny = next(d for d in data if d["id"] == "acme/tiny-chat")
    assert tiny["local"] and all(v.startswith("local snapshot") for v in tiny["source"].values())


def test_cmd_models_family_filter_and_text(capsys):
    data = json.loads(run_models(capsys, "--format", "json", "--family", "google"))
    assert data and {d["family"] for d in data} == {"Google"}
    out = run_models(capsys, "--sort", "context")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["model", "family", "params"]
    assert any(line.startswith("google/gemma-3-12b-it") and "262,144" in line for line in lines)
    assert "no models" in run_models(capsys, "--family", "nobody")
