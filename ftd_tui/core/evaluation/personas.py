"""Personas from seeds (spec §4): a communication style, a message length, attributes, and the
flaws each user message shows, rolled per message from the seed and the exchange alone, so a
resumed or regenerated conversation rolls the same flaws.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .seeded import _SALT_FLAWS, _SALT_PERSONA, _pick, _pick_compatible, _rng, _weight

DEFAULT_WORD_LIMIT = (10, 100)  # only when a style has no usable limit; the checks flag that (PER004)
DEFAULT_SECONDARY_MAX = 2
UNITS = ("words", "chars", "tokens")


# --------------------------------------------------------------------------- personas


def _template_body(template: Any) -> dict:
    if not isinstance(template, dict):
        return {}
    body = template.get("persona_template")
    return body if isinstance(body, dict) else template


def _options(block: Any) -> tuple[list[str], list[float]]:
    """Options and weights of a template block; weights that do not fit mean uniform."""
    if not isinstance(block, dict) or not isinstance(block.get("options"), list):
        return [], []
    opts = [str(o) for o in block["options"] if isinstance(o, (str, int, float)) and not isinstance(o, bool)]
    ws = block.get("weights")
    if isinstance(ws, list) and len(ws) == len(block["options"]) == len(opts):
        parsed = [_weight(w) for w in ws]
        if all(w is not None for w in parsed) and sum(parsed) > 0:
            return opts, parsed
    return opts, [1.0] * len(opts)


def _descriptions(block: Any) -> dict[str, str]:
    d = block.get("descriptions") if isinstance(block, dict) else None
    return {str(k): v.strip() for k, v in d.items() if isinstance(v, str) and v.strip()} if isinstance(d, dict) else {}


def _rate(block: Any) -> float:
    w = _weight(block.get("per_message")) if isinstance(block, dict) else None
    return min(1.0, w) if w is not None else 0.0


@dataclass
class Persona:
    seed: int
    style: str | None
    word_limit: tuple[int, int]
    unit: str = "words"
    flawless: bool = False
    primary: str | None = None
    secondary: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)  # option -> description, chosen options only
    primary_rate: float = 0.0
    secondary_rate: float = 0.0
    excludes: frozenset = frozenset()  # frozensets of two flaws never rolled together


    def text(self) -> str:
        unit = {"chars": "characters"}.get(self.unit, self.unit)
        lines = []
        if self.style:
            desc = self.descriptions.get(self.style)
            lines.append(f"Communication style: {_human(self.style)}" + (f". {desc}" if desc else "."))
        lo, hi = self.word_limit
        lines.append(f"Message length: {_num(lo)} to {_num(hi)} {unit} per message.")
        for name, value in self.attributes.items():
            desc = self.descriptions.get(value)
            lines.append(f"{_human(name).capitalize()}: {_human(value)}" + (f". {desc}" if desc else "."))
        # No flaw here: a persona-level list would colour every message. Flaws reach the
        # simulator only through {flaw_patterns}, for the message whose roll drew them.
        return "\n".join(lines)

    def flaws_for_message(self, exchange: int) -> list[str]:
        """The flaws this persona shows in the user message of ``exchange``: rolled per
        message (spec §4), from the seed and the exchange number alone, so a resumed or
        regenerated conversation rolls the same flaws."""
        if self.flawless:
            return []
        rng = _rng(_SALT_FLAWS, self.seed, exchange)
        out = []
        # every roll is always made, so one flaw's outcome never shifts another's
        hit = rng.random() < self.primary_rate
        if self.primary and hit:
            out.append(self.primary)
        for s in self.secondary:
            if rng.random() < self.secondary_rate:
                out.append(s)
        return _without_excluded(out, self.excludes)


def _human(name: str) -> str:
    return re.sub(r"(?<=\d)_(?=\d)", "–", str(name)).replace("_", " ")  # age_15_16: "age 15–16"


def humanise(name: Any) -> str:
    """A taxonomy or template key in words, for what models and people read."""
    return _human(str(name))


def excluded_pairs(template: Any) -> frozenset:
    """``flaw_patterns.excludes``: the usable pairs (two different flaw names); the checks
    report the rest (PER011, PER012)."""
    fp = _template_body(template).get("flaw_patterns")
    raw = fp.get("excludes") if isinstance(fp, dict) else None
    pairs = set()
    for e in raw if isinstance(raw, list) else []:
        if isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) and e[0] != e[1]:
            pairs.add(frozenset(e))
    return frozenset(pairs)


def _clashes(flaw: str, chosen: list[str], excludes: frozenset) -> bool:
    return any(frozenset((flaw, c)) in excludes for c in chosen)


def _without_excluded(flaws: list[str], excludes: frozenset) -> list[str]:
    """A message's roll with excluded pairs resolved: ``flaws`` is in tier order (the primary
    first, then the secondaries in the template's order), and a flaw that clashes with one kept
    before it is dropped, so the higher tier wins; no random draw, so the roll stays the same
    on every resume. The persona draw already avoids excluded pairs: this is the backstop."""
    kept: list[str] = []
    for f in flaws:
        if not _clashes(f, kept, excludes):
            kept.append(f)
    return kept


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def persona_from_seed(template: dict, seed: int) -> Persona:
    body = _template_body(template)
    rng = _rng(_SALT_PERSONA, seed)
    style_block = body.get("communication_style") if isinstance(body.get("communication_style"), dict) else {}
    descriptions: dict[str, str] = {}
    opts, ws = _options(style_block)
    style = _pick(rng, opts, ws) if opts else None
    limits = style_block.get("word_limits") if isinstance(style_block.get("word_limits"), dict) else {}
    lim = limits.get(style) if style is not None else None
    if (isinstance(lim, list) and len(lim) == 2 and all(_weight(x) is not None for x in lim)
            and 0 < lim[0] <= lim[1]):
        word_limit = (lim[0], lim[1])
    else:
        word_limit = DEFAULT_WORD_LIMIT
    unit = style_block.get("unit") if style_block.get("unit") in UNITS else "words"
    if style is not None and style in _descriptions(style_block):
        descriptions[style] = _descriptions(style_block)[style]

    flaws = body.get("flaw_patterns") if isinstance(body.get("flaw_patterns"), dict) else {}
    share = _weight(flaws.get("no_flaw_share"))
    flawless = rng.random() < (min(1.0, share) if share is not None else 0.0)
    primary_block, secondary_block = flaws.get("primary"), flaws.get("secondary")
    primary, secondary = None, []
    # drawn even for a flawless persona, so no_flaw_share edits leave the other draws alone
    p_opts, p_ws = _options(primary_block)
    p_choice = _pick(rng, p_opts, p_ws) if p_opts else None
    s_opts, s_ws = _options(secondary_block)
    k = secondary_block.get("max") if isinstance(secondary_block, dict) else None
    k = k if isinstance(k, int) and not isinstance(k, bool) and k >= 1 else DEFAULT_SECONDARY_MAX
    excludes = excluded_pairs(template)
    # no secondary excluded with the primary, nor with a secondary drawn before it; with no
    # excludes this is exactly the draw it always was
    pool = [(o, w) for o, w in zip(s_opts, s_ws) if o != p_choice and not _clashes(o, [p_choice], excludes)]
    s_choice = _pick_compatible(rng, [o for o, _ in pool], [w for _, w in pool], k, excludes)
    if not flawless:
        primary, secondary = p_choice, s_choice
        for block, names in ((primary_block, [primary] if primary else []), (secondary_block, secondary)):
            d = _descriptions(block)
            descriptions.update({x: d[x] for x in names if x in d})

    attributes: dict[str, str] = {}
    for name, block in body.items():
        if name in ("communication_style", "flaw_patterns") or not isinstance(name, str):
            continue
        a_opts, a_ws = _options(block)
        if not a_opts:
            continue
        attributes[name] = _pick(rng, a_opts, a_ws)
        d = _descriptions(block)
        if attributes[name] in d:
            descriptions[attributes[name]] = d[attributes[name]]
    return Persona(seed=seed, style=style, word_limit=word_limit, unit=unit, flawless=flawless, primary=primary,
                   secondary=secondary, attributes=attributes, descriptions=descriptions,
                   primary_rate=_rate(primary_block), secondary_rate=_rate(secondary_block), excludes=excludes)


def flaw_text(flaws: list[str], template: dict) -> str:
    """The ``{flaw_patterns}`` placeholder for one user message."""
    if not flaws:
        return "none this message: write plainly"
    body = _template_body(template)
    fp = body.get("flaw_patterns") if isinstance(body.get("flaw_patterns"), dict) else {}
    desc: dict[str, str] = {}
    for tier in ("secondary", "primary"):
        desc.update(_descriptions(fp.get(tier)))
    return "\n".join(f"- {_human(f)}: {desc[f]}" if f in desc else f"- {_human(f)}" for f in flaws)
