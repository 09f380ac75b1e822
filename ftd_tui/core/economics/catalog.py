"""Facts about open-weight models for model-choice.md: context window, vocabulary, architecture,
licence, formats. A packaged catalog (data/model_catalog.yaml, recorded from the published
configs and model cards) overlaid with whatever snapshots sit in the local Hugging Face cache,
so a model the user has on disk is described by its own files. Never touches the network."""

from __future__ import annotations

import json
import math
import os
import re
import struct
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..artifacts.families import family_of
from .counting import hf_snapshot

CATALOG_FILE = Path(__file__).resolve().parents[2] / "data" / "model_catalog.yaml"

# The facts that carry a provenance; id and family identify the model rather than describe it.
FACT_FIELDS = ("base_id", "params_b", "context_window", "vocab_size", "hidden_size", "num_layers",
               "num_attention_heads", "num_kv_heads", "head_dim", "intermediate_size", "tied_embeddings",
               "license", "formats", "ollama", "released")
ARCH_FIELDS = ("vocab_size", "hidden_size", "num_layers", "num_attention_heads", "num_kv_heads",
               "head_dim", "intermediate_size", "tied_embeddings")
SORT_KEYS = ("params", "context", "vocab", "id")
APPROX = "≈ from architecture"

# Some tokenizer configs carry a sentinel (1e30) or a training length rather than the window.
_PLAUSIBLE_CONTEXT = (512, 10_000_000)
# A safetensors header is a few MB even for large models; anything bigger is not one.
_MAX_HEADER = 100 * 1024 * 1024


@dataclass
class ModelFacts:
    id: str
    base_id: str | None = None
    family: str | None = None
    params_b: float | None = None
    context_window: int | None = None
    vocab_size: int | None = None
    hidden_size: int | None = None
    num_layers: int | None = None
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    intermediate_size: int | None = None
    tied_embeddings: bool | None = None
    license: str | None = None
    formats: list[str] = field(default_factory=list)
    ollama: str | None = None
    released: str | None = None
    as_of: str | None = None
    instruction_tuned: bool | None = None
    is_base_variant: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # field -> URL of the published fact
    source: dict[str, str] = field(default_factory=dict)   # field -> "catalog" | "local snapshot <path>…"
    notes: str | None = None

    @property
    def local(self) -> bool:
        return any(s.startswith("local snapshot") for s in self.source.values())


# --------------------------------------------------------------------------- the catalog

@lru_cache(maxsize=1)
def _catalog_entries() -> tuple[dict, ...]:
    from ..text.yamldoc import YamlDocument

    # libyaml through ruamel's C extension: ~15 ms, against ~80 ms for the pure parser (every `ftd check` reads it)
    data = YamlDocument.from_bytes(CATALOG_FILE.read_bytes()).data
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise ValueError(f"{CATALOG_FILE}: no 'models' list")
    return tuple(m for m in models if isinstance(m, dict))


def _from_entry(entry: dict) -> ModelFacts:
    names = {f.name for f in fields(ModelFacts)}
    kwargs = {k: v for k, v in entry.items() if k in names and k not in ("source", "is_base_variant")}
    if not isinstance(kwargs.get("id"), str) or not kwargs["id"]:
        raise ValueError(f"{CATALOG_FILE}: a model without an id")
    # fresh containers: callers may edit what they get without touching the cache
    kwargs["formats"] = list(kwargs.get("formats") or [])
    kwargs["sources"] = dict(kwargs.get("sources") or {})
    facts = ModelFacts(**kwargs)
    if facts.released is not None:
        facts.released = str(facts.released)
    if facts.as_of is not None:
        facts.as_of = str(facts.as_of)
    if facts.instruction_tuned is None:
        facts.instruction_tuned = True  # the catalog lists instruction-tuned variants only
    facts.source = {k: "catalog" for k in FACT_FIELDS if _present(getattr(facts, k))}
    return facts


def load_catalog() -> list[ModelFacts]:
    """The packaged catalog, freshly built each call from a cached parse."""
    return [_from_entry(e) for e in _catalog_entries()]


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


# --------------------------------------------------------------------------- local snapshots

