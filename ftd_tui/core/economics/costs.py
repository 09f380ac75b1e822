"""What the design costs: generating the planned conversations, judging them, training on them.
Input and output tokens apart; prices per role from ftd.yaml, else litellm's bundled price
map read as data. An unknown price is reported as unknown (None), never as 0."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from ..user.providers import LOCAL_PROVIDERS, host_is_local
from .estimate import Estimate, generation_tokens

PERSONA_BLOCK_TOKENS = 200  # the persona + scenario text the simulator receives each turn
JUDGE_INSTRUCTION_TOKENS = 400  # evidence-first instructions and the output schema
JUDGE_OUTPUT_TOKENS = 250  # reasoning + answer
# Training throughput on one A100-80GB-class GPU, tokens/s ≈ K / params (billions): an
# assumption from typical QLoRA / LoRA / full fine-tunes with gradient checkpointing;
# override with training.throughput_tokens_per_s.
THROUGHPUT_K = {"qlora": 20_000, "lora": 26_000, "full": 9_000}

_price_lock = threading.Lock()
_price_map: dict | None = None


def price_map() -> dict:
    """litellm's bundled price map, read as a JSON file (litellm is not imported)."""
    global _price_map
    with _price_lock:
        if _price_map is None:
            from .counting import litellm_file

            _price_map = {}
            path = litellm_file("model_prices_and_context_window_backup.json")
            if path is not None:
                try:
                    _price_map = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    _price_map = {}
        return _price_map


@dataclass
class Price:
    input_per_token: float | None
    output_per_token: float | None
    source: str

    @property
    def known(self) -> bool:
        return self.input_per_token is not None and self.output_per_token is not None

    @property
    def local(self) -> bool:
        """A server on this machine or LAN: no per-token price (GPU time is not counted)."""
        return self.source.startswith("local server")


@dataclass
class RoleCost:
    """One row of a forecast before paid calls (the baseline's, the critique's)."""
    role: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost: float | None
    price: str  # where the price came from, or why it is unknown


def role_cost(spec: dict | None, tin: float, tout: float) -> tuple[float | None, str]:
    """(dollars, where the price came from): None when unknown, 0 for a local server."""
    price = price_for(spec)
    if price.local:
        return 0.0, "local server: no per-token price"
    if not price.known:
        return None, price.source
    return tin * price.input_per_token + tout * price.output_per_token, price.source


def price_for(role: dict | None) -> Price:
    if not isinstance(role, dict) or not isinstance(role.get("model"), str):
        return Price(None, None, "role not configured")
    given = role.get("price")
    if isinstance(given, dict):
        i, o = given.get("input_per_mtok"), given.get("output_per_mtok")
        if isinstance(i, (int, float)) and isinstance(o, (int, float)):
            return Price(i / 1e6, o / 1e6, "ftd.yaml")
    model = role["model"]
    provider = model.split("/", 1)[0] if "/" in model else ""
    if provider in LOCAL_PROVIDERS or isinstance(role.get("api_base"), str) and host_is_local(role["api_base"])[0]:
        return Price(None, None, "local server: no per-token price (GPU time not counted)")
    table = price_map()
    bare = model.split("/", 1)[1] if "/" in model else model
    for key in (model, bare, f"{provider}/{bare}"):
        entry = table.get(key)
        if isinstance(entry, dict):
            i, o = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
            if isinstance(i, (int, float)) and isinstance(o, (int, float)):
                return Price(float(i), float(o), f"litellm price map ({key})")
    return Price(None, None, f"unknown: {model} is not in litellm's price map; set models.…price in ftd.yaml")


def _money(tokens_in: float, tokens_out: float, price: Price) -> float | None:
    if not price.known:
        return None
    return tokens_in * price.input_per_token + tokens_out * price.output_per_token


