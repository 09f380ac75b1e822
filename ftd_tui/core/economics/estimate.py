"""Token economics (workflow step 2): how long a training example will be, and what the
design costs to generate, judge and train on.

A conversation = system prompt + N exchanges × (user message + assistant reply) + template
overhead. N comes from the taxonomy's turn ranges (weighted by their dimension), the user
message from the persona template's word limits (weighted by style), the reply from the
assistant prompt's length ratio; words become tokens at the ratio measured on the project's
own text. Everything is computed from distributions, not sampled: the figures are the same
on every run."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .counting import Counter

DEFAULT_RATIO = (1.0, 1.5)  # assistant words per user word (spec §4 prompts)
DEFAULT_CAP = 2.0
CHARS_PER_TOKEN = 4.0  # for word limits given in characters (unspaced scripts)


def tier(tokens: int) -> str:
    if tokens < 8192:
        return "cheapest"
    if tokens <= 16384:
        return "cost-effective"
    if tokens <= 32768:
        return "expensive"
    return "very expensive"


TIER_RANGE = {"cheapest": "<8K", "cost-effective": "8-16K", "expensive": "16-32K", "very expensive": ">32K"}


@dataclass
class Inputs:
    """What the estimate reads, extracted from the artifacts (or the editor's buffers)."""

    system_prompt: str = ""
    styles: list[tuple[str, float, float, float, str]] = field(default_factory=list)  # name, weight, lo, hi, unit
    turn_ranges: list[tuple[float, int, int]] = field(default_factory=list)  # weight, min, max
    ratio: tuple[float, float] = DEFAULT_RATIO
    cap: float = DEFAULT_CAP
    sample_text: str = ""  # the project's own prose, for words -> tokens
    budget: int | None = None
    slicing: bool = False
    context_window: int | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class Estimate:
    tokenizer: str
    exact: bool
    tokens_per_word: float
    system_prompt_tokens: int
    user_tokens: float  # per message, weighted mean
    assistant_tokens: float
    overhead_per_exchange: float
    fixed_overhead: int
    per_exchange_tokens: float
    exchanges: dict[str, float]  # min, mean, max
    transcript_tokens: dict[str, int]  # p50, p95, max
    max_transcript_tokens: int | None
    context_window: int | None
    exchanges_fit: int | None
    tier: str | None
    slicing: bool
    examples_per_conversation: dict[str, int] | None
    problems: list[str]

    @property
    def over_budget(self) -> bool:
        return self.max_transcript_tokens is not None and self.transcript_tokens["p95"] > self.max_transcript_tokens

    def as_json(self) -> dict:
        return asdict(self)


def _weights(options: list, weights: Any) -> list[float]:
    if isinstance(weights, list) and len(weights) == len(options) and all(isinstance(w, (int, float)) for w in weights):
        total = sum(weights)
        return [w / total for w in weights] if total > 0 else [1 / len(options)] * len(options)
    return [1 / len(options)] * len(options) if options else []


def inputs_from(files: dict[str, Any], budget: dict | None, context_window: int | None) -> Inputs:
    """``files``: artifact id -> LoadedFile (parsed). Missing or malformed parts become
    problems; the checks report them in detail."""
    from ..artifacts.prompts import system_prompt_text
    from ..artifacts.taxonomy import turn_ranges

    inp = Inputs(context_window=context_window)
    budget = budget or {}
    mtt = budget.get("max_transcript_tokens")
    inp.budget = mtt if isinstance(mtt, int) and not isinstance(mtt, bool) else None
    inp.slicing = budget.get("slicing") is True
    sp = files.get("system-prompt")
    if sp is not None and sp.md is not None:
        inp.system_prompt = system_prompt_text(sp.md)[0]
    else:
        inp.problems.append("no system prompt")
    # user message lengths from the persona template
    per = files.get("personas")
    style = None
    if per is not None and isinstance(per.data, dict) and isinstance(per.data.get("persona_template"), dict):
        style = per.data["persona_template"].get("communication_style")
    if isinstance(style, dict) and isinstance(style.get("options"), list) and style["options"]:
        opts = style["options"]
        ws = _weights(opts, style.get("weights"))
        limits = style.get("word_limits") if isinstance(style.get("word_limits"), dict) else {}
        unit = style.get("unit") if style.get("unit") in ("words", "chars", "tokens") else "words"
        for name, w in zip(opts, ws):
            lim = limits.get(name)
            if isinstance(lim, list) and len(lim) == 2 and all(isinstance(x, (int, float)) for x in lim) and 0 < lim[0] <= lim[1]:
                inp.styles.append((str(name), w, float(lim[0]), float(lim[1]), unit))
            else:
                inp.problems.append(f"style '{name}' has no usable word limits")
    else:
        inp.problems.append("no communication styles in the persona template")
    # conversation length from the taxonomy
    tax = files.get("taxonomy")
    if tax is not None and isinstance(tax.data, dict):
        ranges = turn_ranges(tax.data)
        body = tax.data.get("taxonomy") if isinstance(tax.data.get("taxonomy"), dict) else {}
        by = body.get("turn_ranges_by", tax.data.get("turn_ranges_by"))
        dim = body.get(by) if isinstance(by, str) else None
        if isinstance(dim, dict) and dim:
            from ..artifacts.taxonomy import option_weight

            dim = {o: option_weight(w) for o, w in dim.items()}  # `option: {weight, description}` too
            total = sum(w for w in dim.values() if isinstance(w, (int, float)) and not isinstance(w, bool)) or 1.0
            for opt, w in dim.items():
                if str(opt) in ranges and isinstance(w, (int, float)):
                    lo, hi = ranges[str(opt)]
                    inp.turn_ranges.append((w / total, lo, hi))
        elif "default" in ranges:
            inp.turn_ranges.append((1.0, *ranges["default"]))
    if not inp.turn_ranges:
        inp.problems.append("no usable turn ranges in the taxonomy")
    # the assistant's length ratio, as its prompt states it
    asst = files.get("assistant")
    if asst is not None and asst.text:
        m = re.search(r"(\d(?:\.\d+)?)\s*(?:x|×)?\s*(?:-|–|to)\s*(\d(?:\.\d+)?)\s*(?:x|×)", asst.text)
        if m and 0 < float(m.group(1)) <= float(m.group(2)) <= 5:
            inp.ratio = (float(m.group(1)), float(m.group(2)))
        c = re.search(r"(?:hard (?:limit|cap)|never more than|at most)[^0-9\n]{0,20}(\d(?:\.\d+)?)\s*(?:x|×)", asst.text, re.I)
        if c and 1 <= float(c.group(1)) <= 10:
            inp.cap = float(c.group(1))
    # the project's own prose: rubric examples and the generator prompts
    parts = []
    rub = files.get("rubric")
    if rub is not None and isinstance(rub.data, dict) and isinstance(rub.data.get("criteria"), dict):
        for crit in rub.data["criteria"].values():
            if isinstance(crit, dict) and isinstance(crit.get("calibration_examples"), list):
                for ex in crit["calibration_examples"]:
                    if isinstance(ex, dict):
                        parts += [str(ex.get("context") or ""), str(ex.get("response") or "")]
    for pid in ("user-sim", "assistant"):
        lf = files.get(pid)
        if lf is not None and lf.text:
            parts.append(lf.text)
    inp.sample_text = "\n".join(p for p in parts if p)
    return inp


def _n_distribution(ranges: list[tuple[float, int, int]]) -> dict[int, float]:
    dist: dict[int, float] = {}
    for w, lo, hi in ranges:
        lo, hi = max(1, lo), max(1, hi)
        if hi < lo:
            continue
        share = w / (hi - lo + 1)
        for n in range(lo, hi + 1):
            dist[n] = dist.get(n, 0.0) + share
    return dist


def estimate(inp: Inputs, counter: Counter) -> Estimate | None:
    """None when the inputs cannot support an estimate (no styles or no turn ranges)."""
    if not inp.styles or not inp.turn_ranges:
        return None
    words = len(inp.sample_text.split())
    tpw = counter.count(inp.sample_text) / words if words >= 50 else 1.33
    sys_tokens = counter.count(inp.system_prompt) if inp.system_prompt else 0
    ovh = counter.per_message_overhead
    fixed = counter.fixed_overhead + (ovh if inp.system_prompt else 0)

    def to_tokens(amount: float, unit: str) -> float:
        if unit == "tokens":
            return amount
        if unit == "chars":
            return amount / CHARS_PER_TOKEN
        return amount * tpw

    ratio_mean = (inp.ratio[0] + inp.ratio[1]) / 2
    per_style = []  # (weight, mean exchange tokens, max exchange tokens)
    for _name, w, lo, hi, unit in inp.styles:
        user = to_tokens((lo + hi) / 2, unit)
        user_max = to_tokens(hi, unit)
        per_style.append((w, user + user * min(ratio_mean, inp.cap) + 2 * ovh, user_max * (1 + inp.cap) + 2 * ovh, user))
    user_mean = sum(w * u for w, _, _, u in per_style)
    asst_mean = user_mean * min(ratio_mean, inp.cap)
    per_exchange = sum(w * e for w, e, _, _ in per_style)
    n_dist = _n_distribution(inp.turn_ranges)
    combos = sorted((sys_tokens + fixed + n * e, pw * pn) for pw, e, _, _ in per_style for n, pn in n_dist.items())
    total = sum(p for _, p in combos)

    def percentile(q: float) -> int:
        acc = 0.0
        for tokens, p in combos:
            acc += p / total
            if acc >= q - 1e-12:
                return math.ceil(tokens)
        return math.ceil(combos[-1][0])

    n_max = max(n_dist)
    worst = sys_tokens + fixed + n_max * max(m for _, _, m, _ in per_style)
    n_mean = sum(n * p for n, p in n_dist.items()) / sum(n_dist.values())
    transcript = {"p50": percentile(0.50), "p95": percentile(0.95), "max": math.ceil(worst)}
    fit = examples = None
    if inp.budget:
        room = inp.budget - sys_tokens - fixed
        fit = max(0, int(room // per_exchange)) if per_exchange > 0 else None
        if inp.slicing and room > 0:
            examples = {k: max(1, math.ceil((v - sys_tokens - fixed) / room)) for k, v in transcript.items()}
    return Estimate(
        tokenizer=counter.name, exact=counter.exact, tokens_per_word=round(tpw, 3), system_prompt_tokens=sys_tokens,
        user_tokens=round(user_mean, 1), assistant_tokens=round(asst_mean, 1), overhead_per_exchange=round(2 * ovh, 1),
        fixed_overhead=int(round(fixed)), per_exchange_tokens=round(per_exchange, 1),
        exchanges={"min": min(n_dist), "mean": round(n_mean, 1), "max": n_max}, transcript_tokens=transcript,
        max_transcript_tokens=inp.budget, context_window=inp.context_window, exchanges_fit=fit,
        tier=tier(inp.budget) if inp.budget else None, slicing=inp.slicing, examples_per_conversation=examples,
        problems=list(inp.problems))


# --------------------------------------------------------------------------- cost


def generation_tokens(n: int, per_exchange: float, user: float, assistant: float, sim_prompt: float,
                      asst_prompt: float) -> dict[str, float]:
    """Tokens to generate one conversation of ``n`` exchanges. Every turn re-sends the whole
    history to both the simulator and the assistant, so input grows with the square of n."""
    history = per_exchange * n * (n - 1) / 2  # sum over turns of the history before each turn
    sim_in = n * sim_prompt + history
    asst_in = n * asst_prompt + history + n * user
    return {"simulator_input": sim_in, "simulator_output": n * user,
            "assistant_input": asst_in, "assistant_output": n * assistant}