def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _safetensors_params(folder: Path) -> int | None:
    """Exact parameter count from the safetensors headers (a few bytes each, not the weights)."""
    index = _read_json(folder / "model.safetensors.index.json")
    if index and isinstance(index.get("metadata"), dict):
        total = _int(index["metadata"].get("total_parameters"))
        if total:
            return total
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for f in files:
        try:
            with f.open("rb") as fh:
                raw = fh.read(8)
                if len(raw) != 8:
                    return None
                (size,) = struct.unpack("<Q", raw)
                if size > _MAX_HEADER:
                    return None
                header = json.loads(fh.read(size))
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict):
            return None
        for name, t in header.items():
            if name == "__metadata__" or not isinstance(t, dict) or not isinstance(t.get("shape"), list):
                continue
            total += math.prod(int(d) for d in t["shape"])
    return total or None


def _architecture_params(f: ModelFacts, cfg: dict) -> int | None:
    """Dense decoder estimate: embeddings, attention, gated MLP, norms; biases ignored."""
    h, n, heads, kv, inter, vocab = (f.hidden_size, f.num_layers, f.num_attention_heads, f.num_kv_heads,
                                     f.intermediate_size, f.vocab_size)
    if None in (h, n, heads, inter, vocab):
        return None
    kv = kv or heads
    d = f.head_dim or h // heads
    attn = h * heads * d * 2 + h * kv * d * 2
    experts = _int(cfg.get("num_local_experts")) or _int(cfg.get("num_experts")) or 1
    inter_e = _int(cfg.get("moe_intermediate_size")) or inter
    mlp = 3 * h * (inter_e * experts if experts > 1 else inter)
    embed = vocab * h * (1 if f.tied_embeddings else 2)
    return embed + n * (attn + mlp + 2 * h) + h


def _readme_license(folder: Path) -> str | None:
    try:
        text = (folder / "README.md").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.match(r"---\s*\n(.*?)\n---\s*\n", text, re.S)
    if not m:
        return None
    try:
        from ruamel.yaml import YAML

        meta = YAML(typ="safe", pure=True).load(m.group(1))
    except Exception:  # a model card's front matter is third-party text
        return None
    if not isinstance(meta, dict):
        return None
    lic = meta.get("license")
    if lic == "other" and isinstance(meta.get("license_name"), str):
        lic = meta["license_name"]
    return lic if isinstance(lic, str) and lic else None


