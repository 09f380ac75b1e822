"""Token counters that work offline.

Approximate: tiktoken's cl100k_base, read from the files litellm's package ships (tiktoken
would otherwise download them on first use), plus a per-message chat-template overhead.
Exact: the chosen model's own tokenizer.json and chat template (tokenizer_config.json),
found at a path in ftd.yaml or in the local Hugging Face cache, never downloaded.

Counts are cached by text hash in the user cache folder, so a warm `ftd check` does not even
load the tokenizer (~130 ms)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

APPROX_ENCODING = "cl100k_base"
# Chat-template tokens per message (role header + end-of-turn), by family; measured on
# the published templates. Used only when the model's own template is not at hand.
TEMPLATE_OVERHEAD = {"Google": 5, "Meta": 5, "Alibaba": 5, "Mistral": 4, "Microsoft": 4}
DEFAULT_OVERHEAD = 5
FIXED_OVERHEAD = 1  # a BOS token

_lock = threading.Lock()
_encoders: dict[str, object] = {}


def litellm_file(*parts: str) -> Path | None:
    """A file or folder inside litellm's installed package, found from its distribution's
    metadata: neither imported nor even looked up through the import system."""
    from importlib import metadata

    try:
        path = Path(str(metadata.distribution("litellm").locate_file(Path("litellm", *parts))))
    except metadata.PackageNotFoundError:
        return None
    return path if path.exists() else None


def litellm_tiktoken_dir() -> Path | None:
    """The folder of tiktoken files litellm's package ships."""
    folder = litellm_file("litellm_core_utils", "tokenizers")
    return folder if folder is not None and folder.is_dir() else None


def tiktoken_encoding(name: str = APPROX_ENCODING):
    """A tiktoken encoding loaded from local files only; None when they are not here."""
    with _lock:
        if name in _encoders:
            return _encoders[name]
        folder = litellm_tiktoken_dir()
        enc = None
        if folder is not None:
            import tiktoken

            # tiktoken names its cache files by the hash of the download URL; litellm ships
            # them under those names. Point tiktoken there for this one load.
            saved = os.environ.get("TIKTOKEN_CACHE_DIR")
            os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
            try:
                enc = tiktoken.get_encoding(name)
            except Exception:  # not shipped (tiktoken would go to the network) or unreadable: no offline encoder
                enc = None
            finally:
                if saved is None:
                    os.environ.pop("TIKTOKEN_CACHE_DIR", None)
                else:
                    os.environ["TIKTOKEN_CACHE_DIR"] = saved
        _encoders[name] = enc
        return enc


class CountCache:
    """text hash -> token count, per tokenizer; persisted as JSON in the cache folder."""

    def __init__(self, path: Path | None):
        self.path = path
        self.counts: dict[str, int] = {}
        self.dirty = False
        if path is not None:
            try:
                self.counts = {k: int(v) for k, v in json.loads(path.read_text()).items()}
            except (OSError, ValueError, AttributeError):
                self.counts = {}

    def get(self, key: str) -> int | None:
        return self.counts.get(key)

    def put(self, key: str, value: int) -> None:
        self.counts[key] = value
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            if len(self.counts) > 20_000:  # keep it small: the newest entries win
                self.counts = dict(list(self.counts.items())[-10_000:])
            tmp.write_text(json.dumps(self.counts))
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass  # a cache that cannot be written is only slower


@dataclass
class Counter:
    name: str  # shown to the user: "≈ cl100k_base", "google/gemma-3-12b-it (exact)"
    exact: bool
    per_message_overhead: float
    fixed_overhead: int
    note: str = ""
    _count: Callable[[str], int] | None = field(default=None, repr=False)
    cache: CountCache | None = field(default=None, repr=False)
    key_prefix: str = ""

    def count(self, text: str) -> int:
        if not text:
            return 0
        key = self.key_prefix + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        if self._count is None:
            self._count = self._load()
        n = self._count(text)
        if self.cache is not None:
            self.cache.put(key, n)
        return n

    def _load(self) -> Callable[[str], int]:
        enc = tiktoken_encoding(APPROX_ENCODING)
        if enc is None:
            self.name = "≈ words × 1.33 (tiktoken files unavailable)"
            return lambda t: round(len(t.split()) * 1.33)
        return lambda t: len(enc.encode(t, disallowed_special=()))


