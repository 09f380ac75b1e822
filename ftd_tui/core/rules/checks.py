"""Every rule of the workflow, run over a loaded project."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..artifacts.common import Where, show
from ..artifacts.eval_results import check_eval_results
from ..artifacts.experts import check_experts
from ..artifacts.model_choice import check_model_choice, chosen_candidate
from ..artifacts.personas import check_personas
from ..artifacts.prompts import check_generator_prompt, check_system_prompt
from ..artifacts.rubric import check_rubric
from ..artifacts.settings import DEFAULT_CHECKS, Checks, check_settings
from ..artifacts.taxonomy import check_taxonomy
from .critique_gate import CRITIQUED, CritiqueStatus, critique_status
from .diagnostics import Diagnostic, make, sort_key
from ..project.project import ARTIFACTS, Project
from ..evaluation.runs import inputs_hash_of



@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]
    checks: Checks
    facts: dict[str, Any] = field(default_factory=dict)
    critiques: dict[str, CritiqueStatus] = field(default_factory=dict)

    def for_file(self, rel: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.file == rel]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def tier(tokens: int) -> str:
    from ..economics.estimate import TIER_RANGE
    from ..economics.estimate import tier as tier_name

    name = tier_name(tokens)
    return f"{TIER_RANGE[name]}: {name}"


def _scenario_file_checks(project: Project) -> list[Diagnostic]:
    """EVR006 in eval/scenarios.yaml, when it exists: the fields the scenario writer and the
    judges read (trigger, reference, redrawn). Its other problems stop a run with their line."""
    from ..project.boundary import FileRefused, read_inside
    from ..evaluation.runs import SCENARIOS_FILE
    from ..evaluation.scenarios import scenario_field_problems

    if not (project.root / SCENARIOS_FILE).is_file():
        return []
    try:
        text = read_inside(project.root, SCENARIOS_FILE).decode("utf-8")
    except (FileRefused, UnicodeDecodeError, OSError):
        return []  # the run refuses it with the reason
    rel = SCENARIOS_FILE.as_posix()
    return [make("EVR006", rel, line, col, msg) for line, col, msg in scenario_field_problems(text)]


def check_project(project: Project) -> CheckResult:
    diags: list[Diagnostic] = []
    facts: dict[str, Any] = {}
    for spec in ARTIFACTS:
        lf = project.files[spec.id].ensure_parsed()
        diags.extend(lf.problems)
        if not lf.exists and spec.required:
            diags.append(make("FIL001", spec.path, 1, 1, f"{spec.title} is missing ({spec.path})",
                              "ftd new DIR --template blank writes a commented starting point"))
    checks = DEFAULT_CHECKS
    settings_file = project.files["settings"]
    settings_data = settings_file.data if settings_file.readable else None
    if settings_file.readable:
        settings, sd = check_settings(settings_data, Where(settings_file.yaml, settings_file.rel), project.root)
        diags.extend(sd)
        if settings is not None:
            checks = settings.checks
        facts["settings"] = settings
    # step 1
    mc = project.files["model-choice"]
    chosen = None
    if mc.readable and mc.md is not None:
        _, md = check_model_choice(mc.md, mc.rel)
        diags.extend(md)
        if mc.md.front_matter is not None:
            fm = mc.md.front_matter.data
            chosen = chosen_candidate(fm)
            facts["chosen"] = fm.get("chosen") if isinstance(fm, dict) else None
            if isinstance(settings_data, dict) and isinstance(settings_data.get("base_model"), str) and facts["chosen"] \
                    and settings_data["base_model"] != facts["chosen"]:
                diags.append(Where(settings_file.yaml, settings_file.rel).diag(
                    "SET009", ("base_model",), f"base_model is {show(settings_data['base_model'])} but model-choice.md chose "
                    f"{show(facts['chosen'])}", "make them agree: the baseline measures base_model"))
        if isinstance(facts.get("chosen"), str):
            diags.extend(_model_facts_checks(mc, facts["chosen"], fm if isinstance(fm, dict) else {}, settings_data))
    # step 2: the budget
    if isinstance(settings_data, dict):
        w = Where(settings_file.yaml, settings_file.rel)
        budget = settings_data.get("budget") if isinstance(settings_data.get("budget"), dict) else {}
        mtt = budget.get("max_transcript_tokens")
        if not isinstance(mtt, int) or isinstance(mtt, bool):
            diags.append(w.diag("BUD001", ("budget",) if "budget" in settings_data else (),
                                "budget.max_transcript_tokens is not defined",
                                "fix the maximum length of one training example, e.g. 16384 (16K is the practical ceiling)", key=True))
        else:
            facts["budget"] = mtt
            facts["tier"] = tier(mtt)
            ctx = chosen.get("context_window") if isinstance(chosen, dict) else None
            if not isinstance(ctx, int) and isinstance(facts.get("chosen"), str):
                known = _catalog_facts(facts["chosen"])  # the candidate omits it: the catalog knows it
                ctx = known.context_window if known is not None else None
            facts["context_window"] = ctx if isinstance(ctx, int) else None
            if isinstance(ctx, int) and mtt > ctx:
                diags.append(w.diag("BUD002", ("budget", "max_transcript_tokens"),
                                    f"the budget ({mtt:,} tokens) exceeds {show(facts.get('chosen'))}'s context window ({ctx:,})"))
            if mtt > 16384:
                diags.append(w.diag("BUD003", ("budget", "max_transcript_tokens"),
                                    f"{mtt:,} tokens per example is in the {tier(mtt)} tier",
                                    "16K is the practical ceiling; consider budget.slicing: true to cut long conversations"))
            from ..economics.overview import project_estimate, save_counts

            est, counter = project_estimate(project)
            save_counts()
            facts["tokens"] = est
            if est is not None:
                w_bud = ("budget", "max_transcript_tokens")
                if est.over_budget:
                    slicing = budget.get("slicing") is True
                    diags.append(w.diag("BUD004", w_bud,
                                        f"the p95 conversation is {est.transcript_tokens['p95']:,} tokens, over the "
                                        f"{mtt:,}-token budget ({est.tokenizer})",
                                        "with slicing each conversation becomes several examples" if slicing else
                                        "shorten the turn ranges or word limits, raise the budget, or set budget.slicing: true",
                                        severity="warning" if slicing else "error"))
                if not est.exact:
                    diags.append(w.diag("BUD005", w_bud, f"token counts use {est.tokenizer}",
                                        "put the model's tokenizer.json and tokenizer_config.json in the Hugging Face "
                                        "cache or point budget.tokenizer_path at them for exact counts"))
    # steps 3-5
    tax = project.files["taxonomy"]
    if tax.readable:
        diags.extend(check_taxonomy(tax.data, Where(tax.yaml, tax.rel), checks))
    rub = project.files["rubric"]
    if rub.readable:
        _, rd = check_rubric(rub.data, Where(rub.yaml, rub.rel), checks)
        diags.extend(rd)
    per = project.files["personas"]
    if per.readable:
        diags.extend(check_personas(per.data, Where(per.yaml, per.rel), checks))
    # step 6
    for pid, kind in (("user-sim", "user_sim"), ("assistant", "assistant")):
        lf = project.files[pid]
        if lf.readable and lf.md is not None:
            diags.extend(check_generator_prompt(lf.md, lf.rel, kind))
    sp = project.files["system-prompt"]
    if sp.readable and sp.md is not None:
        diags.extend(check_system_prompt(sp.md, sp.rel, checks))
    # step 7
    diags.extend(_scenario_file_checks(project))
    ev = project.files["eval-results"]
    facts["eval"] = {"run": None, "matches": False, "recommendation": None, "decision": None}
    if ev.readable and ev.md is not None:
        efacts, ed = check_eval_results(ev.md, ev.rel, inputs_hash_of(project))
        facts["eval"] = efacts
        diags.extend(ed)
    # critiques
    ex = project.files["experts"]
    if ex.readable:
        diags.extend(check_experts(ex.data, Where(ex.yaml, ex.rel)))
    elif not ex.exists:
        diags.append(make("EXP001", ex.spec.path, 1, 1, "no expert panels: the role-play critique has no one to ask",
                          "ftd new writes a starting panel; every expert must be fictional"))
    critiques = {}
    for unit in CRITIQUED:
        status, cd = critique_status(project.root, unit, project.artifact_hash(unit))
        critiques[unit] = status
        diags.extend(cd)
    diags.sort(key=sort_key)
    return CheckResult(diags, checks, facts, critiques)



def _catalog_facts(model_id: str):
    try:
        from ..economics.catalog import find

        return find(model_id)
    except Exception:  # an unreadable catalog must never stop the checks
        return None


def _model_facts_checks(mc, chosen: str, fm: dict, settings_data: Any) -> list[Diagnostic]:
    """What ftd knows about the chosen model: a base variant (MOD005), and training memory at
    the budget beyond the hardware stated in ftd.yaml (MOD009)."""
    out: list[Diagnostic] = []
    known = _catalog_facts(chosen)
    if known is None:
        return out
    where = Where(mc.md.front_matter, mc.rel, line_offset=1)
    from ..artifacts.model_choice import _INSTRUCT

    # the name looked instruction-tuned (else MOD005 fired already), but the catalog knows better
    if getattr(known, "is_base_variant", False) and _INSTRUCT.search(chosen):
        out.append(where.diag("MOD005", ("chosen",), f"{show(chosen)} is the base (pretrained) variant of {show(known.id)}",
                              f"choose {known.id}: the instruction-tuned variant has the chat template and turn-taking"))
    if not isinstance(settings_data, dict):
        return out
    budget = (settings_data.get("budget") or {}).get("max_transcript_tokens") if isinstance(settings_data.get("budget"), dict) else None
    hardware = (settings_data.get("deployment") or {}).get("hardware") if isinstance(settings_data.get("deployment"), dict) else None
    if not isinstance(budget, int) or not isinstance(hardware, str):
        return out
    try:
        from ..economics.memory import Arch, parse_hardware_gb, training_memory

        gb = parse_hardware_gb(hardware)
        if gb is None or not (known.params_b and known.hidden_size and known.num_layers and known.vocab_size):
            return out
        arch = Arch(params_b=known.params_b, hidden_size=known.hidden_size, num_layers=known.num_layers,
                    vocab_size=known.vocab_size, num_attention_heads=known.num_attention_heads,
                    num_kv_heads=known.num_kv_heads, intermediate_size=known.intermediate_size,
                    tied_embeddings=bool(known.tied_embeddings), head_dim=getattr(known, "head_dim", None))
        method = fm.get("method") if fm.get("method") in ("qlora", "lora", "full") else "qlora"
        mem = training_memory(arch, method, budget)
    except Exception:  # the memory figure is advisory: facts it cannot use add no MOD009 and never stop the checks
        return out
    if mem.total_gb > gb:
        out.append(where.diag("MOD009", ("method",) if "method" in fm else ("chosen",),
                              f"{method} of {show(chosen)} at {budget:,} tokens needs ≈{mem.total_gb:.0f} GB; the hardware in "
                              f"ftd.yaml has {gb:g} GB", "a smaller model, QLoRA, a shorter budget, or a bigger GPU "
                              "(b in the app shows the figures and their assumptions)"))
    return out
