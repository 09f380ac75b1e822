"""model-choice.md: the chosen base model and the candidates weighed, in front matter."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..rules.diagnostics import Diagnostic, make
from ..text.markdown import MarkdownDoc
from .common import Where, schema_errors, show, unknown_keys

FORMATS = ("gguf", "mlx", "qat", "awq", "gptq", "exl2", "safetensors", "onnx")


class Candidate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    params_b: float | None = Field(None, gt=0)
    context_window: int | None = Field(None, gt=0)
    vocab_size: int | None = Field(None, gt=0)
    formats: list[str] = Field(default_factory=list)
    license: str | None = None
    base_capability: str | None = None
    training_memory_gb: float | None = Field(None, gt=0)
    memory_assumption: str | None = None
    training_cost: str | None = None
    family: str | None = None
    base_pass_rate: float | None = Field(None, ge=0, le=1)
    notes: str | None = None
    source: str | None = None


class ChoiceDeployment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    target: str | None = None
    quantization: str | None = None
    hardware: str | None = None
    notes: str | None = None


class ModelChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    chosen: str | None = None
    method: Literal["qlora", "lora", "full"] | None = None
    deployment: ChoiceDeployment | None = None
    candidates: list[Candidate] = Field(default_factory=list)


# Instruction-tuned ids carry one of these marks; "phi-4" and a few others are
# instruction-tuned without one.
_INSTRUCT = re.compile(r"(?:[-_.](?:it|instruct|chat|sft|dpo|rlhf)\b|instruct|-chat|phi-4|qwen3-\d|smollm\d?-[\d.]+[bm]-instruct)", re.I)

GATE_FACTORS = (
    ("context_window", "context window"),
    ("formats", "quantization formats (GGUF / MLX / QAT)"),
    ("base_capability", "base capability"),
    ("license", "license"),
)


def chosen_candidate(data: Any) -> dict | None:
    if not isinstance(data, dict):
        return None
    chosen = data.get("chosen")
    for c in data.get("candidates") or [] if isinstance(data.get("candidates"), list) else []:
        if isinstance(c, dict) and c.get("id") == chosen:
            return c
    return None


def check_model_choice(doc: MarkdownDoc, file: str) -> tuple[ModelChoice | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    if doc.front_matter_error is not None:
        e = doc.front_matter_error
        return None, [make(e.rule if e.rule.startswith("YML") else "YML001", file, e.line, e.column, e.message)]
    if doc.front_matter is None:
        return None, [make("MOD001", file, 1, 1, "no YAML front matter",
                           "start the file with --- / chosen: … / candidates: … / --- (ftd new shows one)")]
    where = Where(doc.front_matter, file, line_offset=1)
    data = doc.front_matter.data
    choice, errs = schema_errors(ModelChoice, data if data is not None else {}, where, "MOD002")
    diags.extend(errs)
    if not isinstance(data, dict):
        return None, diags
    diags.extend(unknown_keys(ModelChoice, data, where))
    chosen = data.get("chosen")
    if not isinstance(chosen, str) or not chosen.strip():
        diags.append(where.diag("MOD003", ("chosen",) if "chosen" in data else (), "no chosen model",
                                "name the Hugging Face id of the instruction-tuned variant in 'chosen:'", key="chosen" not in data))
    elif not _INSTRUCT.search(chosen):
        diags.append(where.diag("MOD005", ("chosen",), f"{show(chosen)} looks like a base model, not an instruction-tuned variant",
                                "fine-tune the -it / -Instruct variant: the base one has no chat template or turn-taking"))
    cands = data.get("candidates") if isinstance(data.get("candidates"), list) else []
    if not cands:
        diags.append(where.diag("MOD004", ("candidates",) if "candidates" in data else (), "no candidates: the tradeoffs are not documented",
                                "list the models you weighed with context window, formats, capability, memory/cost, license", key=True))
    for i, c in enumerate(cands):
        if not isinstance(c, dict):
            continue
        missing = [label for key, label in GATE_FACTORS if c.get(key) in (None, "", [])]
        if c.get("training_memory_gb") is None and not c.get("training_cost"):
            missing.append("training cost or memory")
        if missing:
            diags.append(where.diag("MOD004", ("candidates", i), f"candidate {show(c.get('id'))} lacks: " + ", ".join(missing)))
    if isinstance(chosen, str) and chosen.strip() and cands and chosen_candidate(data) is None:
        diags.append(where.diag("MOD006", ("chosen",), f"{show(chosen)} is not among the candidates, so its context window is unknown"))
    dep = data.get("deployment")
    if not (isinstance(dep, dict) and dep.get("target")):
        diags.append(where.diag("MOD007", ("deployment",) if "deployment" in data else (), "no deployment target (Ollama, llama.cpp, MLX, vLLM…)", key=True))
    prose = re.sub(r"^#.*$", "", doc.body, flags=re.M)
    if len(prose.split()) < 30:
        diags.append(make("MOD008", file, doc.body_line, 1, "the body holds almost no prose: write down the tradeoffs and why this model"))
    return choice, diags
