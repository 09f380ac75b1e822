"""`ftd tokens`: the token budget, conversation length and cost estimates."""

from __future__ import annotations

import json

from .errors import EXIT_FINDINGS, EXIT_OK, CommandError
from .project import load_project


def cmd_tokens(args) -> int:
    from ..core.economics.overview import chosen_model, project_costs, project_estimate, report_lines, save_counts
    from ..core.text.textsafe import clean_line

    project = load_project(args.dir)
    est, counter = project_estimate(project)
    if est is None:
        from ..core.economics.estimate import inputs_from

        problems = inputs_from(project.files, {}, None).problems
        raise CommandError("no estimate: " + "; ".join(problems or ["the persona template and taxonomy are needed"]), EXIT_FINDINGS)
    costs = project_costs(project, est, counter)
    save_counts()
    model, _ = chosen_model(project)
    if args.format == "json":
        out = {"tokenizer": est.tokenizer, "exact": est.exact, "system_prompt_tokens": est.system_prompt_tokens,
               "per_exchange_tokens": est.per_exchange_tokens, "transcript_tokens": est.transcript_tokens,
               "max_transcript_tokens": est.max_transcript_tokens, "context_window": est.context_window,
               "exchanges_fit": est.exchanges_fit, "tier": est.tier, "exchanges": est.exchanges,
               "breakdown": {"system_prompt": est.system_prompt_tokens, "user": est.user_tokens,
                             "assistant": est.assistant_tokens, "template_per_exchange": est.overhead_per_exchange,
                             "template_fixed": est.fixed_overhead},
               "tokens_per_word": est.tokens_per_word, "slicing": est.slicing,
               "examples_per_conversation": est.examples_per_conversation,
               "cost": {"generation": costs["generation"]["cost"], "judging": costs["judging"]["cost"],
                        "training": costs["training"].get("cost"), "currency": "USD"},
               "cost_detail": costs, "problems": est.problems}
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return EXIT_OK
    print("\n".join(clean_line(l) if l else "" for l in report_lines(est, costs, model)))
    return EXIT_OK
