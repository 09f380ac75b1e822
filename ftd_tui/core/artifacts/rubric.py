"""config/rubric.yaml: binary criteria, weighted categories, safety gates, calibration examples."""

from __future__ import annotations

import re
import difflib
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..evaluation.computed import KINDS as CHECK_KINDS
from ..evaluation.computed import regex_problem
from ..rules.diagnostics import Diagnostic
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


# ---- computed criteria: `check:` (answered by ftd, core/evaluation/computed.py). check_problems is the one
# authority on a check's shape: check_rubric turns its findings into located RUB023 / RUB024, and
# the model refuses the same input, so a rubric the run accepts is one `ftd check` accepts.
CHECK_FIELDS: dict[str, dict[str, bool]] = {  # kind -> field -> required
    "length_ratio": {"max": True, "share": False},
    "questions_per_reply": {"max": True},
    "phrases": {"list": True},
    "regex": {"pattern": True, "match": False},
}
REGEX_MATCH = ("absent", "present")


def _num_ok(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def check_problems(check: Any) -> list[tuple[tuple, str, str, str, bool]]:
    """(path below `check`, rule, message, hint, key?) for every problem; empty when usable."""
    kinds = ", ".join(CHECK_KINDS)
    if not isinstance(check, dict):
        return [((), "RUB023", "check must be a mapping such as {kind: length_ratio, max: 2.0}", f"kinds: {kinds}", False)]
    kind = check.get("kind")
    if "kind" not in check:
        return [((), "RUB023", "check has no kind", f"add kind: one of {kinds}", True)]
    if not isinstance(kind, str) or kind not in CHECK_FIELDS:
        close = difflib.get_close_matches(str(kind), list(CHECK_KINDS), n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"kinds: {kinds}"
        return [(("kind",), "RUB023", f"unknown check kind '{show(kind)}'", hint, False)]
    out: list[tuple[tuple, str, str, str, bool]] = []
    fields = CHECK_FIELDS[kind]
    for key in check:
        if key != "kind" and key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"a {kind} check takes: {', '.join(fields)}"
            out.append(((key,), "RUB023", f"unknown field '{show(key)}' in a {kind} check", hint, True))
    for key, required in fields.items():
        if key not in check:
            if required:
                out.append(((), "RUB023", f"a {kind} check needs '{key}'", _FIELD_HINT[(kind, key)], True))
            continue
        v = check[key]
        bad = {
            ("length_ratio", "max"): not (_num_ok(v) and v > 0),
            ("length_ratio", "share"): not (_num_ok(v) and 0 <= v <= 1),
            ("questions_per_reply", "max"): not (_num_ok(v) and v >= 0 and float(v).is_integer()),
            ("phrases", "list"): not (isinstance(v, list) and v and all(isinstance(p, str) and p.strip() for p in v)),
            ("regex", "pattern"): not (isinstance(v, str) and v),
            ("regex", "match"): v not in REGEX_MATCH,
        }[(kind, key)]
        if bad:
            out.append(((key,), "RUB023", f"{kind} {key} {show(v)!s} is not {_FIELD_HINT[(kind, key)]}", "", False))
        elif (kind, key) == ("regex", "pattern"):
            why = regex_problem(v)
            if why:
                out.append(((key,), "RUB024", f"the regex {show(v)} {why}",
                            "write (?i) for case-insensitive; a pattern is searched in each assistant reply", False))
    return out


_FIELD_HINT = {
    ("length_ratio", "max"): "a number above 0 (assistant words per user word, e.g. 2.0)",
    ("length_ratio", "share"): "a number in 0..1 (the share of exchanges that may exceed max; default 0)",
    ("questions_per_reply", "max"): "a whole number of question sentences, 0 or more",
    ("phrases", "list"): "a non-empty list of non-empty phrases",
    ("regex", "pattern"): "a non-empty regular expression",
    ("regex", "match"): "absent (no reply may match, the default) or present (every reply must match)",
}


class _Check(BaseModel):
    model_config = ConfigDict(extra="ignore")
    open_keys: ClassVar[bool] = True  # its fields are checked by check_problems (RUB023), not KEY001


class LengthRatioCheck(_Check):
    kind: Literal["length_ratio"]
    max: float
    share: float = 0.0


class QuestionsCheck(_Check):
    kind: Literal["questions_per_reply"]
    max: int


class PhrasesCheck(_Check):
    kind: Literal["phrases"]
    list: list[str]


class RegexCheck(_Check):
    kind: Literal["regex"]
    pattern: str
    match: Literal["absent", "present"] = "absent"


Check = Annotated[Union[LengthRatioCheck, QuestionsCheck, PhrasesCheck, RegexCheck], Field(discriminator="kind")]


class Criterion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)
    question: str = Field(min_length=1)
    category: str | None = None
    na_valid: bool
    min_turns: int | None = Field(None, ge=1)
    description: str | None = None
    calibration_examples: list[Example] = Field(default_factory=list)
    check: Check | None = None  # answered by ftd from the transcript, never by a judge
    stats: bool | None = None  # the judge gets the length / question statistics (None: by the criterion's topic)

    @field_validator("check", mode="before")
    @classmethod
    def _usable_check(cls, value: Any) -> Any:
        if value is not None:
            problems = check_problems(value)
            if problems:
                raise ValueError(problems[0][2])
        return value


class Category(BaseModel):
    model_config = ConfigDict(extra="ignore")
    weight: float = Field(ge=0, le=1)
    criteria: list[str] = Field(default_factory=list)
    description: str | None = None
    min_score: float | None = None  # a floor: a conversation scoring below it here fails, whatever the total

    @field_validator("min_score", mode="before")
    @classmethod
    def _floor(cls, value: Any) -> Any:
        if value is not None and not (_num_ok(value) and 0 <= value <= 1):
            raise ValueError("min_score must be a number in 0..1")
        return value


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
    own, data_for_schema = _new_field_problems(data, where)  # RUB023-025, not also RUB001
    rubric, errs = schema_errors(Rubric, data_for_schema, where, "RUB001")
    diags.extend(errs)
    diags.extend(own)
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
        if "check" in crit:
            continue  # computed by ftd: no judge sees it, so calibration examples are not asked for
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

    # category floors that can never apply: the category scores nothing
    if rubric is not None:
        from ..evaluation.scoring import scored_members

        for cname, cat in rubric.categories.items():
            if cat.min_score is not None and not scored_members(rubric, cname):
                diags.append(where.diag("RUB025", ("categories", cname, "min_score"),
                                        f"category '{show(cname)}' has min_score {fmt(cat.min_score)} but scores nothing "
                                        "(it holds no criteria, or only safety gates)",
                                        "gates reject on their own; put the floor on a category with scored criteria"))
        # slack measured against weights that do not sum, or a threshold no score can reach, is noise
        if not any(d.rule in ("RUB002", "RUB016") for d in diags):
            diags.extend(_slack_diag(rubric, data, where))
    return rubric, diags


def _new_field_problems(data: Any, where: Where) -> tuple[list[Diagnostic], Any]:
    """Located RUB023 / RUB024 (check) and RUB025 (min_score outside 0..1), and the data with
    those values taken out, so the schema does not report them a second time as RUB001."""
    if not isinstance(data, dict):
        return [], data
    out: list[Diagnostic] = []
    copy = dict(data)
    criteria = data.get("criteria")
    if isinstance(criteria, dict):
        crit_copy = dict(criteria)
        for cid, crit in criteria.items():
            if not isinstance(crit, dict) or crit.get("check") is None:
                continue
            problems = check_problems(crit["check"])
            for sub, rule, msg, hint, key in problems:
                path = ("criteria", cid, "check") + sub
                out.append(where.diag(rule, path, f"{show(cid)}: {msg}", hint, key=key))
            if problems:
                crit_copy[cid] = {k: v for k, v in crit.items() if k != "check"}
        copy["criteria"] = crit_copy
    categories = data.get("categories")
    if isinstance(categories, dict):
        cat_copy = dict(categories)
        for cname, cat in categories.items():
            if not isinstance(cat, dict) or cat.get("min_score") is None:
                continue
            v = cat["min_score"]
            if not (_num_ok(v) and 0 <= v <= 1):
                out.append(where.diag("RUB025", ("categories", cname, "min_score"),
                                      f"category '{show(cname)}' min_score {show(v)} is not a number in 0..1",
                                      "a floor on the category score, e.g. min_score: 0.5"))
                cat_copy[cname] = {k: w for k, w in cat.items() if k != "min_score"}
        copy["categories"] = cat_copy
    return out, copy


def _slack_diag(rubric: Rubric, data: dict, where: Where) -> list[Diagnostic]:
    """RUB026 (info): what the threshold really allows, on pass_threshold."""
    from ..evaluation.scoring import slack, slack_text

    result = slack(rubric)
    if result is None:
        return []
    path = ("pass_threshold",) if "pass_threshold" in data else ()
    return [where.diag("RUB026", path, slack_text(result), "assumes every other answer YES and no NA; floors apply",
                       key=not path)]
