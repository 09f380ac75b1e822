"""Before a paid run starts: how many calls, tokens and dollars per role.

Token figures come from the project's own estimate (spec §5: quadratic in the exchanges, judging
re-sends the transcript once per criterion per judge); prices from ftd.yaml or litellm's map;
an unknown price stays unknown and a local server costs no per-token money."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ...core.economics.costs import RoleCost, role_cost
from ...core.economics.estimate import generation_tokens
from . import prompts as P
from .setup import Inputs

SITUATION_IN, SITUATION_OUT = 700, 160
OPINION_IN, OPINION_OUT = 450, 60  # "is this message in character?": instructions and domain; a verdict and a reason
PERSONA_TOKENS = 350
JUDGE_FIXED = 260  # the judge's instructions around the criterion
VERDICT_OUT = 220
STATS_PER_EXCHANGE = 18


RoleForecast = RoleCost  # one row: role, model, calls, tokens in and out, cost, where the price came from


@dataclass
class Forecast:
    scenarios: int
    exchanges: int
    judge_calls: int
    roles: list[RoleForecast]
    total_cost: float | None
    unknown_prices: list[str]
    tokenizer: str
    done_calls: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


_cost = role_cost


def forecast(inputs: Inputs, scenarios: list[dict], done: dict[str, int] | None = None) -> Forecast:
    """``done``: calls already checkpointed per role kind (situation, user_sim, base, judge) —
    a resumed run forecasts only what is left."""
    from ...core.economics.overview import project_estimate

    done = done or {}
    est, counter = project_estimate(inputs.project)
    user = est.user_tokens if est else 90.0
    asst = est.assistant_tokens if est else 150.0
    per_ex = est.per_exchange_tokens if est else user + asst + 10
    system = est.system_prompt_tokens if est else counter.count(inputs.system_message)
    sim_prompt = counter.count((inputs.sim_parts.get("system") or "") + (inputs.sim_parts.get("user") or "")) + PERSONA_TOKENS
    criteria = inputs.criteria
    crit_tokens = {cid: counter.count(P._criterion_text(cid, c) + P.examples_text(c)) for cid, c in criteria.items()}
    judges = inputs.judges
    models = inputs.settings.get("models") or {}
    critic = models.get("critic") if isinstance(models.get("critic"), dict) else models.get("user_sim")

    missing = sum(1 for s in scenarios if not s.get("situation"))
    sim_in = sim_out = base_in = base_out = 0.0
    exchanges = 0
    judge_calls_per = 0
    judge_in = 0.0
    for s in scenarios:
        n = max(1, int(s.get("target_exchanges") or 1))
        exchanges += n
        g = generation_tokens(n, per_ex, user, asst, sim_prompt, system)
        sim_in += g["simulator_input"]
        sim_out += g["simulator_output"]
        base_in += g["assistant_input"]
        base_out += g["assistant_output"]
        transcript = system + n * per_ex + STATS_PER_EXCHANGE * n
        ask = _judged(criteria, n)
        if inputs.judge_mode == "all_in_one":
            judge_calls_per += 1 if ask else 0
            judge_in += JUDGE_FIXED + transcript + sum(crit_tokens[c] for c in ask)
        else:
            judge_calls_per += len(ask)
            judge_in += sum(JUDGE_FIXED + transcript + crit_tokens[c] for c in ask)
    judge_out = VERDICT_OUT * (judge_calls_per if inputs.judge_mode != "all_in_one" else sum(
        len(_judged(criteria, int(s.get("target_exchanges") or 1))) for s in scenarios))

    def left(kind: str, total: int) -> float:
        return max(0.0, (total - done.get(kind, 0)) / total) if total else 0.0

    rows = []
    ev = inputs.settings.get("eval") if isinstance(inputs.settings.get("eval"), dict) else {}
    # eval.fault_second_opinion: every asks the critic about each simulated message (an upper bound:
    # a resumed run's answers are checkpointed); true asks only about unsure ones, too few to forecast
    opinions = exchanges if ev.get("fault_second_opinion") == "every" else 0
    spec_rows = [("critic (situations)", critic, missing, SITUATION_IN * missing, SITUATION_OUT * missing, 1.0),
                 ("critic (second opinions)", critic, opinions, (OPINION_IN + user) * opinions, OPINION_OUT * opinions,
                  left("opinion", opinions)),
                 ("user_sim", models.get("user_sim"), exchanges, sim_in, sim_out, left("user_sim", exchanges)),
                 ("base", models.get("base"), exchanges, base_in, base_out, left("base", exchanges))]
    for i, j in enumerate(judges):
        spec_rows.append((f"judge {j['model']}", j, judge_calls_per, judge_in, judge_out, left(f"judge{i}", judge_calls_per)))
    for name, spec, calls, tin, tout, share in spec_rows:
        if not calls:
            continue
        calls_left = round(calls * share)
        cost, source = _cost(spec if isinstance(spec, dict) else None, tin * share, tout * share)
        rows.append(RoleForecast(name, str((spec or {}).get("model", "?")), calls_left, round(tin * share), round(tout * share),
                                 cost, source))
    unknown = [r.role for r in rows if r.cost is None and r.calls]
    total = None if unknown else sum(r.cost or 0.0 for r in rows)
    notes = [] if counter.exact else [f"token counts are approximate ({counter.name})"]
    try:
        from .calibration import latest_verdict

        notes.insert(0, latest_verdict(inputs.project.root, inputs))
    except Exception:  # an unreadable calibration folder must not block a forecast
        pass
    return Forecast(len(scenarios), exchanges, judge_calls_per * len(judges), rows, total, unknown, counter.name,
                    sum(done.values()), notes)


def _judged(criteria: dict, turns: int) -> list[str]:
    """The criteria a judge is asked: computed ones (``check:``) are answered by ftd, for free."""
    from ...core.evaluation.computed import is_computed

    return [cid for cid in P.asked(criteria, turns) if not is_computed(criteria[cid])]


def done_calls(records: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        if r.get("kind") == "user_message":  # the simulator's message, checkpointed before the base replies
            out["user_sim"] = out.get("user_sim", 0) + 1
        elif r.get("kind") == "exchange":
            if not r.get("user_checkpointed"):  # written before user_message records existed
                out["user_sim"] = out.get("user_sim", 0) + 1
            if r.get("assistant") is not None:
                out["base"] = out.get("base", 0) + 1
        elif r.get("kind") == "answer":
            key = f"judge{r.get('judge')}"
            out[key] = out.get(key, 0) + 1
        elif r.get("kind") == "fault_opinion":
            out["opinion"] = out.get("opinion", 0) + 1
    return out


def lines(f: Forecast) -> list[str]:
    from ...core.format import money, tokens as format_tokens

    out = [f"Forecast: {f.scenarios} scenarios, {f.exchanges} exchanges, {f.judge_calls} judge calls"
           + (f" ({f.done_calls} calls already done)" if f.done_calls else "")]
    for r in f.roles:
        cost = "local" if r.price.startswith("local server") else money(r.cost) if r.cost is not None else "unknown"
        out.append(f"  {r.role:<34} {r.calls:>5} calls  in {format_tokens(r.input_tokens):>7}  out {format_tokens(r.output_tokens):>7}  "
                   f"{cost:>9}")
    out.append(f"  total cost {money(f.total_cost) if f.total_cost is not None else 'unknown'}"
               + (f" (unknown price: {', '.join(f.unknown_prices)})" if f.unknown_prices else ""))
    if any(r.price.startswith("local server") for r in f.roles):
        out.append("  note: local servers have no per-token price; their GPU time is not counted")
    out += [f"  note: {n}" for n in f.notes]
    return out