def approx_counter(family: str | None, cache: CountCache | None = None) -> Counter:
    overhead = TEMPLATE_OVERHEAD.get(family or "", DEFAULT_OVERHEAD)
    fam = f", {family} template ≈{overhead}/message" if family in TEMPLATE_OVERHEAD else f", template ≈{overhead}/message"
    return Counter(f"≈ {APPROX_ENCODING}{fam}", False, overhead, FIXED_OVERHEAD,
                   "approximate: the model's own tokenizer is not on this machine", cache=cache,
                   key_prefix=f"{APPROX_ENCODING}:")


# --------------------------------------------------------------------------- exact counting


def hf_snapshot(model_id: str, explicit: Path | None = None) -> Path | None:
    """A folder holding tokenizer.json and tokenizer_config.json for ``model_id``, offline."""
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(explicit)
    hub = os.environ.get("HF_HUB_CACHE") or (
        os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else
        os.path.join(os.path.expanduser("~"), ".cache", "huggingface", "hub"))
    repo = Path(hub) / ("models--" + model_id.replace("/", "--")) / "snapshots"
    if repo.is_dir():
        candidates.extend(sorted(repo.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True))
    for c in candidates:
        if (c / "tokenizer.json").is_file() and (c / "tokenizer_config.json").is_file():
            return c
    return None


def render_chat(config: dict, messages: list[dict]) -> str:
    """Render a conversation through the model's chat template, in Jinja's sandbox (the
    template is third-party data)."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise ValueError(str(message))

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    template = config.get("chat_template")
    if isinstance(template, list):  # some configs hold several named templates
        template = next((t.get("template") for t in template if t.get("name") == "default"), None)
    if not isinstance(template, str):
        raise ValueError("tokenizer_config.json has no chat_template")

    def token_text(value):
        if isinstance(value, dict):
            return value.get("content", "")
        return value or ""

    return env.from_string(template).render(messages=messages, add_generation_prompt=False,
                                            bos_token=token_text(config.get("bos_token")),
                                            eos_token=token_text(config.get("eos_token")))


def exact_counter(model_id: str, folder: Path, cache: CountCache | None = None) -> Counter:
    """Count with the model's tokenizer; measure the template's overhead on a synthetic
    conversation (so the estimate carries the real role headers and turn markers)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    words = "alpha beta gamma delta"

    def conversation(n: int, with_system: bool) -> list[dict]:
        msgs = [{"role": "system", "content": words}] if with_system else []
        for _ in range(n):
            msgs += [{"role": "user", "content": words}, {"role": "assistant", "content": words}]
        return msgs

    note = ""
    try:
        one, two = render_chat(config, conversation(1, True)), render_chat(config, conversation(2, True))
        content = count(words)
        t1, t2 = count(one), count(two)
        per_exchange = t2 - t1 - 2 * content
        fixed = t1 - 3 * content - per_exchange - per_exchange / 2  # BOS and the like; the system turn is counted apart
    except Exception as exc:  # a template that refuses a system role, or any other trouble
        try:
            one, two = render_chat(config, conversation(1, False)), render_chat(config, conversation(2, False))
            content = count(words)
            per_exchange = count(two) - count(one) - 2 * content
            fixed = count(one) - 2 * content - per_exchange
            note = "the template has no system role: the system prompt is counted as text"
        except Exception:  # the template fails without a system role too: one ValueError that says so
            raise ValueError(f"chat template could not be rendered: {exc}") from None
    key = "hf:" + hashlib.sha1((model_id + str(folder)).encode()).hexdigest()[:12] + ":"
    return Counter(f"{model_id} tokenizer + chat template (exact)", True, max(0.0, per_exchange / 2), max(0, round(fixed)),
                   note, count, cache, key)
