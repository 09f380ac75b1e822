"""config/persona-template.yaml: styles with word limits, per-message flaws, domain attributes."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..rules.diagnostics import Diagnostic
from .common import Where, fmt, number, schema_errors, show, weights_sum_ok
from .settings import Checks

# Communication differences are neutral taxonomy dimensions, never persona "flaws".
_COMMUNICATION_DIFFERENCE = re.compile(
    r"(?:literal|non[-_ ]?native|limited[-_ ]?vocab|text[-_ ]?speak|typo|spelling|grammar|dyslex|autis|adhd|"
    r"esl|second[-_ ]language|broken[-_ ]english|accent|disab)",
    re.I,
)


class StyleBlock(BaseModel):
    model_config = ConfigDict(extra="ignore")
    options: list[str] = Field(min_length=1)
    weights: list[float] | None = None
    word_limits: dict[str, list[int]] = Field(default_factory=dict)
    unit: Literal["words", "chars", "tokens"] = "words"
    descriptions: dict[str, str] = Field(default_factory=dict)


class FlawTier(BaseModel):
    model_config = ConfigDict(extra="ignore")
    options: list[str] = Field(min_length=1)
    weights: list[float] | None = None
    per_message: float
    max: int | None = Field(None, ge=1)
    descriptions: dict[str, str] = Field(default_factory=dict)


class FlawPatterns(BaseModel):
    model_config = ConfigDict(extra="ignore")
    primary: FlawTier
    secondary: FlawTier | None = None
    no_flaw_share: float
    # each entry a pair of flaw names; the shape is checked by PER011 / PER012, not here
    excludes: list[Any] | None = Field(None, description="pairs of flaws never rolled together, "
                                       "e.g. [[going_quiet, stream_of_words]]")


class Attribute(BaseModel):
    model_config = ConfigDict(extra="ignore")
    options: list[str] = Field(min_length=1)
    weights: list[float] | None = None
    descriptions: dict[str, str] = Field(default_factory=dict)


class PersonaTemplateBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    communication_style: StyleBlock
    flaw_patterns: FlawPatterns


class PersonaFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    persona_template: PersonaTemplateBody


def _check_weighted(block: dict, path: tuple, where: Where, checks: Checks, what: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    options, weights = block.get("options"), block.get("weights")
    if not isinstance(options, list):
        return out
    if weights is None:
        return out  # uniform
    if not isinstance(weights, list):
        return out
    if len(options) != len(weights):
        out.append(where.diag("PER002", path + ("weights",), f"{what}: {len(options)} options but {len(weights)} weights"))
        return out
    ok, total = weights_sum_ok(weights, checks.weight_tolerance)
    if not ok and total is not None:
        out.append(where.diag("PER003", path + ("weights",), f"{what}: weights sum to {fmt(total)}, not 1.0"))
    return out


def _check_extra_keys(block: dict, path: tuple, where: Where, known: set[str]) -> list[Diagnostic]:
    out = []
    opts = block.get("options") if isinstance(block.get("options"), list) else []
    for field in ("descriptions", "word_limits"):
        m = block.get(field)
        if isinstance(m, dict):
            for k in m:
                if k not in opts:
                    out.append(where.diag("PER009", path + (field, k), f"{field} names '{show(k)}', which is not an option", key=True))
    for k in block:
        if k not in known:
            out.append(where.diag("KEY001", path + (k,), f"unknown key '{show(k)}'", "known keys: " + ", ".join(sorted(known)), key=True))
    return out


def _flaw_names(flaws: dict) -> list[str]:
    names: list[str] = []
    for tier in ("primary", "secondary"):
        block = flaws.get(tier)
        opts = block.get("options") if isinstance(block, dict) else None
        names += [o for o in opts if isinstance(o, str)] if isinstance(opts, list) else []
    return names


def _check_excludes(flaws: dict, fp: tuple, where: Where) -> list[Diagnostic]:
    """``flaw_patterns.excludes``: pairs of two different flaws of this template (PER012 for a
    malformed entry, PER011 for a name that is no flaw, with the closest flaw suggested)."""
    import difflib

    raw = flaws.get("excludes")
    if raw is None or not isinstance(raw, list):
        return []  # not a list: the schema's PER001
    names = _flaw_names(flaws)
    out: list[Diagnostic] = []
    for i, entry in enumerate(raw):
        at = fp + ("excludes", i)
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
            out.append(where.diag("PER012", at, f"excludes entry {i + 1} is not a pair of flaw names",
                                  "write [flaw_a, flaw_b]: two flaws never rolled together"))
            continue
        if entry[0] == entry[1]:
            out.append(where.diag("PER012", at, f"excludes entry {i + 1} pairs '{show(entry[0])}' with itself",
                                  "a flaw is never rolled twice in one message anyway; name two different flaws"))
            continue
        for j, name in enumerate(entry):
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                out.append(where.diag("PER011", at + (j,), f"excludes names '{show(name)}', which is not a flaw here",
                                      f"did you mean '{close[0]}'?" if close else
                                      "the flaws are the options of flaw_patterns.primary and .secondary"))
    return out


def check_personas(data: Any, where: Where, checks: Checks) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    _, errs = schema_errors(PersonaFile, data, where, "PER001")
    if not isinstance(data, dict):
        return errs
    body = data.get("persona_template")
    if not isinstance(body, dict):
        return errs
    for k in data:
        if k != "persona_template":
            diags.append(where.diag("KEY001", (k,), f"unknown top-level key '{show(k)}'", "the template lives under 'persona_template:'", key=True))
    base = ("persona_template",)
    missing = [k for k in ("communication_style", "flaw_patterns") if k not in body]
    for k in missing:
        diags.append(where.diag("PER010", base, f"persona_template has no {k}", key=True))
    diags.extend(e for e in errs if not (e.rule == "PER001" and any(m in e.message for m in missing)))

    style = body.get("communication_style")
    if isinstance(style, dict):
        sp = base + ("communication_style",)
        diags.extend(_check_weighted(style, sp, where, checks, "communication_style"))
        diags.extend(_check_extra_keys(style, sp, where, {"options", "weights", "word_limits", "unit", "descriptions"}))
        limits = style.get("word_limits") if isinstance(style.get("word_limits"), dict) else {}
        for i, opt in enumerate(style.get("options") or [] if isinstance(style.get("options"), list) else []):
            if opt not in limits:
                diags.append(where.diag("PER004", sp + ("options", i), f"style '{show(opt)}' has no word limits",
                                        "the persona template is the one source of user message length: give [min, max]"))
        for opt, lim in limits.items():
            if not (isinstance(lim, list) and len(lim) == 2 and all(number(x) is not None for x in lim)
                    and 0 < lim[0] <= lim[1]):
                diags.append(where.diag("PER005", sp + ("word_limits", opt), f"word limit for '{show(opt)}' must be [min, max] with 0 < min <= max"))

    flaws = body.get("flaw_patterns")
    if isinstance(flaws, dict):
        fp = base + ("flaw_patterns",)
        for k in flaws:
            if k not in ("primary", "secondary", "no_flaw_share", "excludes"):
                diags.append(where.diag("KEY001", fp + (k,), f"unknown key '{show(k)}' in flaw_patterns",
                                        "known keys: primary, secondary, no_flaw_share, excludes", key=True))
        diags.extend(_check_excludes(flaws, fp, where))
        for tier in ("primary", "secondary"):
            block = flaws.get(tier)
            if not isinstance(block, dict):
                continue
            tp = fp + (tier,)
            diags.extend(_check_weighted(block, tp, where, checks, f"flaw_patterns.{tier}"))
            diags.extend(_check_extra_keys(block, tp, where, {"options", "weights", "per_message", "max", "descriptions"}))
            pm = number(block.get("per_message"))
            if pm is not None and not (0 <= pm <= 1):
                diags.append(where.diag("PER007", tp + ("per_message",), f"flaw_patterns.{tier}.per_message is {fmt(pm)}; a probability is 0..1"))
            for i, opt in enumerate(block.get("options") or [] if isinstance(block.get("options"), list) else []):
                if isinstance(opt, str) and _COMMUNICATION_DIFFERENCE.search(opt):
                    diags.append(where.diag("PER008", tp + ("options", i),
                                            f"'{show(opt)}' is a communication difference, not a flaw",
                                            "model it as a neutral taxonomy dimension (e.g. communication_pattern) so the assistant adapts instead of correcting"))
        share = number(flaws.get("no_flaw_share"))
        band = checks.no_flaw_share
        if share is not None:
            if not (0 <= share <= 1):
                diags.append(where.diag("PER007", fp + ("no_flaw_share",), f"no_flaw_share is {fmt(share)}; a share is 0..1"))
            elif not (band.min - 1e-9 <= share <= band.max + 1e-9):
                diags.append(where.diag("PER006", fp + ("no_flaw_share",),
                                        f"{share:.0%} of personas are flaw-free; the band is {band.min:.0%}-{band.max:.0%}",
                                        "real users include easy ones: ~20% flaw-free keeps the model from expecting resistance"))

    for name, attr in body.items():
        if name in ("communication_style", "flaw_patterns"):
            continue
        ap = base + (name,)
        if not isinstance(attr, dict) or not isinstance(attr.get("options"), list):
            diags.append(where.diag("PER001", ap, f"attribute '{show(name)}' must have options (and optional weights, descriptions)"))
            continue
        diags.extend(_check_weighted(attr, ap, where, checks, name))
        diags.extend(_check_extra_keys(attr, ap, where, {"options", "weights", "descriptions"}))
    return diags
