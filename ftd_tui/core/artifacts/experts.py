"""critiques/experts.yaml: the fictional expert panels for the role-play critique."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..rules.diagnostics import Diagnostic
from .common import Where, schema_errors, show, unknown_keys

PANELS = ("taxonomy", "rubric", "personas", "prompts")
REQUIRED_KINDS = (("researcher", "a critical researcher"), ("advocate", "an advocate for a vulnerable population"),
                  ("ml_evaluator", "an AI/ML evaluation expert"))


class Expert(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    fictional: bool
    kind: Literal["practitioner", "researcher", "advocate", "ml_evaluator", "other"]
    school: str | None = None
    background: str = Field(min_length=1)
    blind_spot: str = Field(min_length=1)


class DifficultUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    fictional: bool
    description: str = Field(min_length=1)


class Panel(BaseModel):
    model_config = ConfigDict(extra="ignore")
    experts: list[Expert] = Field(default_factory=list)
    difficult_users: list[DifficultUser] = Field(default_factory=list)


class ExpertsFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    panels: dict[Literal["taxonomy", "rubric", "personas", "prompts"], Panel]


def check_experts(data: Any, where: Where) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    _, errs = schema_errors(ExpertsFile, data, where, "EXP002")
    diags.extend(errs)
    if not isinstance(data, dict):
        return diags
    diags.extend(unknown_keys(ExpertsFile, data, where))
    panels = data.get("panels") if isinstance(data.get("panels"), dict) else {}
    for name in PANELS:
        panel = panels.get(name)
        if not isinstance(panel, dict):
            diags.append(where.diag("EXP004", ("panels",), f"no '{name}' panel", key=True))
            continue
        path = ("panels", name)
        experts = [e for e in panel.get("experts") or [] if isinstance(e, dict)] if isinstance(panel.get("experts"), list) else []
        if not 5 <= len(experts) <= 7:
            diags.append(where.diag("EXP004", path, f"the {name} panel has {len(experts)} experts; the critique uses 5-7", key=True))
        if not experts:
            continue  # one finding is enough for an empty panel
        for i, e in enumerate(experts):
            if e.get("fictional") is not True:
                diags.append(where.diag("EXP003", path + ("experts", i), f"expert {show(e.get('name'))} is not labelled fictional: true",
                                        "never put opinions in the mouth of a real person"))
        kinds = [e.get("kind") for e in experts]
        schools = {str(e.get("school")).strip().lower() for e in experts if e.get("kind") == "practitioner" and e.get("school")}
        if kinds.count("practitioner") < 2 or len(schools) < 2:
            diags.append(where.diag("EXP005", path, f"the {name} panel needs two practitioners of different schools", key=True))
        for kind, label in REQUIRED_KINDS:
            if kind not in kinds:
                diags.append(where.diag("EXP005", path, f"the {name} panel lacks {label} (kind: {kind})", key=True))
        users = panel.get("difficult_users") if isinstance(panel.get("difficult_users"), list) else []
        if not users:
            diags.append(where.diag("EXP006", path, f"the {name} panel has no fictional difficult users",
                                    "add a few: previously burned, in crisis, another culture, non-standard communication, gaming the system", key=True))
        for i, u in enumerate(users):
            if isinstance(u, dict) and u.get("fictional") is not True:
                diags.append(where.diag("EXP003", path + ("difficult_users", i), f"difficult user {show(u.get('name'))} is not labelled fictional: true"))
    return diags
