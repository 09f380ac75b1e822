"""Training memory and file sizes for a model at the project's own token budget.

Rough figures, for choosing a method and a GPU class, not promises: every part carries the
assumption it rests on, so a user can see why a number is what it is (workflow.md §4, the
model-choice.md memory note). GB means 1e9 bytes throughout: GPU makers label cards that way."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

GB = 1e9
METHODS = ("qlora", "lora", "full")
GPU_CLASSES = (24, 40, 80)
# A run that fills a card to the last byte dies on the first fragmented allocation.
HEADROOM = 1.10

# NF4 with double quantisation (bitsandbytes' QLoRA default): 4 bits per weight, one 8-bit
# absmax per block of 64 weights, and an fp32 constant per 256 blocks for those absmaxes:
# 4 + 8/64 + 32/(64*256) ≈ 4.127 bits.
NF4_BITS = 4 + 8 / 64 + 32 / (64 * 256)
# Mixed-precision AdamW keeps fp32 first and second moments (4 + 4 bytes per trained param).
ADAM_BYTES = 8
CUDA_OVERHEAD_GB = 1.0  # CUDA context, cuBLAS workspaces, allocator fragmentation
CE_CHUNK_TOKENS = 1024  # a fused / chunked cross-entropy holds the logits of one chunk at a time
DEFAULT_HEAD_DIM = 128  # the common head size, used only when the head count is unknown
DEFAULT_VOCAB = 128_000  # a common vocabulary size today, used only when it is unknown

# Average bits per parameter of a whole file, scales and metadata included. bf16 is exact;
# the others are what published files of Llama-class models weigh: Q8_0 stores one fp16 scale
# per 32 int8 weights (8.5); Q4_K_M mixes 4- and 6-bit blocks (≈4.85); MLX 4-bit stores a bf16
# scale and bias per group of 64 (4 + 32/64 = 4.5).
FILE_BITS = {"bf16": 16.0, "Q8_0": 8.5, "Q4_K_M": 4.85, "MLX 4-bit": 4.5}

# Memory per card when the text names the card but not its size. Where a card came in two
# sizes (A100 40/80, V100 16/32) the larger is taken: a stated "40GB" still wins.
KNOWN_GPUS = {
    "A100": 80, "H100": 80, "H200": 141, "B200": 192, "L40S": 48, "L40": 48, "A6000": 48,
    "A10G": 24, "A10": 24, "L4": 24, "3090": 24, "4090": 24, "5090": 32, "T4": 16, "V100": 32,
    "MI300X": 192,
}


@dataclass
class Arch:
    params_b: float
    hidden_size: int | None
    num_layers: int | None
    vocab_size: int | None
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    intermediate_size: int | None = None
    tied_embeddings: bool = False
    # models such as Gemma use heads × head_dim ≠ hidden_size; None means hidden ÷ heads
    head_dim: int | None = None


@dataclass
class Part:
    name: str
    gb: float
    assumption: str


@dataclass
class MemoryEstimate:
    method: str
    seq_len: int
    parts: list[Part]
    total_gb: float
    fused_ce: bool
    fits: str | None  # "24 GB", "40 GB", "80 GB"; None: more than one 80 GB GPU
    assumptions: list[str] = field(default_factory=list)


@dataclass
class _Shape:
    """An Arch with every number filled in, and the list of what had to be guessed."""
    params: float
    hidden: int
    layers: int
    vocab: int
    q_dim: int
    kv_dim: int
    inter: int
    tied: bool
    guessed: list[str]

    @property
    def embed_params(self) -> float:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def body_params(self) -> float:
        return max(0.0, self.params - self.embed_params)


def _shape(arch: Arch) -> _Shape:
    if not (isinstance(arch.params_b, (int, float)) and arch.params_b > 0):
        raise ValueError("params_b must be a positive number of billions")
    guessed: list[str] = []
    params = arch.params_b * 1e9
    vocab = arch.vocab_size
    if not vocab:
        vocab = DEFAULT_VOCAB
        guessed.append(f"vocabulary unknown: assumed {DEFAULT_VOCAB:,}")
    embed_copies = 1 if arch.tied_embeddings else 2
    hidden, layers = arch.hidden_size, arch.num_layers
    if not hidden or not layers:
        # A Llama-shaped block holds ≈ 12·hidden² parameters (4h² attention, 8h² gated MLP), and
        # widths sit near 128 × depth. Embeddings depend on the width, so settle it by iteration.
        h = float(hidden or 4096)
        for _ in range(20):
            body = max(params - embed_copies * vocab * h, 0.05 * params)
            if hidden:
                break
            lay = layers or (body / (12 * 128**2)) ** (1 / 3)
            h = math.sqrt(body / (12 * lay))
        body = max(params - embed_copies * vocab * h, 0.05 * params)
        if not hidden:
            hidden = max(64, int(round(h / 64)) * 64)
            guessed.append(f"hidden size unknown: ≈{hidden:,} from {arch.params_b:g}B parameters")
        if not layers:
            layers = max(1, round(body / (12 * hidden**2)))
            guessed.append(f"layer count unknown: ≈{layers} from {arch.params_b:g}B parameters")
    heads, kv_heads = arch.num_attention_heads, arch.num_kv_heads
    if arch.head_dim:
        head_dim = arch.head_dim
    elif heads:
        head_dim = hidden // heads
    else:
        head_dim = DEFAULT_HEAD_DIM
        if kv_heads:
            guessed.append(f"head count unknown: assumed head size {DEFAULT_HEAD_DIM}")
    q_dim = heads * head_dim if heads else hidden
    if kv_heads:
        kv_dim = kv_heads * head_dim
    else:
        kv_dim = q_dim
        guessed.append("key/value heads unknown: assumed as many as query heads (no grouped-query "
                       "attention), which overstates adapters slightly if the model uses it")
    inter = arch.intermediate_size
    if not inter:
        body = max(0.0, params - embed_copies * vocab * hidden)
        attn = 2 * hidden * q_dim + 2 * hidden * kv_dim
        est = (body / layers - attn) / (3 * hidden)
        inter = int(round(est)) if est > hidden else int(round(hidden * 8 / 3))
        guessed.append(f"MLP width unknown: ≈{inter:,} from {arch.params_b:g}B parameters, assuming a "
                       "gated (SwiGLU) MLP")
    return _Shape(params, hidden, layers, vocab, q_dim, kv_dim, inter, arch.tied_embeddings, guessed)


def _lora_params(s: _Shape, rank: int) -> int:
    h, q, kv, i = s.hidden, s.q_dim, s.kv_dim, s.inter
    # (in, out) of q, k, v, o, gate, up, down: each adapter adds A (r × in) and B (out × r)
    dims = [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]
    return rank * sum(a + b for a, b in dims) * s.layers


def lora_params(arch: Arch, rank: int = 16) -> int:
    """Trainable parameters of LoRA rank ``rank`` on every linear layer of every block."""
    return _lora_params(_shape(arch), rank)


def logits_gb(vocab: int, seq: int, bytes_per: int = 4) -> float:
    return vocab * seq * bytes_per / GB


def _fits(total_gb: float) -> str | None:
    for size in GPU_CLASSES:
        if total_gb * HEADROOM <= size:
            return f"{size} GB"
    return None


def training_memory(arch: Arch, method: str, seq_len: int, *, fused_ce: bool = True,
                    lora_rank: int = 16, batch: int = 1) -> MemoryEstimate:
    """Peak GPU memory of one training step at ``seq_len`` tokens per example."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if seq_len <= 0 or batch <= 0 or lora_rank <= 0:
        raise ValueError("seq_len, batch and lora_rank must be positive")
    s = _shape(arch)
    tokens = seq_len * batch
    parts: list[Part] = []
    if method == "qlora":
        body = s.body_params * NF4_BITS / 8 / GB
        embed = s.embed_params * 2 / GB
        parts.append(Part("weights", body + embed,
                          f"{s.body_params / 1e9:.2f}B block weights in NF4 with double quantisation "
                          f"({NF4_BITS:.3f} bits each, constants included) = {body:.2f} GB; "
                          f"embeddings{' (tied)' if s.tied else ' and LM head'} "
                          f"({s.embed_params / 1e9:.2f}B = vocab × hidden{'' if s.tied else ' × 2'}) kept in "
                          f"bf16 = {embed:.2f} GB"))
    else:
        parts.append(Part("weights", s.params * 2 / GB, f"{s.params / 1e9:.2f}B parameters in bf16, 2 bytes each"))
    if method == "full":
        parts.append(Part("optimizer state and gradients", s.params * (ADAM_BYTES + 4 + 2) / GB,
                          "mixed precision: AdamW fp32 moments (8 B) + fp32 master weights (4 B) + bf16 "
                          "gradients (2 B) = 14 bytes per parameter"))
    else:
        n = _lora_params(s, lora_rank)
        parts.append(Part("LoRA adapters", n * 2 / GB,
                          f"rank {lora_rank} on q, k, v, o, gate, up, down of all {s.layers} layers: "
                          f"{n / 1e6:.1f}M parameters in bf16"))
        parts.append(Part("optimizer state and gradients", n * (ADAM_BYTES + 4) / GB,
                          "on the adapters only: AdamW fp32 moments (8 B) + fp32 gradients (4 B) per "
                          "adapter parameter"))
    ckpt = tokens * s.hidden * s.layers * 2 / GB
    layer = tokens * (16 * s.hidden + 3 * s.inter) * 2 / GB
    parts.append(Part("activations", ckpt + layer,
                      f"gradient checkpointing, flash attention (no seq² scores): one bf16 hidden state "
                      f"per layer kept, tokens × hidden × layers × 2 B = {ckpt:.2f} GB, plus one layer "
                      f"recomputed in full, tokens × (16 × hidden + 3 × MLP width) × 2 B = {layer:.2f} GB"
                      + (f"; batch {batch}" if batch > 1 else "")))
    if fused_ce:
        chunk = min(tokens, CE_CHUNK_TOKENS)
        parts.append(Part("logits", logits_gb(s.vocab, chunk),
                          f"fused / chunked cross-entropy: one chunk of {chunk:,} tokens in fp32 at a time, "
                          f"vocab × {chunk:,} × 4 B"))
    else:
        parts.append(Part("logits", logits_gb(s.vocab, tokens),
                          f"naive loss: fp32 logits of vocab × tokens × 4 B materialised at once "
                          f"({s.vocab:,} × {tokens:,}); a lower bound, as the bf16 copy and the logits' "
                          f"gradient can briefly sit beside them"))
    parts.append(Part("CUDA overhead", CUDA_OVERHEAD_GB, "CUDA context, workspaces and allocator fragmentation"))
    total = sum(p.gb for p in parts)
    assumptions = list(s.guessed)
    assumptions.append(f"one GPU, batch {batch} of {seq_len:,} tokens, bf16 compute")
    assumptions.append(f"GPU class: the smallest of {', '.join(f'{g} GB' for g in GPU_CLASSES)} that holds "
                       f"the total with {round((HEADROOM - 1) * 100)}% headroom")
    return MemoryEstimate(method, seq_len, parts, total, fused_ce, _fits(total), assumptions)


