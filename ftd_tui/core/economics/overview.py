"""Token economics of a loaded project: the counter to use, the estimate, the costs."""

from __future__ import annotations

from typing import Any

from ..artifacts.families import family_of
from ..artifacts.model_choice import chosen_candidate
from .costs import compute_costs
from .counting import CountCache, Counter, approx_counter, exact_counter, hf_snapshot
from ..artifacts.system_message import system_message
from .estimate import Estimate, estimate, inputs_from
from ..user.dirs import cache_dir
from ..format import money, tokens as format_tokens

_cache: CountCache | None = None
_exact: dict[tuple, Counter | None] = {}


def count_cache() -> CountCache:
    global _cache
    if _cache is None:
        _cache = CountCache(cache_dir() / "token-counts.json")
    return _cache


def _settings(project) -> dict:
    lf = project.files["settings"]
    return lf.data if lf.readable and isinstance(lf.data, dict) else {}


def _choice(project) -> dict:
    mc = project.files["model-choice"]
    if mc.readable and mc.md is not None and mc.md.front_matter is not None and isinstance(mc.md.front_matter.data, dict):
        return mc.md.front_matter.data
    return {}


def chosen_model(project) -> tuple[str | None, dict | None]:
    fm = _choice(project)
    cand = chosen_candidate(fm)
    model = fm.get("chosen") if isinstance(fm.get("chosen"), str) else _settings(project).get("base_model")
    return (model if isinstance(model, str) else None), cand


def counter_for(project) -> Counter:
    """The model's own tokenizer when it is on this machine, else the labelled approximation."""
    model, _ = chosen_model(project)
    budget = _settings(project).get("budget")
    explicit = budget.get("tokenizer_path") if isinstance(budget, dict) else None
    explicit_path = (project.root / explicit) if isinstance(explicit, str) else None
    if model:
        folder = hf_snapshot(model, explicit_path)
        key = (model, str(folder))
        if folder is not None:
            if key not in _exact:
                try:
                    _exact[key] = exact_counter(model, folder, count_cache())
                except Exception:  # an unreadable tokenizer or template: fall back, labelled
                    _exact[key] = None
            if _exact[key] is not None:
                return _exact[key]  # type: ignore[return-value]
    return approx_counter(family_of(model) if model else None, count_cache())


def project_estimate(project, counter: Counter | None = None) -> tuple[Estimate | None, Counter]:
    counter = counter or counter_for(project)
    for lf in project.files.values():
        lf.ensure_parsed()
    _, cand = chosen_model(project)
    ctx = cand.get("context_window") if isinstance(cand, dict) and isinstance(cand.get("context_window"), int) else None
    inp = inputs_from(project.files, _settings(project).get("budget") if isinstance(_settings(project).get("budget"), dict) else {}, ctx)
    full = system_message(project)
    if full is not None:
        inp.system_prompt = full  # knowledge files ride along in every training example
    return estimate(inp, counter), counter


def project_costs(project, est: Estimate, counter: Counter) -> dict[str, Any]:
    from ..artifacts.prompts import generator_prompt_parts

    prompts = {}
    for pid in ("user-sim", "assistant"):
        lf = project.files[pid]
        if lf.md is not None:
            parts = generator_prompt_parts(lf.md)
            prompts[pid] = sum(counter.count(p[0]) for p in parts.values() if p)
    criteria_tokens: dict[str, int] = {}
    rub = project.files["rubric"]
    if rub.readable and isinstance(rub.data, dict) and isinstance(rub.data.get("criteria"), dict):
        for cid, crit in rub.data["criteria"].items():
            if not isinstance(crit, dict):
                continue
            text = str(crit.get("question") or "")
            for ex in crit.get("calibration_examples") or [] if isinstance(crit.get("calibration_examples"), list) else []:
                if isinstance(ex, dict):
                    text += "\n" + "\n".join(str(ex.get(k) or "") for k in ("type", "context", "response", "reasoning"))
            criteria_tokens[str(cid)] = counter.count(text)
    _, cand = chosen_model(project)
    params = cand.get("params_b") if isinstance(cand, dict) and isinstance(cand.get("params_b"), (int, float)) else None
    method = _choice(project).get("method")
    return compute_costs(est, _settings(project), rub.data if rub.readable else None, prompts, criteria_tokens, params,
                         method if isinstance(method, str) else None)


def save_counts() -> None:
    if _cache is not None:
        _cache.save()


def report_lines(est, costs, model: str | None) -> list[str]:
    """The token and cost report, as lines of plain text (the CLI and the app's detail view)."""
    ft = format_tokens

    approx = "" if est.exact else "≈"
    lines = [f"Token budget · {est.tokenizer}" + ("" if est.exact else " (approximate)")]
    if est.max_transcript_tokens:
        lines.append(f"  budget          {est.max_transcript_tokens:,} tokens per training example ({est.tier})")
    else:
        lines.append("  budget          not defined (budget.max_transcript_tokens)")
    lines.append(f"  context window  {est.context_window:,}" + (f" ({model})" if model else "") if est.context_window
                 else "  context window  unknown (the chosen model is not among model-choice.md's candidates)")
    lines.append(f"  system prompt   {est.system_prompt_tokens:,} tokens")
    lines.append(f"  per exchange    {approx}{est.per_exchange_tokens:,.0f} = user {est.user_tokens:,.0f} + assistant "
                 f"{est.assistant_tokens:,.0f} + template {est.overhead_per_exchange:g}  ({est.tokens_per_word:.2f} tokens/word)")
    fit = f"; {est.exchanges_fit} fit in the budget" if est.exchanges_fit is not None else ""
    lines.append(f"  exchanges       {est.exchanges['min']:g}–{est.exchanges['max']:g} (mean {est.exchanges['mean']:g}){fit}")
    t = est.transcript_tokens
    over = "  ← p95 over the budget" if est.over_budget else ""
    lines.append(f"  conversation    p50 {approx}{t['p50']:,} · p95 {approx}{t['p95']:,} · max {approx}{t['max']:,}{over}")
    if est.slicing:
        e = est.examples_per_conversation or {}
        lines.append(f"  slicing         on: p50 {e.get('p50', '?')} · p95 {e.get('p95', '?')} examples per conversation")
    g, j, tr = costs["generation"], costs["judging"], costs["training"]
    lines += ["", f"Cost (USD) for {g['conversations']:,} conversations (inputs and outputs apart)"]
    lines.append(f"  generation      in {ft(g['input_tokens'])} / out {ft(g['output_tokens'])} tokens   {money(g['cost'])}")
    for role, src in g["prices"].items():
        lines.append(f"                  {role}: {src}")
    lines.append(f"  judging         in {ft(j['input_tokens'])} / out {ft(j['output_tokens'])} tokens   {money(j['cost'])}"
                 f"   ({j['calls_per_conversation']} calls per conversation)")
    for role, src in j["prices"].items():
        lines.append(f"                  {role}: {src}")
    if "gpu_hours" in tr:
        hours = "unknown" if tr["gpu_hours"] is None else f"{tr['gpu_hours']:,.1f} GPU-hours"
        lines.append(f"  training        {ft(tr['tokens'])} tokens × {tr['epochs']:g} epochs → {hours}   {money(tr.get('cost'))}")
        lines.append(f"                  {tr['basis']}" + (f"; {tr['price']}" if tr.get("price") else ""))
    else:
        lines.append(f"  training        {ft(tr['tokens'])} tokens × {tr['epochs']:g} epochs   {money(tr.get('cost'))} ({tr['basis']})")
    lines.append("")
    lines.append("Generation grows with the square of the exchanges: every turn re-sends the whole history.")
    return lines
