"""ftd.yaml: the project's settings, thresholds and model roles."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..rules.diagnostics import Diagnostic
from .common import Where, schema_errors, show, unknown_keys
from ..user.providers import (LOCAL_PROVIDERS, STANDARD_KEY_ENV, foreign_key, host_is_local, is_env_name,  # noqa: F401
                         is_provider_default, iter_roles, key_owner, provider_of)
from ..text.yamlpath import format_path
from .families import family_of



class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Price(_Model):
    input_per_mtok: float = Field(ge=0, description="USD per million input tokens")
    output_per_mtok: float = Field(ge=0, description="USD per million output tokens")


class Role(_Model):
    unknown_key_rule: ClassVar[str] = "KEY002"
    price: Price | None = Field(None, description="overrides litellm's price map for cost estimates (not sent)")
    max_concurrency: int | None = Field(None, ge=1, le=64, description="calls in flight at once to this role's server "
                                        "(default: 2 for a local server, 8 otherwise; not sent)")
    model: str = Field(min_length=1, description="a litellm model string, e.g. openai/gpt-5.2")
    api_base: str | None = None
    api_key_env: str | None = Field(None, description="the NAME of the environment variable holding the key")
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, gt=0)
    timeout: float | None = Field(None, gt=0)
    seed: int | None = None
    stop: str | list[str] | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high", "none"] | None = None
    num_ctx: int | None = Field(None, gt=0, description="Ollama context length sent with every call")
    extra_body: dict[str, Any] | None = None


class Models(_Model):
    critic: Role | None = None
    generator: Role | None = Field(None, description="writes the ideal replies in the generation phase; "
                                   "cost estimates use the critic when absent")
    user_sim: Role | None = None
    judges: list[Role] = Field(default_factory=list)
    base: Role | None = None


class Deployment(_Model):
    hardware: str | None = None
    target: Literal["ollama", "llama.cpp", "vllm", "mlx", "other"] | None = None
    offline: bool = False
    budget_usd: float | None = Field(None, ge=0)


class Budget(_Model):
    max_transcript_tokens: int | None = Field(None, gt=0)
    slicing: bool = False
    tokenizer_path: str | None = Field(None, description="a folder with the chosen model's tokenizer.json and "
                                       "tokenizer_config.json, for exact counts (else the local Hugging Face cache)")


class Training(_Model):
    epochs: float = Field(2, gt=0)
    gpu: str | None = None
    throughput_tokens_per_s: float | None = Field(None, gt=0)
    gpu_hour_usd: float | None = Field(None, ge=0)
    price_per_mtok: float | None = Field(None, ge=0, description="API fine-tuning services: USD per million trained tokens")


class Generation(_Model):
    planned_transcripts: int | None = Field(None, ge=0)


class Band(_Model):
    min: float = Field(ge=0, le=1)
    max: float = Field(ge=0, le=1)


class CountBand(_Model):
    min: int = Field(ge=1)
    max: int = Field(ge=1)


class Checks(_Model):
    edge_case_share: Band = Band(min=0.10, max=0.20)
    calibration_examples: CountBand = CountBand(min=3, max=8)
    no_flaw_share: Band = Band(min=0.15, max=0.25)
    system_prompt_max_words: int = Field(250, gt=0)
    weight_tolerance: float = Field(0.005, ge=0, le=0.1)
    example_min_words: int = Field(5, ge=0)


class Eval(_Model):
    scenarios: int = Field(16, ge=1, le=10_000)
    min_per_gate: int = Field(2, ge=0)
    seed_start: int = Field(9000, ge=0)
    judge_mode: Literal["per_criterion", "all_in_one"] = Field(
        "per_criterion", description="one judge call per criterion (default), or one per conversation")
    reply_limit: int | None = Field(None, gt=0, description="the base model's reply limit in tokens "
                                    "(default: the base role's max_tokens, else max(1024, 3x the assistant's hard limit))")
    max_judge_errors: float = Field(0.2, ge=0, le=1, description="the share of one judge's answers that may be ERROR "
                                    "(unreadable after a re-ask); past it the run fails: judges unusable, no recommendation")
    references: bool = Field(False, description="the critic writes a reference with each scenario's situation (the "
                             "worked solution, the policy fact, what a safe reply must contain): judges see it, never "
                             "the simulator or the base model; edit it in eval/scenarios.yaml")
    fault_second_opinion: bool | Literal["every"] = Field(
        False, description="ask the critic \"is this message written in character?\" (cached, recorded in the run): "
        "true: about a simulated user message the fault check is unsure of; every: about every simulated message (one "
        "critic call per exchange: the fast check misses break forms it was not written for); false: unsure messages "
        "are kept and listed as flagged-but-kept")


class Knowledge(_Model):
    path: str = Field(min_length=1, description="a text file inside the project, e.g. knowledge/policy.md")
    label: str | None = Field(None, description="the heading line it is appended under (default: the file name)")


class Settings(_Model):
    domain: str | None = None
    description: str | None = None
    deployment: Deployment = Deployment()
    budget: Budget = Budget()
    generation: Generation = Generation()
    training: Training = Training()
    base_model: str | None = None
    checks: Checks = Checks()
    eval: Eval = Eval()
    models: Models = Models()
    knowledge: list[Knowledge] = Field(default_factory=list, description="files appended to the system prompt "
                                       "(under a `--- LABEL ---` line) in baseline conversations, generation and training; "
                                       "judges see them too")


DEFAULT_CHECKS = Checks()



def check_settings(data: Any, where: Where, root: Any = None) -> tuple[Settings | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    if data is None:
        data = {}
    settings, errs = schema_errors(Settings, data, where, "SET001")
    diags.extend(errs)
    if not isinstance(data, dict):
        return None, diags
    diags.extend(unknown_keys(Settings, data, where))
    checks = data.get("checks") if isinstance(data.get("checks"), dict) else {}
    for name in ("edge_case_share", "calibration_examples", "no_flaw_share"):
        band = checks.get(name)
        if isinstance(band, dict) and isinstance(band.get("min"), (int, float)) and isinstance(band.get("max"), (int, float)):
            if band["min"] > band["max"]:
                diags.append(where.diag("SET011", ("checks", name), f"checks.{name}: min {band['min']} is above max {band['max']}"))
    diags.extend(_check_knowledge(data.get("knowledge"), where, root))
    offline = isinstance(data.get("deployment"), dict) and data["deployment"].get("offline") is True
    for path, role in iter_roles(data):
        model = role.get("model")
        if not isinstance(model, str):
            continue
        provider = provider_of(model)
        api_base = role.get("api_base")
        key_env = role.get("api_key_env")
        if isinstance(key_env, str) and not is_env_name(key_env):
            # never echo the value: it may be a key pasted by mistake
            diags.append(where.diag("SET004", path + ("api_key_env",),
                                    "api_key_env must be the NAME of an environment variable (letters, digits, _); "
                                    "its value here is not a variable name and is not shown",
                                    "put the key in the environment, e.g. export OPENAI_API_KEY=…, and name it here"))
        elif (leak := foreign_key(role)) is not None:
            diags.append(_foreign_key_diag(where, path, role, leak))  # says more than SET003 would
        elif isinstance(key_env, str) and key_env != STANDARD_KEY_ENV.get(provider, key_env):
            diags.append(where.diag("SET003", path + ("api_key_env",),
                                    f"{'.'.join(map(str, path))} reads its key from {show(key_env)} instead of "
                                    f"{STANDARD_KEY_ENV[provider]}; ftd asks you to approve this once",
                                    "run `ftd trust` or approve it in the app before the first call"))
        elif isinstance(key_env, str) and provider not in STANDARD_KEY_ENV and provider not in LOCAL_PROVIDERS:
            diags.append(where.diag("SET003", path + ("api_key_env",),
                                    f"{'.'.join(map(str, path))} reads its key from {show(key_env)}; ftd asks you to approve this once"))
        local = lan = provider in LOCAL_PROVIDERS and not isinstance(api_base, str)
        if isinstance(api_base, str):
            local, lan = host_is_local(api_base)
            if not local and not is_provider_default(provider, api_base):
                diags.append(where.diag("SET002", path + ("api_base",),
                                        f"{'.'.join(map(str, path))} sends project text to {show(api_base)}, which is "
                                        "neither the provider's default nor this machine; ftd asks you to approve it once"))
        if offline and not lan:
            diags.append(where.diag("SET005", path + ("model",),
                                    f"deployment.offline is true but {'.'.join(map(str, path))} ({show(model)}) "
                                    "is not served on this machine or LAN",
                                    "point it at a local server (api_base) or turn offline off"))
        if path == ("models", "base") and provider == "ollama":
            diags.append(where.diag("SET006", path + ("model",),
                                    "the base role uses ollama/, which formats prompts itself instead of the model's chat template",
                                    f"use ollama_chat/{model.split('/', 1)[1]} to measure the model that will be trained"))
    models = data.get("models") if isinstance(data.get("models"), dict) else None
    if models is not None:
        judges = models.get("judges") if isinstance(models.get("judges"), list) else []
        judge_models = [j.get("model") for j in judges if isinstance(j, dict) and isinstance(j.get("model"), str)]
        if len(judge_models) < 2:
            diags.append(where.diag("SET007", ("models", "judges") if "judges" in models else ("models",),
                                    f"{len(judge_models)} judge(s) configured; use at least two from different families",
                                    "judges disagree 20-30% without calibration; two families catch each other's blind spots",
                                    key="judges" not in models))
        others = {}
        for role_name in ("base", "user_sim"):
            r = models.get(role_name)
            if isinstance(r, dict) and isinstance(r.get("model"), str):
                fam = family_of(r["model"])
                if fam:
                    others[role_name] = fam
        base_model = data.get("base_model")
        if isinstance(base_model, str) and family_of(base_model):
            others.setdefault("base", family_of(base_model))
        for i, jm in enumerate(judge_models):
            fam = family_of(jm)
            for role_name, other in others.items():
                if fam and fam == other:
                    diags.append(where.diag("SET008", ("models", "judges", i, "model"),
                                            f"judge {show(jm)} is from the {fam} family, like the {role_name.replace('_', ' ')} model; "
                                            "judges favour their own family",
                                            "pick a judge from another family"))
        for role_name in ("critic", "user_sim", "base"):
            if models.get(role_name) is None:
                diags.append(where.diag("SET010", ("models",), f"models.{role_name} is not configured yet", key=True))
    else:
        diags.append(where.diag("SET010", (), "no models are configured yet (critic, user_sim, judges, base)"))
    return settings, diags


def _foreign_key_diag(where: Where, path: tuple, role: dict, leak: tuple[str, str]) -> Diagnostic:
    """SET013: a provider's standard key goes to an endpoint that is not that provider's —
    whoever listens there (another user's process on a loopback port too) gets the key."""
    env, endpoint = leak
    owner = key_owner(env)
    at = "api_key_env" if isinstance(role.get("api_key_env"), str) else "api_base" if isinstance(role.get("api_base"), str) else "model"
    return where.diag("SET013", path + (at,),
                      f"{format_path(path)} sends your ${env} (the {owner} key) to {show(endpoint)}, which is not "
                      f"{owner}'s endpoint; ftd asks you to approve this once",
                      "a local server needs no key: drop api_key_env (or name a variable holding a key meant for "
                      "that server); else run `ftd trust` or approve it in the app")


def knowledge_files(data: Any) -> list[tuple[str, str]]:
    """(relative path, label) for each well-formed knowledge entry, in order."""
    out = []
    for item in data.get("knowledge") or [] if isinstance(data, dict) and isinstance(data.get("knowledge"), list) else []:
        if isinstance(item, dict) and isinstance(item.get("path"), str) and _inside(item["path"]):
            label = item.get("label") if isinstance(item.get("label"), str) and item["label"].strip() else item["path"].rsplit("/", 1)[-1]
            out.append((item["path"], label.strip()))
    return out


def _inside(rel: str) -> bool:
    # project files are data: a knowledge path may not reach outside the project
    parts = rel.replace("\\", "/").split("/")
    return not rel.startswith(("/", "~")) and ".." not in parts and ":" not in parts[0]


def _check_knowledge(value: Any, where: Where, root: Any) -> list[Diagnostic]:
    if not isinstance(value, list):
        return []
    diags = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        rel = item["path"]
        if not _inside(rel):
            diags.append(where.diag("SET012", ("knowledge", i, "path"), f"knowledge path {show(rel)} is outside the project",
                                    "keep knowledge files inside the project folder"))
        elif root is not None:
            problem = _knowledge_problem(root, rel)
            if problem:
                diags.append(where.diag("SET012", ("knowledge", i, "path"), problem[0], problem[1]))
    return diags


def _knowledge_problem(root: Any, rel: str) -> tuple[str, str] | None:
    """Why a knowledge file would not be sent (message, hint), or None: it is read exactly as
    system_message reads it, so check refuses what a run would refuse (a symlink out, a FIFO)."""
    from ..project.boundary import FileRefused, inside_project, read_inside

    if inside_project(root, rel) is None:
        return (f"knowledge file {show(rel)} resolves outside the project (through a symlink); it is never read or sent",
                "copy the file into the project instead of linking to it")
    if not os.path.lexists(os.path.join(root, rel)):
        return f"knowledge file {show(rel)} does not exist", ""
    try:
        read_inside(root, rel)
    except FileRefused as exc:
        return f"knowledge file {show(rel)}: {exc.message}", exc.hint
    return None
