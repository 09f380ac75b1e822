"""config/rubric.yaml: binary criteria, weighted categories, safety gates, calibration examples."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..diagnostics import Diagnostic
from .common import Where, fmt, number, schema_errors, show, unknown_keys, weights_sum_ok
from .settings import Checks

PASS_SIDE = {"PASS", "BORDERLINE_PASS"}
FAIL_SIDE = {"FAIL", "BORDERLINE_FAIL"}
EXAMPLE_TYPES = ("PASS", "FAIL", "BORDERLINE_PASS", "BORDERLINE_FAIL", "NA", "UNREVIEWED")

# Numeric scales drift across assessors; binary judgments are consistent.
_SCALE = re.compile(
    r"\b(?:on a scale|scale of|rate\b|rating|score (?:from|of|between)|how well|how much|how many points"
    r"|to what extent|to what degree|from 1 to|1\s*(?:-|–|to)\s*(?:5|7|10)\b|\d+\s*/\s*(?:5|10)\b|likert)",
    re.I,
)
_YES_NO_START = re.compile(
    r"^(?:does|do|did|is|are|was|were|has|have|had|can|could|would|will|should|if|when|after|before|"
    r"in|during|where|given|for|at|when|across|throughout|whenever)\b",
    re.I,
)


class Example(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["PASS", "FAIL", "BORDERLINE_PASS", "BORDERLINE_FAIL", "NA", "UNREVIEWED"]
    context: str = ""
    response: str = ""
    reasoning: str = ""
    suggested_type: str | None = None


class Criterion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)
    question: str = Field(min_length=1)
    category: str | None = None
    na_valid: bool
    min_turns: int | None = Field(None, ge=1)
    description: str | None = None
    calibration_examples: list[Example] = Field(default_factory=list)


class Category(BaseModel):
    model_config = ConfigDict(extra="ignore")
    weight: float = Field(ge=0, le=1)
    criteria: list[str] = Field(default_factory=list)
    description: str | None = None


class Scoring(BaseModel):
    model_config = ConfigDict(extra="ignore")
    na: Literal["skip", "pass"] = "skip"
    error: Literal["fail", "skip"] = "fail"
    gates_weighted: bool = False
    empty_category: Literal["one", "renormalise"] = "one"


class Rubric(BaseModel):
    model_config = ConfigDict(extra="ignore")
    categories: dict[str, Category]
    criteria: dict[str, Criterion]
    safety_gates: list[str] = Field(default_factory=list)
    pass_threshold: float | None = None
    scoring: Scoring = Scoring()


def _words(text: Any) -> int:
    return len(str(text).split()) if isinstance(text, str) else 0


def check_rubric(data: Any, where: Where, checks: Checks) -> tuple[Rubric | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    rubric, errs = schema_errors(Rubric, data, where, "RUB001")
    diags.extend(errs)
    if not isinstance(data, dict):
        return None, diags
    diags.extend(unknown_keys(Rubric, data, where))
    criteria = data.get("criteria") if isinstance(data.get("criteria"), dict) else {}
    categories = data.get("categories") if isinstance(data.get("categories"), dict) else {}
    gates_raw = data.get("safety_gates")
    gates = [g for g in gates_raw if isinstance(g, str)] if isinstance(gates_raw, list) else []
    scoring = data.get("scoring") if isinstance(data.get("scoring"), dict) else {}
    gates_weighted = scoring.get("gates_weighted") is True
    lo, hi = checks.calibration_examples.min, checks.calibration_examples.max

    # gates
    for i, g in enumerate(gates_raw if isinstance(gates_raw, list) else []):
        if isinstance(g, str) and g not in criteria:
            diags.append(where.diag("RUB010", ("safety_gates", i), f"safety gate '{show(g)}' is not a defined criterion"))
    if not gates:
        diags.append(where.diag("RUB015", ("safety_gates",) if "safety_gates" in data else (),
                                "no safety gates: a conversation with a harmful reply could still pass on its score",
                                "list the criteria whose failure must reject a conversation", key=True))
    threshold = data.get("pass_threshold")
    if "pass_threshold" not in data:
        diags.append(where.diag("RUB016", (), "no pass_threshold", "add pass_threshold: 0.80"))
    elif number(threshold) is not None and not (0 < threshold <= 1):
        diags.append(where.diag("RUB016", ("pass_threshold",), f"pass_threshold {fmt(threshold)} is outside (0, 1]"))

    # categories and membership
    member_of: dict[str, list[str]] = {}
    for cname, cat in categories.items():
        if not isinstance(cat, dict):
            continue
        crit_list = cat.get("criteria") if isinstance(cat.get("criteria"), list) else []
        for j, cid in enumerate(crit_list):
            if not isinstance(cid, str):
                continue
            if cid not in criteria:
                diags.append(where.diag("RUB011", ("categories", cname, "criteria", j),
                                        f"category '{show(cname)}' lists '{show(cid)}', which is not a defined criterion"))
            member_of.setdefault(cid, []).append(cname)
    for cid, cats in member_of.items():
        if len(cats) > 1 and cid in criteria:
            diags.append(where.diag("RUB019", ("criteria", cid), f"criterion '{show(cid)}' is listed in {len(cats)} categories: "
                                    + ", ".join(show(c) for c in cats), key=True))

    weighted: list[tuple[str, Any]] = []
    for cname, cat in categories.items():
        if not isinstance(cat, dict):
            continue
        crit_list = [c for c in (cat.get("criteria") or []) if isinstance(c, str)] if isinstance(cat.get("criteria"), list) else []
        non_gate = [c for c in crit_list if gates_weighted or c not in gates]
        w = number(cat.get("weight"))
        if crit_list and not non_gate:
            if w and w > 0:
                diags.append(where.diag("RUB014", ("categories", cname, "weight"),
                                        f"category '{show(cname)}' holds only safety gates but has weight {fmt(w)}",
                                        "gates reject on failure instead of scoring: set its weight to 0 (scoring.gates_weighted: false)"))
            continue
        if not crit_list:
            if w and w > 0:
                diags.append(where.diag("RUB022", ("categories", cname), f"category '{show(cname)}' has weight {fmt(w)} but no criteria", key=True))
            continue
        weighted.append((cname, cat.get("weight")))
    if weighted:
        ok, total = weights_sum_ok([w for _, w in weighted], checks.weight_tolerance)
        if not ok and total is not None:
            diags.append(where.diag("RUB002", ("categories",),
                                    f"weights of the {len(weighted)} scored categories sum to {fmt(total)}, not 1.0",
                                    "categories holding only gates count as weight 0 and are left out of the sum", key=True))

    # criteria
    for cid, crit in criteria.items():
        path = ("criteria", cid)
        if not isinstance(crit, dict):
            continue
        q = crit.get("question")
        if isinstance(q, str):
            if _SCALE.search(q):
                diags.append(where.diag("RUB009", path + ("question",), f"{show(cid)} asks for a scale, not YES / NO: {show(q)}",
                                        "split it into binary questions; numeric scales drift across judges"))
            elif not q.rstrip().endswith("?") or not _YES_NO_START.match(q.strip()):
                diags.append(where.diag("RUB020", path + ("question",), f"{show(cid)}'s question may not be answerable YES / NO: {show(q)}",
                                        "start with Does / Is / Did … and end with '?'"))
        cat_name = crit.get("category")
        if isinstance(cat_name, str):
            if cat_name not in categories:
                diags.append(where.diag("RUB012", path + ("category",), f"{show(cid)} names category '{show(cat_name)}', which does not exist"))
            elif cat_name not in member_of.get(cid, []):
                diags.append(where.diag("RUB012", path + ("category",),
                                        f"{show(cid)} says category '{show(cat_name)}' but that category's criteria list does not include it"))
        if cid not in member_of and cid not in gates:
            diags.append(where.diag("RUB013", path, f"{show(cid)} is in no category and is not a safety gate: it is never scored",
                                    "add it to a category's criteria list", key=True))
        na_valid = crit.get("na_valid")
        examples = crit.get("calibration_examples")
        if not isinstance(examples, list):
            examples = []
        counted = [e for e in examples if isinstance(e, dict) and e.get("type") in EXAMPLE_TYPES and e.get("type") != "UNREVIEWED"]
        unreviewed = [e for e in examples if isinstance(e, dict) and e.get("type") == "UNREVIEWED"]
        types = [e.get("type") for e in counted]
        ex_path = path + ("calibration_examples",) if "calibration_examples" in crit else path
        if len(counted) < lo:
            diags.append(where.diag("RUB003", ex_path, f"{show(cid)} has {len(counted)} calibration example(s); at least {lo} are needed",
                                    "unambiguous criteria 3, judgment calls 4-5, highly subjective 6-8", key=True))
        elif len(counted) > hi:
            diags.append(where.diag("RUB004", ex_path, f"{show(cid)} has {len(counted)} calibration examples; more than {hi} crowds the judge prompt", key=True))
        if counted and not any(t in PASS_SIDE for t in types):
            diags.append(where.diag("RUB005", ex_path, f"{show(cid)} has no PASS or BORDERLINE_PASS example", key=True))
        if counted and not any(t in FAIL_SIDE for t in types):
            diags.append(where.diag("RUB006", ex_path, f"{show(cid)} has no FAIL or BORDERLINE_FAIL example", key=True))
        if unreviewed:
            diags.append(where.diag("RUB017", ex_path, f"{show(cid)} has {len(unreviewed)} machine-suggested example(s) typed UNREVIEWED; "
                                    "they count once a person gives them a type", key=True))
        for j, e in enumerate(examples):
            if not isinstance(e, dict):
                continue
            ep = ex_path + (j,)
            if e.get("type") == "NA" and na_valid is False:
                diags.append(where.diag("RUB007", ep + ("type",), f"{show(cid)} has an NA example but na_valid is false",
                                        "either set na_valid: true or retype the example"))
            if e.get("type") in EXAMPLE_TYPES and e.get("type") != "UNREVIEWED":
                if _words(e.get("response")) < checks.example_min_words:
                    diags.append(where.diag("RUB018", ep + ("response",) if "response" in e else ep,
                                            f"{show(cid)} example {j + 1}: the response has {_words(e.get('response'))} words; "
                                            "realistic length anchors a judge",
                                            key="response" not in e))
                if not isinstance(e.get("reasoning"), str) or not e.get("reasoning").strip():
                    diags.append(where.diag("RUB021", ep, f"{show(cid)} example {j + 1} has no reasoning",
                                            "say why, evidence first: the judge learns the line from it"))
        if na_valid is True and counted and "NA" not in types:
            diags.append(where.diag("RUB008", ex_path, f"{show(cid)} allows NA but no example shows when NA applies", key=True))
    return rubric, diags
