"""config/input-taxonomy.yaml: weighted WHAT / HOW / WHO dimensions, edge cases, turn ranges."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..rules.diagnostics import Diagnostic
from .common import Where, fmt, number, schema_errors, show, weights_sum_ok
from .settings import Checks

EDGE_TOPIC = "edge_cases"
RESERVED = {"topics", "turn_ranges", "turn_ranges_by"}


class TurnRange(BaseModel):
    model_config = ConfigDict(extra="ignore")
    min: int = Field(ge=1)
    max: int = Field(ge=1)


class Topic(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)
    weight: float
    subtopics: list[str] = Field(default_factory=list)
    description: str | None = None


class TaxonomyBody(BaseModel):
    """Besides these keys, every other key is a dimension: a map ``option: weight``."""

    model_config = ConfigDict(extra="allow")
    open_keys: ClassVar[bool] = False
    topics: list[Topic]
    turn_ranges_by: str | None = None
    turn_ranges: dict[str, TurnRange] | None = None


class TaxonomyFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    taxonomy: TaxonomyBody
    turn_ranges_by: str | None = None
    turn_ranges: dict[str, TurnRange] | None = None


def dimensions(body: dict) -> dict[str, dict]:
    return {k: v for k, v in body.items() if k not in RESERVED}


OPTION_KEYS = ("weight", "description")


def option_weight(value: Any) -> Any:
    """An option's weight, written ``option: 0.3`` or ``option: {weight: 0.3, description: ...}``
    (the description is what the simulator and the scenario writer read instead of the key)."""
    return value.get("weight") if isinstance(value, dict) else value


def option_description(value: Any) -> str | None:
    d = value.get("description") if isinstance(value, dict) else None
    return d.strip() if isinstance(d, str) and d.strip() else None


def _option_problems(name: str, option: Any, value: dict, path: tuple, where: Where) -> list[Diagnostic]:
    """TAX013: the mapping form of an option: a weight, an optional description, nothing else."""
    import difflib

    out = []
    for k in value:
        if k not in OPTION_KEYS:
            close = difflib.get_close_matches(str(k), OPTION_KEYS, n=1, cutoff=0.6)
            out.append(where.diag("TAX013", path + (k,), f"unknown key '{show(k)}' in option '{show(option)}' of '{show(name)}'",
                                  f"did you mean '{close[0]}'?" if close else "an option takes weight and description",
                                  key=True))
    if "weight" not in value:
        out.append(where.diag("TAX013", path, f"option '{show(option)}' of '{show(name)}' has no weight",
                              "write {weight: 0.3, description: \"...\"}", key=True))
    elif number(value.get("weight")) is None:
        out.append(where.diag("TAX013", path + ("weight",), f"weight of '{show(option)}' in '{show(name)}' is not a number"))
    d = value.get("description")
    if "description" in value and not (isinstance(d, str) and d.strip()):
        out.append(where.diag("TAX013", path + ("description",),
                              f"description of '{show(option)}' in '{show(name)}' must be text",
                              "a phrase about the person, e.g. \"has done this for years and is impatient\""))
    return out


def check_taxonomy(data: Any, where: Where, checks: Checks) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    _, errs = schema_errors(TaxonomyFile, data, where, "TAX001")
    diags.extend(errs)
    if not isinstance(data, dict):
        return diags
    for key in data:
        if key not in ("taxonomy", "turn_ranges", "turn_ranges_by"):
            diags.append(where.diag("KEY001", (key,), f"unknown top-level key '{show(key)}'",
                                    "the taxonomy lives under 'taxonomy:' (turn_ranges may sit beside it)", key=True))
    body = data.get("taxonomy")
    if not isinstance(body, dict):
        return diags
    tol = checks.weight_tolerance
    base = ("taxonomy",)
    topics = body.get("topics")
    edge_weight = None
    if isinstance(topics, list) and topics:
        names: dict[str, int] = {}
        weights = []
        for i, t in enumerate(topics):
            if not isinstance(t, dict):
                continue
            name, w = t.get("name"), t.get("weight")
            weights.append(w)
            if isinstance(w, (int, float)) and not isinstance(w, bool) and w < 0:
                diags.append(where.diag("TAX011", base + ("topics", i, "weight"), f"topic '{show(name)}' has a negative weight"))
            if isinstance(name, str):
                if name in names:
                    diags.append(where.diag("TAX012", base + ("topics", i, "name"), f"topic '{show(name)}' appears twice"))
                names[name] = i
                if name == EDGE_TOPIC:
                    edge_weight = number(w)
            subs = t.get("subtopics")
            if not subs:
                diags.append(where.diag("TAX006", base + ("topics", i), f"topic '{show(name)}' has no subtopics",
                                        "subtopics make the generated situations concrete"))
            for k in t:
                if k not in ("name", "weight", "subtopics", "description"):
                    diags.append(where.diag("KEY001", base + ("topics", i, k), f"unknown key '{show(k)}' in a topic", key=True))
        ok, total = weights_sum_ok(weights, tol)
        if not ok and total is not None:
            diags.append(where.diag("TAX002", base + ("topics",), f"topic weights sum to {fmt(total)}, not 1.0",
                                    "adjust the weights so each draw is a true probability", key=True))
        if EDGE_TOPIC not in names:
            diags.append(where.diag("TAX004", base + ("topics",), "no 'edge_cases' topic",
                                    "add a topic named edge_cases (~15%) with subtopics such as out_of_scope, crisis, hostile", key=True))
        elif edge_weight is not None:
            band = checks.edge_case_share
            share = edge_weight / total if total else edge_weight
            if not (band.min - 1e-9 <= share <= band.max + 1e-9):
                diags.append(where.diag("TAX005", base + ("topics", names[EDGE_TOPIC], "weight"),
                                        f"edge cases are {share:.0%} of topics; the band is {band.min:.0%}-{band.max:.0%}",
                                        "~5% is too few to learn from; ~30% makes the model paranoid"))
    dims = dimensions(body)
    for name, opts in dims.items():
        path = base + (name,)
        if not isinstance(opts, dict) or not opts:
            diags.append(where.diag("TAX001", path, f"dimension '{show(name)}' must be a map of option: weight"))
            continue
        shaped = []
        for o, w in opts.items():
            if isinstance(w, dict):
                shaped.extend(_option_problems(name, o, w, path + (o,), where))
        if shaped:
            diags.extend(shaped)
            continue
        weights = {o: option_weight(w) for o, w in opts.items()}
        bad = [o for o, w in weights.items() if number(w) is None]
        if bad:
            diags.append(where.diag("TAX001", path + (bad[0],), f"weight of '{show(bad[0])}' in '{show(name)}' is not a number"))
            continue
        for o, w in weights.items():
            if w < 0:
                diags.append(where.diag("TAX011", path + (o,) + (("weight",) if isinstance(opts[o], dict) else ()),
                                        f"'{show(o)}' in '{show(name)}' has a negative weight"))
        ok, total = weights_sum_ok(list(weights.values()), tol)
        if not ok:
            diags.append(where.diag("TAX003", path, f"weights of '{show(name)}' sum to {fmt(total)}, not 1.0", key=True))
    if "difficulty" not in dims:
        diags.append(where.diag("TAX010", base, "no 'difficulty' dimension", "add e.g. difficulty: {easy: 0.3, medium: 0.5, hard: 0.2}", key=True))
    others = [d for d in dims if d != "difficulty"]
    if len(others) < 2:
        diags.append(where.diag("TAX009", base, f"only {len(others)} dimension(s) besides topics and difficulty",
                                "describe HOW users communicate and WHO they are as separate weighted dimensions", key=True))
    # turn ranges inside the taxonomy or beside it
    by = body.get("turn_ranges_by", data.get("turn_ranges_by"))
    ranges = body.get("turn_ranges", data.get("turn_ranges"))
    rpath = base + ("turn_ranges",) if "turn_ranges" in body else ("turn_ranges",)
    bypath = base + ("turn_ranges_by",) if "turn_ranges_by" in body else ("turn_ranges_by",)
    if not isinstance(ranges, dict) or not ranges:
        diags.append(where.diag("TAX008", base, "no turn_ranges: how long should conversations be?",
                                "add turn_ranges: {default: {min: 6, max: 20}} or key them by a dimension with turn_ranges_by", key=True))
        return diags
    for key, r in ranges.items():
        if isinstance(r, dict) and isinstance(r.get("min"), int) and isinstance(r.get("max"), int) and r["min"] > r["max"]:
            diags.append(where.diag("TAX007", rpath + (key,), f"turn range '{show(key)}' has min {r['min']} above max {r['max']}"))
    if by is None:
        if "default" not in ranges:
            diags.append(where.diag("TAX007", rpath, "turn_ranges without turn_ranges_by needs a 'default' range",
                                    "or name the dimension the ranges are keyed by in turn_ranges_by", key=True))
    elif not isinstance(by, str) or by not in dims:
        diags.append(where.diag("TAX007", bypath, f"turn_ranges_by names '{show(by)}', which is not a dimension"))
    else:
        options = dims[by] if isinstance(dims[by], dict) else {}
        for o in options:
            if o not in ranges:
                diags.append(where.diag("TAX007", rpath, f"option '{show(o)}' of '{show(by)}' has no turn range", key=True))
        for k in ranges:
            if k not in options:
                diags.append(where.diag("TAX007", rpath + (k,), f"turn range '{show(k)}' is not an option of '{show(by)}'", key=True))
    return diags


def turn_ranges(data: Any) -> dict[str, tuple[int, int]]:
    """The declared ranges, ignoring malformed ones (the checks report those)."""
    if not isinstance(data, dict):
        return {}
    body = data.get("taxonomy") if isinstance(data.get("taxonomy"), dict) else {}
    ranges = body.get("turn_ranges", data.get("turn_ranges"))
    out = {}
    if isinstance(ranges, dict):
        for k, r in ranges.items():
            if isinstance(r, dict) and isinstance(r.get("min"), int) and isinstance(r.get("max"), int):
                out[str(k)] = (r["min"], r["max"])
    return out
