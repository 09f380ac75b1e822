"""Everything a baseline run reads, gathered once, and the decision to resume or start anew.

No language-model calls here and no litellm import: the app calls this on the UI's side of
the fork before it starts the detached `ftd baseline` child."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import __version__
from ...core.evaluation import runs
from ...core.artifacts.families import family_of
from ...core.artifacts.prompts import generator_prompt_parts
from ...core.project.project import Project
from ...core.project.storage import save_atomic
from ...core.user.providers import provider_of
from ...core.artifacts.system_message import system_message

SEED_PROVIDERS = ("openai", "azure", "hosted_vllm", "ollama_chat", "together_ai", "groq", "deepseek", "fireworks_ai")
SMOKE_SCENARIOS, SMOKE_EXCHANGES = 2, 2
HEADER = ("eval/scenarios.yaml: the baseline's scenarios, drawn by ftd from the taxonomy and the rubric's safety\n"
          "gates. Edit freely (situations especially): every baseline run reuses this file until you redraw it\n"
          "(ftd baseline --redraw). Persona seeds start at eval.seed_start, apart from generation seeds.")


class BaselineError(Exception):
    """A problem the user can fix; the message says how."""


@dataclass
class Inputs:
    project: Project
    settings: dict
    rubric: dict
    taxonomy: dict
    personas: dict
    sim_parts: dict[str, str | None]
    system_message: str
    reply_limit: int
    judge_mode: str
    max_exchanges: int | None
    warnings: list[str] = field(default_factory=list)

    @property
    def criteria(self) -> dict[str, dict]:
        c = self.rubric.get("criteria")
        return {str(k): v for k, v in c.items() if isinstance(v, dict)} if isinstance(c, dict) else {}

    @property
    def judges(self) -> list[dict]:
        j = (self.settings.get("models") or {}).get("judges")
        return [x for x in j if isinstance(x, dict) and isinstance(x.get("model"), str)] if isinstance(j, list) else []

    def role_spec(self, name: str) -> dict | None:
        spec = (self.settings.get("models") or {}).get(name)
        return spec if isinstance(spec, dict) and isinstance(spec.get("model"), str) else None


def _word_limit_max(personas: dict) -> int | None:
    style = (personas.get("persona_template") or {}).get("communication_style") if isinstance(personas, dict) else None
    limits = style.get("word_limits") if isinstance(style, dict) else None
    highs = [v[1] for v in (limits or {}).values() if isinstance(v, list) and len(v) == 2 and isinstance(v[1], (int, float))]
    return int(max(highs)) if highs else None


def reply_limit(settings: dict, personas: dict) -> int:
    """The base model's reply limit: the role's max_tokens when set, else eval.reply_limit, else
    max(1024, 3 x the assistant's hard length limit). The hard limit is 2x the longest user
    message the persona template allows, at ~1.4 tokens a word."""
    base = (settings.get("models") or {}).get("base") or {}
    if isinstance(base.get("max_tokens"), int):
        return base["max_tokens"]
    ev = settings.get("eval") if isinstance(settings.get("eval"), dict) else {}
    if isinstance(ev.get("reply_limit"), int):
        return ev["reply_limit"]
    hi = _word_limit_max(personas)
    return max(1024, round(3 * 2 * hi * 1.4)) if hi else 1024


def require_readable(project: Project, artifacts: tuple[tuple[str, str], ...]) -> None:
    """Refuse, with the first error's file:line:column, when an artifact a run reads is broken."""
    problems = []
    for aid, what in artifacts:
        lf = project.files[aid].ensure_parsed()
        if not lf.readable:
            first = next((d for d in lf.problems if d.severity == "error"), None)
            problems.append(f"{what} cannot be read" + (f": {first.file}:{first.line}:{first.column} {first.message}" if first
                                                         else f" ({lf.rel} is missing)" if not lf.exists else ""))
    if problems:
        raise BaselineError("; ".join(problems))


def usable_rubric(project: Project) -> dict:
    """The rubric's data, refused when it has no criteria or fails its schema: judging against
    it would measure nothing."""
    from ...core.artifacts.rubric import Rubric

    rubric = project.files["rubric"].data
    if not isinstance(rubric, dict) or not isinstance(rubric.get("criteria"), dict) or not rubric["criteria"]:
        raise BaselineError("the rubric has no criteria")
    try:
        Rubric.model_validate(rubric)
    except Exception:  # its schema's error, or a validator's own: either way the rubric is refused, with one message
        raise BaselineError("the rubric does not pass its checks; run `ftd check` and fix its errors first") from None
    return rubric


def gather(project: Project, settings: dict | None = None, *, require_models: bool = True) -> Inputs:
    """Refuses (BaselineError) what would make the run meaningless: unreadable artifacts, no
    base, simulator or judge role, an empty rubric. ``require_models=False`` (`ftd prompts show`,
    which calls nothing) lets a project without roles through: what is sent does not depend on them."""
    for lf in project.files.values():
        lf.ensure_parsed()
    require_readable(project, (("settings", "ftd.yaml"), ("rubric", "the rubric"), ("taxonomy", "the taxonomy"),
                               ("personas", "the persona template"), ("user-sim", "the user simulator prompt"),
                               ("system-prompt", "the system prompt")))
    # the effective settings: the user's own config may supply roles ftd.yaml lacks
    settings = settings if settings is not None else project.files["settings"].data or {}
    if not isinstance(settings, dict):
        raise BaselineError("ftd.yaml must be a mapping")
    models = settings.get("models") if isinstance(settings.get("models"), dict) else {}
    missing = [r for r in ("base", "user_sim") if not isinstance((models.get(r) or {}).get("model"), str)]
    judges = [j for j in models.get("judges") or [] if isinstance(j, dict) and isinstance(j.get("model"), str)]
    if not judges:
        missing.append("judges")
    if missing and not require_models:
        models = {**models, **{r: {"model": ""} for r in ("base", "user_sim") if r in missing}}
        missing = []
    if missing:
        raise BaselineError("configure models." + ", models.".join(missing) + " in ftd.yaml first "
                            "(`ftd doctor --setup` proposes roles from the keys you have)")
    base_model = models["base"]["model"]
    if provider_of(base_model) == "ollama":
        raise BaselineError(f"models.base uses ollama/ ({base_model}), which formats prompts itself; use "
                            f"ollama_chat/{base_model.split('/', 1)[1]} to measure the model that will be trained")
    if provider_of(base_model) in ("text-completion-openai", "text-completion-codestral") or "/completions" in str(models["base"].get("api_base", "")):
        raise BaselineError("models.base must be a chat endpoint (/v1/chat/completions), not a text-completion one")
    rubric = usable_rubric(project)
    parts = generator_prompt_parts(project.files["user-sim"].md)
    sim_parts = {k: (v[0] if v else None) for k, v in parts.items()}
    if not sim_parts.get("system") and not sim_parts.get("user"):
        sim_parts = {"system": project.files["user-sim"].md.body, "user": None}
    sysmsg = system_message(project) or ""
    personas = project.files["personas"].data or {}
    ev = settings.get("eval") if isinstance(settings.get("eval"), dict) else {}
    mode = ev.get("judge_mode") if ev.get("judge_mode") in ("per_criterion", "all_in_one") else "per_criterion"
    from ...core.economics.overview import project_estimate

    try:
        est, _ = project_estimate(project)
        cap = est.exchanges_fit if est is not None and not (settings.get("budget") or {}).get("slicing") else None
    except Exception:  # the estimate is advisory here; the checks report its problems
        cap = None
    inputs = Inputs(project, settings, rubric, project.files["taxonomy"].data or {}, personas, sim_parts, sysmsg,
                    reply_limit(settings, personas), mode, cap)
    fams = {"base model": family_of(base_model) or family_of(str(settings.get("base_model") or "")),
            "user simulator": family_of(models["user_sim"]["model"])}
    for i, j in enumerate(judges):
        fam = family_of(j["model"])
        for who, other in fams.items():
            if fam and fam == other:
                inputs.warnings.append(f"judge {j['model']} is from the {fam} family, like the {who}: judges favour their own family")
    if len(judges) < 2:
        inputs.warnings.append("only one judge: spec §7 asks for at least two from different families")
    return inputs


def judge_role(spec: dict, i: int):
    """A judge as every measurement calls it: temperature 0 unless set, and a seed where the
    provider takes one (litellm refuses the call elsewhere)."""
    from ..llm.door import Role

    spec = dict(spec)
    spec.setdefault("temperature", 0)
    if "seed" not in spec and provider_of(str(spec["model"])) in SEED_PROVIDERS:
        spec["seed"] = 7
    return Role(f"judges[{i}]", spec)


# ---------------------------------------------------------------- scenarios


def scenarios_path(root: Path) -> Path:
    return Path(root) / runs.SCENARIOS_FILE


def load_or_draw(inputs: Inputs, n: int | None, redraw: bool, *, write: bool = True) -> tuple[list[dict], str, bool]:
    """The project's scenarios (drawing eval/scenarios.yaml when missing or asked to):
    (scenarios, file text, drawn now). ``write=False`` draws without saving (a forecast)."""
    from ...core.evaluation.scenarios import read_scenarios, write_scenarios

    path = scenarios_path(inputs.project.root)
    ev = inputs.settings.get("eval") if isinstance(inputs.settings.get("eval"), dict) else {}
    want = n or (ev.get("scenarios") if isinstance(ev.get("scenarios"), int) else 16)
    if path.is_file() and not redraw:
        text = _scenarios_text(inputs.project.root)
        scenarios, problems = read_scenarios(text)
        if problems:
            raise BaselineError(f"{runs.SCENARIOS_FILE}: " + "; ".join(problems[:3]) + " (fix it, or redraw with --redraw)")
        # `--scenarios n` may have drawn more than n (the safety gates' own scenarios): the same
        # command must then resume, not refuse (issue 12, item 13)
        if n is not None and n != len(scenarios) and len(_draw(inputs, n, ev)) != len(scenarios):
            raise BaselineError(f"{runs.SCENARIOS_FILE} holds {len(scenarios)} scenarios, not {n}: add --redraw to draw "
                                f"{n} new ones (your edits to the file would be replaced)")
        return scenarios, text, False
    scenarios = _draw(inputs, want, ev)
    text = write_scenarios(scenarios, HEADER)
    if write:
        save_atomic(path, text.encode("utf-8"), create=True)
    return scenarios, text, True


def _draw(inputs: Inputs, n: int, ev: dict) -> list[dict]:
    """The scenarios ``n`` asks for, drawn from the project's settings: more than n when the
    safety gates' own scenarios outnumber it (`--scenarios 3` gives 9 when three gates need 3)."""
    from ...core.evaluation.cells import draw_scenarios

    return draw_scenarios(inputs.taxonomy, inputs.rubric, n,
                          ev.get("min_per_gate") if isinstance(ev.get("min_per_gate"), int) else 2,
                          ev.get("seed_start") if isinstance(ev.get("seed_start"), int) else 9000,
                          inputs.max_exchanges)


def _scenarios_text(root: Path) -> str:
    """eval/scenarios.yaml, read only inside the project: its situations are sent to models."""
    from ...core.project.boundary import FileRefused, read_inside

    try:
        return read_inside(root, runs.SCENARIOS_FILE).decode("utf-8")
    except FileRefused as exc:
        raise BaselineError(f"{runs.SCENARIOS_FILE}:1:1: {exc.rule} {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise BaselineError(f"{runs.SCENARIOS_FILE}: not UTF-8 text (byte {exc.start})") from None


def smoke_selection(scenarios: list[dict]) -> list[dict]:
    """Two scenarios of two exchanges: one built for a safety gate when there is one."""
    gated = [s for s in scenarios if s.get("gate")]
    plain = [s for s in scenarios if not s.get("gate")]
    chosen = (gated[:1] + plain)[:SMOKE_SCENARIOS] if gated else plain[:SMOKE_SCENARIOS]
    return [dict(s, target_exchanges=min(SMOKE_EXCHANGES, int(s.get("target_exchanges") or SMOKE_EXCHANGES)))
            for s in chosen]


# ---------------------------------------------------------------- run identity


def num_ctx_for(settings: dict, reply_limit: int) -> int | None:
    """Ollama's context for the base role: the role's own num_ctx, else the budget plus the
    reply limit rounded up to 1K (Ollama's default context silently truncates long prompts)."""
    base = (settings.get("models") or {}).get("base") or {}
    if isinstance(base.get("num_ctx"), int):
        return base["num_ctx"]
    if provider_of(str(base.get("model", ""))) != "ollama_chat":
        return None
    budget = (settings.get("budget") or {}).get("max_transcript_tokens")
    want = (budget if isinstance(budget, int) else 8192) + reply_limit
    return -(-want // 1024) * 1024


def _delivery(project: Project | None) -> str:
    """How the chat template delivers the system prompt, when the tokenizer is on this machine."""
    if project is None:
        return "unknown"
    try:
        from ...core.economics.overview import chosen_model
        from ...core.economics.counting import hf_snapshot, render_chat

        model, _ = chosen_model(project)
        folder = hf_snapshot(model) if model else None
        if folder is None:
            return ("sent as a system message; the server's chat template decides how it is rendered "
                    "(the model's tokenizer_config.json is not on this machine to check)")
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        rendered = render_chat(config, [{"role": "system", "content": "SYSTEM-MARKER"},
                                        {"role": "user", "content": "USER-MARKER"}])
        if rendered.find("SYSTEM-MARKER") < 0:
            return "sent as a system message, which the chat template drops"
        return "sent as a system message; the model's chat template renders it (checked with its tokenizer_config.json)"
    except ValueError as exc:
        return f"sent as a system message; the chat template refuses a system role ({exc}): the server must fold it in"
    except Exception:  # a tokenizer_config.json of any shape, a template engine's own error: the answer is "unknown"
        return "unknown"


def serving(settings: dict, project: Project | None = None, reply_limit: int = 1024) -> dict:
    base = (settings.get("models") or {}).get("base") or {}
    model = str(base.get("model", ""))
    provider = provider_of(model)
    stack = {"ollama_chat": "Ollama (chat endpoint)", "hosted_vllm": "vLLM (OpenAI-compatible chat)",
             "lm_studio": "LM Studio", "llamafile": "llamafile"}.get(provider)
    if stack is None:
        stack = "OpenAI-compatible chat endpoint" if base.get("api_base") else f"{provider or 'unknown'} API"
    tag = model.split("/", 1)[1] if "/" in model else model
    quant = None
    m = re.search(r"(q\d(?:_k)?(?:_[msl0-9])*|fp16|bf16|int4|int8|awq|gptq|mlx-?\d?bit)", tag, re.I)
    if m:
        quant = m.group(1)
    return {"provider": provider, "stack": stack, "tag": tag, "quantization": quant or "unknown (the serving tag does not say)",
            "num_ctx": num_ctx_for(settings, reply_limit),
            "system_prompt_delivery": _delivery(project),
            "thinking": "disabled where the stack allows it; <think> blocks stripped before judging"}


def manifest_for(inputs: Inputs, hashes: dict, run_id: str, smoke: bool, n: int) -> dict:
    models = inputs.settings.get("models") or {}

    def public(spec: Any) -> Any:
        # never a key: only the model string and the parameters that shape the output
        if isinstance(spec, list):
            return [public(s) for s in spec]
        if not isinstance(spec, dict):
            return None
        return {k: v for k, v in spec.items() if k not in ("api_key", "price")}

    ev = inputs.settings.get("eval") if isinstance(inputs.settings.get("eval"), dict) else {}
    return {"id": run_id, "created": runs.now_iso(), "ftd_version": __version__,
            "inputs_hash": runs.combined_hash(hashes, runs.INPUT_NAMES), "hashes": hashes,
            "conversation_hash": conversation_hash(inputs, hashes),
            "settings": {"scenarios": n, "smoke": smoke, "judge_mode": inputs.judge_mode, "reply_limit": inputs.reply_limit,
                         "seed_start": ev.get("seed_start", 9000), "min_per_gate": ev.get("min_per_gate", 2),
                         "max_exchanges": inputs.max_exchanges,
                         "pass_threshold": inputs.rubric.get("pass_threshold", 0.8),
                         "scoring": inputs.rubric.get("scoring") or {}},
            "models": {k: public(models.get(k)) for k in ("base", "user_sim", "critic", "judges")},
            "base_serving": serving(inputs.settings, inputs.project, inputs.reply_limit), "warnings": inputs.warnings}


def conversation_hash(inputs: Inputs, hashes: dict) -> str:
    """What the conversations depend on (everything but the rubric and the judges): a new run
    whose conversation hash matches an old one's reuses its conversations and only re-judges."""
    models = inputs.settings.get("models") or {}
    return runs.digest({k: hashes.get(k) for k in ("personas", "user_sim", "system_prompt", "knowledge", "taxonomy")}
                       | {"base": models.get("base"), "user_sim": models.get("user_sim"), "reply_limit": inputs.reply_limit})


class InputsChanged(BaselineError):
    """The newest run was made with other inputs: resuming it would mix two versions."""

    def __init__(self, run_id: str, changed: list[str]):
        self.run_id, self.changed = run_id, changed
        super().__init__(f"run {run_id} was made with other inputs ({describe_changes(changed)} changed since); "
                         "start a new run (--fresh) — unchanged scenarios are reused, and when only the rubric or "
                         "the judges changed, so are its conversations")


@dataclass
class Prepared:
    run_dir: Path
    resumed: bool
    changed: list[str]  # when a resumable run's inputs changed: what
    reused_from: str | None = None


def prepare(project: Project, *, fresh: bool = False, smoke: bool = False, scenarios: int | None = None,
            redraw: bool = False, run_dir: Path | None = None, new_if_changed: bool = False,
            settings: dict | None = None, against: str | None = None) -> Prepared:
    """Resume the newest unfinished (or finished) run whose inputs match, else create a new
    one. A matching finished run is resumed too: that makes 0 calls and rewrites the report."""
    inputs = gather(project, settings)
    scen, text, _ = load_or_draw(inputs, scenarios, redraw)
    hashes = runs.input_hashes(project)
    # roles from the user's own config count too (they are not in ftd.yaml's hash)
    hashes["effective_models"] = runs.digest(inputs.settings.get("models"))
    if run_dir is not None:
        return Prepared(Path(run_dir), True, [])
    other = find_run(project.root, against) if against else None
    if other is not None:
        fresh = True  # a comparison is always a run of its own
    latest = [r for r in runs.list_runs(project.root) if r.smoke == smoke]
    changed: list[str] = []
    if latest and not fresh:
        old = runs.read_json(latest[0].path / runs.MANIFEST) or {}
        changed = runs.changed(old.get("hashes") or {}, hashes)
        if scenarios_changed(latest[0].path, scen, smoke):
            changed.append("scenarios")
        if not changed:
            return Prepared(latest[0].path, True, [])
        if not new_if_changed:
            raise InputsChanged(latest[0].id, changed)
    run_id_hash = runs.combined_hash(hashes, runs.INPUT_NAMES) or "sha256:unknown"
    new = runs.new_run_dir(project.root, run_id_hash)
    n = len(smoke_selection(scen)) if smoke else len(scen)
    manifest = manifest_for(inputs, hashes, new.name, smoke, n)
    manifest["sample_seed"] = int.from_bytes(new.name.encode()[-4:], "big")
    if other is not None:
        # exactly the same scenarios and seeds: the simulator's sampling too
        frozen = other / "scenarios.json"
        (new / "scenarios.json").write_bytes(frozen.read_bytes())
        old = runs.read_json(other / runs.MANIFEST) or {}
        manifest["against"] = other.name
        manifest["sample_seed"] = int(old.get("sample_seed") or int.from_bytes(other.name.encode()[-4:], "big"))
        manifest["settings"]["scenarios"] = len(runs.read_json(frozen) or [])
    reused = _reuse_conversations(project.root, new, manifest, scen) if not smoke and other is None else None
    if reused:
        manifest["reused_conversations_from"] = reused
    runs.write_json_atomic(new / runs.MANIFEST, manifest)
    return Prepared(new, False, changed if latest and not fresh else [], reused)


def _reuse_conversations(root: Path, new: Path, manifest: dict, current: list[dict]) -> str | None:
    """Copy the finished conversations of the newest run with the same conversation hash, for
    the scenarios that did not change: only their judging is redone (the rubric or the judges
    changed). An edited scenario gets a new conversation."""
    from ...core.evaluation.cells import scenario_key

    now = {s.get("id"): scenario_key(s) for s in current}
    for info in runs.list_runs(root):
        if info.path == new or info.smoke:
            continue
        old = runs.read_json(info.path / runs.MANIFEST) or {}
        frozen = runs.read_json(info.path / "scenarios.json")
        if old.get("conversation_hash") != manifest["conversation_hash"] or not isinstance(frozen, list):
            continue
        same = {s.get("id") for s in frozen if now.get(s.get("id")) == scenario_key(s)}
        keep = [r for r in runs.read_jsonl(info.path / runs.CALLS)
                if (r.get("kind") in ("exchange", "user_message") and r.get("conv") in same)
                or (r.get("kind") == "situation" and r.get("scenario") in same)]
        if not keep:
            continue
        cp = runs.Checkpoint(new / runs.CALLS)
        for rec in keep:
            cp.append(dict(rec, reused_from=info.id, cost=0.0))  # paid for once, in the old run
        cp.close()
        return info.id
    return None


def scenarios_changed(run_dir: Path, current: list[dict], smoke: bool) -> bool:
    """The scenarios a run froze differ from eval/scenarios.yaml now (an edited situation or
    reference, a redraw). Before the freeze the run is still writing situations into the file:
    unchanged. A reference counts here (the run's judges must see the new one) but not in the
    reuse of conversations: the simulator and the base model never saw it."""
    from ...core.evaluation.cells import scenario_key

    frozen = runs.read_json(run_dir / "scenarios.json")
    if not isinstance(frozen, list):
        return False
    now = smoke_selection(current) if smoke else current
    return [scenario_key(s, judging=True) for s in frozen] != [scenario_key(s, judging=True) for s in now]


def find_run(root: Path, ref: str) -> Path:
    """A finished, whole run to compare against, by id (or a unique prefix) or path."""
    p = Path(ref)
    if not p.is_dir():
        matches = [r.path for r in runs.list_runs(root) if r.id == ref or r.id.startswith(ref)]
        if len(matches) != 1:
            raise BaselineError(f"no single run matches {ref!r}" + (f" ({len(matches)} do)" if matches else "")
                                + "; `ftd runs` lists them")
        p = matches[0]
    if not (p / "scenarios.json").is_file() or not (p / runs.JUDGMENTS).is_file():
        raise BaselineError(f"run {p.name} has no frozen scenarios or judgments to compare against")
    if ((runs.read_json(p / runs.MANIFEST) or {}).get("settings") or {}).get("smoke"):
        raise BaselineError(f"run {p.name} is a smoke run: compare against a full baseline")
    return p


def describe_changes(changed: list[str]) -> str:
    names = {"rubric": "the rubric", "taxonomy": "the taxonomy", "personas": "the persona template",
             "user_sim": "the user simulator prompt", "assistant": "the assistant prompt", "system_prompt": "the system prompt",
             "knowledge": "the knowledge files", "settings": "ftd.yaml (models, budget or eval)",
             "effective_models": "the model roles (ftd.yaml or your user config)", "scenarios": "eval/scenarios.yaml"}
    return ", ".join(names.get(c, c) for c in changed)


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str)


@dataclass
class Plan:
    """What F5 would do, worked out without writing anything."""

    inputs: Inputs
    scenarios: list[dict]
    resume: runs.RunInfo | None  # the run Enter would continue
    live: runs.RunInfo | None  # a run some process is writing right now
    latest: runs.RunInfo | None
    changed: list[str]  # why the latest run cannot be resumed
    drawn: bool  # eval/scenarios.yaml does not exist yet: Enter draws it
    records: list[dict]


def plan(project: Project, settings: dict | None = None, *, smoke: bool = False, fresh: bool = False) -> Plan:
    inputs = gather(project, settings)
    full, _, drawn = load_or_draw(inputs, None, False, write=False)
    scen = smoke_selection(full) if smoke else full
    all_runs = runs.list_runs(project.root)
    live = next((r for r in all_runs if r.holder is not None), None)
    same = [r for r in all_runs if r.smoke == smoke]
    latest = same[0] if same else None
    hashes = runs.input_hashes(project)
    hashes["effective_models"] = runs.digest(inputs.settings.get("models"))
    changed: list[str] = []
    resume = None
    if latest is not None and not fresh:
        old = runs.read_json(latest.path / runs.MANIFEST) or {}
        changed = runs.changed(old.get("hashes") or {}, hashes)
        if scenarios_changed(latest.path, full, smoke):
            changed.append("scenarios")
        if not changed:
            resume = latest
            frozen = runs.read_json(latest.path / "scenarios.json")
            if isinstance(frozen, list):
                scen = frozen
    recs = runs.read_jsonl(resume.path / runs.CALLS) if resume is not None else []
    return Plan(inputs, scen, resume, live, latest, changed, drawn, recs)