def figures_for(arch: Arch, seq_len: int, fused_ce: bool = True) -> dict[str, MemoryEstimate]:
    return {m: training_memory(arch, m, seq_len, fused_ce=fused_ce) for m in METHODS}


def file_sizes(arch: Arch) -> dict[str, float]:
    """GB on disk per format, averaged over all parameters (see FILE_BITS)."""
    params = _shape(arch).params
    return {name: params * bits / 8 / GB for name, bits in FILE_BITS.items()}


_TRAINING = re.compile(r"\btraining\s*:", re.I)
# the end of the training segment: a new line, a semicolon, or the next "Label:"
_SEGMENT_END = re.compile(r"[\n;]|\b[A-Za-z]+(?: [A-Za-z]+)?\s*:")
_SIZE = r"[\s\-(]*(\d+(?:\.\d+)?)\s*(?:GB|GiB|G)\b"
_GPU = re.compile(r"\b(?:RTX\s*)?(" + "|".join(sorted(KNOWN_GPUS, key=len, reverse=True)) + r")\b(?:" + _SIZE + ")?", re.I)
# host memory is not GPU memory
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:GB|GiB)\b(?!\s*(?:of\s+)?(?:system\s+)?(?:RAM|DDR|disk|SSD|storage))", re.I)


def parse_hardware_gb(text: str | None) -> float | None:
    """The largest per-GPU memory the text mentions; several GPUs count as one, as one trains."""
    if not isinstance(text, str) or not text.strip():
        return None
    m = _TRAINING.search(text)
    if m:
        rest = text[m.end():]
        end = _SEGMENT_END.search(rest)
        text = rest[:end.start()] if end else rest
    found: list[float] = [float(a) for a in _AMOUNT.findall(text)]
    for g in _GPU.finditer(text):
        found.append(float(g.group(2)) if g.group(2) else float(KNOWN_GPUS[g.group(1).upper()]))
    return max(found) if found else None