def read_snapshot(folder: Path, model_id: str) -> ModelFacts | None:
    """Facts from a downloaded snapshot's own files (config.json, tokenizer_config.json, the
    safetensors headers, the model card's front matter); None without a readable config.json."""
    folder = Path(folder)
    cfg = _read_json(folder / "config.json")
    if cfg is None:
        return None
    # multimodal configs (Gemma 3, Mistral Small 3.1) keep the language model in text_config
    text = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else {}

    def get(key: str) -> Any:
        return text[key] if key in text else cfg.get(key)

    where = f"local snapshot {folder}"
    f = ModelFacts(id=model_id, family=family_of(model_id))
    f.vocab_size = _int(get("vocab_size"))
    f.hidden_size = _int(get("hidden_size"))
    f.num_layers = _int(get("num_hidden_layers"))
    f.num_attention_heads = _int(get("num_attention_heads"))
    f.num_kv_heads = _int(get("num_key_value_heads"))
    f.intermediate_size = _int(get("intermediate_size"))
    f.head_dim = _int(get("head_dim"))
    tied = get("tie_word_embeddings")
    f.tied_embeddings = tied if isinstance(tied, bool) else None
    for k in ARCH_FIELDS:
        if getattr(f, k) is not None:
            f.source[k] = where
    if f.head_dim is None and f.hidden_size and f.num_attention_heads:
        f.head_dim = f.hidden_size // f.num_attention_heads
        f.source["head_dim"] = f"{where} (hidden_size / num_attention_heads)"

    f.context_window = _int(get("max_position_embeddings"))
    if f.context_window is not None:
        f.source["context_window"] = where
    tok = _read_json(folder / "tokenizer_config.json") or {}
    if f.context_window is None:
        mml = _int(tok.get("model_max_length"))
        if mml is not None and _PLAUSIBLE_CONTEXT[0] <= mml <= _PLAUSIBLE_CONTEXT[1]:
            f.context_window = mml
            f.source["context_window"] = f"{where} (tokenizer_config.json model_max_length)"
    if tok.get("chat_template") or (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        # evidence, not proof: a few base models ship a chat template too
        f.instruction_tuned = True
        f.source["instruction_tuned"] = f"{where} (chat template present)"

    quantized = isinstance(get("quantization_config"), dict)
    exact = None if quantized else _safetensors_params(folder)
    if exact:
        f.params_b = round(exact / 1e9, 2)
        f.source["params_b"] = f"{where} (safetensors)"
    else:
        est = _architecture_params(f, text or cfg)
        if est:
            f.params_b = round(est / 1e9, 2)
            f.source["params_b"] = f"{where} ({APPROX})"

    formats = []
    if any(folder.glob("*.safetensors")) or (folder / "model.safetensors.index.json").is_file():
        formats.append("safetensors")
    if any(folder.glob("*.gguf")):
        formats.append("gguf")
    f.formats = formats
    if formats:
        f.source["formats"] = where
    lic = _readme_license(folder)
    if lic:
        f.license = lic
        f.source["license"] = f"{where} (README.md)"
    return f


def _hub_dir() -> Path:
    # the same resolution as tokencount.hf_snapshot, so both see one cache
    hub = os.environ.get("HF_HUB_CACHE") or (
        os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else
        os.path.join(os.path.expanduser("~"), ".cache", "huggingface", "hub"))
    return Path(hub)


def _snapshots(repo: Path) -> list[Path]:
    snaps = repo / "snapshots"
    try:
        found = [p for p in snaps.iterdir() if (p / "config.json").is_file()]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _config_snapshot(model_id: str, explicit: Path | None = None) -> Path | None:
    """A folder with config.json for ``model_id``: tokencount's pick first (so the token counter
    and this agree), else the newest snapshot holding a config.json."""
    folder = hf_snapshot(model_id, explicit)
    if folder is not None and (folder / "config.json").is_file():
        return folder
    if explicit is not None and (explicit / "config.json").is_file():
        return explicit
    found = _snapshots(_hub_dir() / ("models--" + model_id.replace("/", "--")))
    return found[0] if found else None


def _cached_ids() -> list[str]:
    hub = _hub_dir()
    try:
        repos = [p for p in hub.iterdir() if p.name.startswith("models--") and p.is_dir()]
    except OSError:
        return []
    return sorted(p.name[len("models--"):].replace("--", "/") for p in repos if _snapshots(p))


def _overlay(base: ModelFacts, local: ModelFacts) -> ModelFacts:
    out = replace(base, formats=list(base.formats), sources=dict(base.sources), source=dict(base.source))
    notes = [base.notes] if base.notes else []
    for k in (*FACT_FIELDS, "instruction_tuned"):
        value = getattr(local, k)
        if not _present(value) or k not in local.source:
            continue
        old = getattr(base, k)
        if k == "formats":
            out.formats = list(dict.fromkeys([*base.formats, *value]))
            out.source[k] = f"catalog + {local.source[k]}" if base.formats else local.source[k]
            continue
        if k == "license" and old:
            continue  # a card's licence tag ("llama3.1") says less than the catalog's name
        if k == "params_b" and old is not None and APPROX in local.source[k]:
            continue  # an estimate never replaces a published figure
        if k == "instruction_tuned" and old is not None:
            continue  # the catalog knows which variant this is; a chat template is only a hint
        if k == "context_window" and old is not None and old != value:
            notes.append(f"local config.json gives {value:,} positions; the catalog recorded {old:,}.")
        setattr(out, k, value)
        out.source[k] = local.source[k]
    out.notes = " ".join(notes) or None
    return out


def _project_hint(root: Path) -> tuple[str | None, Path | None]:
    """The chosen model and budget.tokenizer_path of a project, read as economics does."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    model = explicit = None
    try:
        settings = yaml.load((root / "ftd.yaml").read_text(encoding="utf-8"))
    except Exception:  # an unreadable project file just gives no hint
        settings = None
    if isinstance(settings, dict):
        budget = settings.get("budget")
        tp = budget.get("tokenizer_path") if isinstance(budget, dict) else None
        explicit = root / tp if isinstance(tp, str) else None
        model = settings.get("base_model") if isinstance(settings.get("base_model"), str) else None
    try:
        m = re.match(r"---\s*\n(.*?)\n---", (root / "model-choice.md").read_text(encoding="utf-8"), re.S)
        fm = yaml.load(m.group(1)) if m else None
    except Exception:  # likewise: a missing or malformed model-choice.md gives no hint (ftd check reports it)
        fm = None
    if isinstance(fm, dict) and isinstance(fm.get("chosen"), str):
        model = fm["chosen"]
    return model, explicit


def _id_from_folder(folder: Path) -> str:
    cfg = _read_json(folder / "config.json") or {}
    name = cfg.get("_name_or_path")
    if isinstance(name, str) and re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        return name
    for part in reversed(folder.resolve().parts):
        if part.startswith("models--"):
            return part[len("models--"):].replace("--", "/")
    return folder.name


def known_models(project_root: Path | None = None, explicit: Path | None = None) -> list[ModelFacts]:
    """The catalog with local snapshots laid over it, plus cached models it lacks. ``explicit``
    (relative to ``project_root``) is a snapshot folder; without it, a project's
    budget.tokenizer_path is used for its chosen model."""
    chosen = None
    if project_root is not None:
        chosen, hinted = _project_hint(Path(project_root))
        if explicit is None:
            explicit = hinted
        elif not Path(explicit).is_absolute():
            explicit = Path(project_root) / explicit
    explicit_id = None
    if explicit is not None and (Path(explicit) / "config.json").is_file():
        explicit = Path(explicit)
        explicit_id = chosen or _id_from_folder(explicit)

    out: list[ModelFacts] = []
    seen: set[str] = set()
    catalog = load_catalog()
    for m in catalog:
        mine = explicit if explicit_id and explicit_id.lower() == m.id.lower() else None
        folder = _config_snapshot(m.id, mine)
        local = read_snapshot(folder, m.id) if folder is not None else None
        out.append(_overlay(m, local) if local is not None else m)
        seen.add(m.id.lower())

    extra = _cached_ids()
    if explicit_id and explicit_id.lower() not in {i.lower() for i in extra}:
        extra.append(explicit_id)
    bases = {m.base_id.lower(): m for m in catalog if m.base_id}
    for mid in extra:
        if mid.lower() in seen:
            continue
        seen.add(mid.lower())
        folder = explicit if explicit_id and mid.lower() == explicit_id.lower() else _config_snapshot(mid)
        local = read_snapshot(folder, mid) if folder is not None else None
        if local is None:
            continue
        if mid.lower() in bases:
            local.is_base_variant = True
            local.instruction_tuned = False
            local.source["instruction_tuned"] = f"catalog (base variant of {bases[mid.lower()].id})"
        out.append(local)
    return out


# --------------------------------------------------------------------------- look-ups

_PROVIDER = re.compile(r"^(?:ollama_chat|ollama|huggingface|hf|hosted_vllm|openai)/", re.I)


def find(model_id: str, models: list[ModelFacts] | None = None) -> ModelFacts | None:
    """The facts for an instruction-tuned id, its base id (flagged is_base_variant), or its
    Ollama tag; case-insensitive, provider prefixes ignored."""
    if not isinstance(model_id, str) or not model_id.strip():
        return None
    want = model_id.strip().lower()
    bare = _PROVIDER.sub("", want)
    models = load_catalog() if models is None else models
    for m in models:
        if m.id.lower() in (want, bare):
            return m
    for m in models:
        if m.base_id and m.base_id.lower() in (want, bare):
            return replace(m, is_base_variant=True, instruction_tuned=False)
    for m in models:
        if m.ollama and m.ollama.lower() == bare:
            return m
    return None


def is_instruction_tuned(model_id: str) -> bool | None:
    """True for a catalog id, False for a catalog base id, None for a model it does not know."""
    f = find(model_id)
    if f is None:
        return None
    return not f.is_base_variant


def models_json(facts: list[ModelFacts]) -> list[dict]:
    out = []
    for f in facts:
        d = asdict(f)
        d["params"] = f.params_b
        d["local"] = f.local
        out.append(d)
    return out


def sorted_models(facts: list[ModelFacts], how: str) -> list[ModelFacts]:
    """By id, or largest first with unknown values last."""
    out = sorted(facts, key=lambda f: f.id.lower())
    attr = {"params": "params_b", "context": "context_window", "vocab": "vocab_size"}.get(how)
    if attr is not None:
        out.sort(key=lambda f: (getattr(f, attr) is not None, getattr(f, attr) or 0), reverse=True)
    return out
