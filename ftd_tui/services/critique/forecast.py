"""Before a critique starts: its calls, tokens and cost, per role row, like the baseline's.

Input tokens are the real requests counted (every expert's messages as the plan will send them;
the synthesis's instructions and artifact, plus each expert's answer at its budget); output
tokens are each expert's answer budget and a stated estimate for the synthesis. Prices from
ftd.yaml or litellm's map; an unknown price stays unknown, a local server has no per-token price."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ...core.economics.costs import RoleCost, role_cost

# the synthesis's answer: up to ~10 proposals, each with a rationale and its edits (a stated estimate)
SYNTHESIS_OUTPUT_TOKENS = 3000


RoleRow = RoleCost  # the baseline's row shape, for the critic's two kinds of call


@dataclass
class CritiqueForecast:
    unit: str
    voices: int
    roles: list[RoleRow]
    total_cost: float | None
    unknown_prices: list[str]
    tokenizer: str
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


def _messages_tokens(counter, messages: list[dict], memo: dict[str, int] | None = None) -> int:
    """``memo``: counts by text. The experts' user messages are the same long text (the artifact
    and the digest) for every voice: counted once, F6's forecast stays off the critical path."""
    memo = {} if memo is None else memo
    total = counter.fixed_overhead
    for m in messages:
        text = str(m.get("content") or "")
        if text not in memo:
            memo[text] = counter.count(text)
        total += memo[text] + round(counter.per_message_overhead)
    return total


def critique_forecast(plan, settings: dict | None) -> CritiqueForecast:
    """``plan``: a CritiquePlan (critique/run.plan_critique); ``settings``: the roles in force."""
    from ...core.economics.counting import approx_counter

    counter = approx_counter(None)
    models = settings.get("models") if isinstance(settings, dict) and isinstance(settings.get("models"), dict) else {}
    spec = models.get("critic") if isinstance(models.get("critic"), dict) else None
    model = str((spec or {}).get("model", "?"))
    voices = list(plan.voices)
    memo: dict[str, int] = {}
    experts_in = sum(_messages_tokens(counter, plan.expert_request(v), memo) for v in voices)
    experts_out = plan.answer_tokens * len(voices)
    # the synthesis reads every answer: its request with empty answers, plus each answer at its budget
    empty = [(f"{v.name} ({v.kind})", "") for v in voices]
    synth_in = _messages_tokens(counter, plan.synthesis_request(empty)) + experts_out
    rows = []
    for role, calls, tin, tout in (("critic (experts)", len(voices), experts_in, experts_out),
                                   ("critic (synthesis)", 1, synth_in, SYNTHESIS_OUTPUT_TOKENS)):
        cost, source = role_cost(spec, tin, tout)
        rows.append(RoleRow(role, model, calls, round(tin), round(tout), cost, source))
    unknown = [r.role for r in rows if r.cost is None]
    total = None if unknown else sum(r.cost or 0.0 for r in rows)
    notes = [f"each expert may answer up to {plan.words:,} words (≈{plan.answer_tokens:,} tokens, test material "
             f"included); the synthesis's {SYNTHESIS_OUTPUT_TOKENS:,} output tokens are an estimate",
             "answers already in the response cache cost nothing (not subtracted here); "
             "a synthesis that is not valid JSON is asked once more (not counted)"]
    if not counter.exact:
        notes.append(f"token counts are approximate ({counter.name})")
    return CritiqueForecast(plan.unit, len(voices), rows, total, unknown, counter.name, notes)


def lines(f: CritiqueForecast) -> list[str]:
    from ...core.format import money, tokens as format_tokens

    model = f.roles[0].model if f.roles else "?"
    out = [f"Forecast: critique of the {f.unit}, {f.voices} fictional voices and one synthesis ({model})"]
    for r in f.roles:
        cost = "local" if r.price.startswith("local server") else money(r.cost) if r.cost is not None else "unknown"
        out.append(f"  {r.role:<19} {r.calls:>2} {'call ' if r.calls == 1 else 'calls'}  in {format_tokens(r.input_tokens):>6}  "
                   f"out {format_tokens(r.output_tokens):>6}  {cost:>8}")
    out.append(f"  total cost {money(f.total_cost) if f.total_cost is not None else 'unknown'}"
               + (f" (unknown price: {', '.join(f.unknown_prices)})" if f.unknown_prices else ""))
    unknown = next((r.price for r in f.roles if r.cost is None), None)
    if unknown:
        out.append(f"  note: {unknown}")
    if any(r.price.startswith("local server") for r in f.roles):
        out.append("  note: local servers have no per-token price; their GPU time is not counted")
    out += [f"  note: {n}" for n in f.notes]
    return out