def _sum(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(values)  # type: ignore[arg-type]


def compute_costs(est: Estimate, settings: dict, rubric: dict | None, prompts: dict[str, int],
                  criteria_tokens: dict[str, int], params_b: float | None, method: str | None) -> dict[str, Any]:
    """``prompts``: tokens of the simulator and assistant prompts; ``criteria_tokens``: per
    criterion, its question and calibration examples."""
    gen = settings.get("generation") if isinstance(settings.get("generation"), dict) else {}
    planned = gen.get("planned_transcripts") if isinstance(gen.get("planned_transcripts"), int) else 0
    models = settings.get("models") if isinstance(settings.get("models"), dict) else {}
    n = est.exchanges["mean"]
    mean_transcript = est.system_prompt_tokens + est.fixed_overhead + n * est.per_exchange_tokens
    # generation: quadratic in the number of exchanges
    g = generation_tokens(round(n), est.per_exchange_tokens, est.user_tokens, est.assistant_tokens,
                          prompts.get("user-sim", 0) + PERSONA_BLOCK_TOKENS,
                          prompts.get("assistant", 0) + est.system_prompt_tokens)
    # the model that writes the ideal replies: models.generator, else the critic (a strong model)
    gen_role = models.get("generator") if isinstance(models.get("generator"), dict) else models.get("critic")
    sim_price, asst_price = price_for(models.get("user_sim")), price_for(gen_role)
    generation = {
        "conversations": planned,
        "input_tokens": round(planned * (g["simulator_input"] + g["assistant_input"])),
        "output_tokens": round(planned * (g["simulator_output"] + g["assistant_output"])),
        "per_conversation": {k: round(v) for k, v in g.items()},
        "cost": _sum([_money(planned * g["simulator_input"], planned * g["simulator_output"], sim_price),
                      _money(planned * g["assistant_input"], planned * g["assistant_output"], asst_price)]),
        "prices": {"user_sim": sim_price.source,
                   "generator" if isinstance(models.get("generator"), dict) else "generator (= critic)": asst_price.source},
    }
    # judging: every criterion by every judge re-reads the transcript and the criterion's examples
    judges = [j for j in models.get("judges") or [] if isinstance(j, dict)] if isinstance(models.get("judges"), list) else []
    crit_in = sum(JUDGE_INSTRUCTION_TOKENS + t + mean_transcript for t in criteria_tokens.values())
    calls = len(criteria_tokens) * len(judges)
    judge_costs, judge_sources = [], {}
    for j in judges:
        p = price_for(j)
        judge_costs.append(_money(planned * crit_in, planned * len(criteria_tokens) * JUDGE_OUTPUT_TOKENS, p))
        judge_sources[str(j.get("model"))] = p.source
    judging = {
        "calls_per_conversation": calls,
        "input_tokens": round(planned * crit_in * len(judges)),
        "output_tokens": round(planned * calls * JUDGE_OUTPUT_TOKENS),
        "cost": _sum(judge_costs) if judges else None,
        "prices": judge_sources,
        "assumption": f"{JUDGE_INSTRUCTION_TOKENS} instruction and {JUDGE_OUTPUT_TOKENS} output tokens per call",
    }
    # training: tokens x epochs / throughput x price per GPU-hour
    tr = settings.get("training") if isinstance(settings.get("training"), dict) else {}
    epochs = tr.get("epochs") if isinstance(tr.get("epochs"), (int, float)) else 2
    tokens = planned * mean_transcript
    training: dict[str, Any] = {"tokens": round(tokens), "epochs": epochs}
    if isinstance(tr.get("price_per_mtok"), (int, float)):
        training.update(cost=tokens * epochs * tr["price_per_mtok"] / 1e6, basis="API fine-tuning price per million tokens")
    else:
        thr = tr.get("throughput_tokens_per_s")
        if isinstance(thr, (int, float)) and thr > 0:
            basis = f"{thr:,.0f} tokens/s (ftd.yaml)"
        elif params_b:
            thr = THROUGHPUT_K.get(method or "qlora", THROUGHPUT_K["qlora"]) / params_b
            basis = f"assumed ≈{thr:,.0f} tokens/s for {method or 'qlora'} at {params_b:g}B on one A100-80GB-class GPU"
        else:
            thr, basis = None, "unknown: no throughput and no model size"
        hours = tokens * epochs / thr / 3600 if thr else None
        price = tr.get("gpu_hour_usd")
        training.update(gpu_hours=round(hours, 2) if hours is not None else None, basis=basis,
                        gpu=tr.get("gpu") or "A100-80GB class",
                        cost=hours * price if hours is not None and isinstance(price, (int, float)) else None)
        if not isinstance(price, (int, float)):
            training["price"] = "unknown: set training.gpu_hour_usd in ftd.yaml"
    return {"generation": generation, "judging": judging, "training": training, "currency": "USD"}
