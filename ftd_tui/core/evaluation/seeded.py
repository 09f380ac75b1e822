"""Seeded draws: every random choice of the scenarios and personas comes from here.

``random.Random`` seeded from a SHA-256 of the integers involved, never the global generator
or ``hash()`` (salted per process for strings), so a scenario list drawn today is drawn again
identically on another machine, and a transcript can be regenerated from its seeds alone.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

# Salts keep the streams apart: the persona drawn from seed 9001 must not be correlated with
# the cell drawn for the scenario that carries persona seed 9001.
_SALT_CELL = 1
_SALT_PERSONA = 2
_SALT_FLAWS = 3
_SALT_DRAW = 4
_SALT_TRIGGER = 5  # streams of their own: adding them left every earlier draw as it was
_SALT_REDRAW = 6


def _rng(*parts: int) -> random.Random:
    digest = hashlib.sha256(("ftd-scenarios:" + ":".join(str(int(p)) for p in parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _weight(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _pick(rng: random.Random, options: list, weights: list[float]) -> Any:
    """One weighted draw; all-zero weights fall back to uniform rather than failing."""
    total = sum(weights)
    if total <= 0:
        return options[rng.randrange(len(options))]
    x = rng.random() * total
    acc = 0.0
    for option, w in zip(options, weights):
        acc += w
        if x < acc:
            return option
    return next(o for o, w in zip(reversed(options), reversed(weights)) if w > 0)


def _pick_compatible(rng: random.Random, options: list, weights: list[float], k: int, excludes: frozenset) -> list:
    """Like _pick_distinct, and once a flaw is chosen the ones excluded with it leave the pool."""
    options, weights, out = list(options), list(weights), []
    while options and len(out) < k:
        choice = _pick(rng, options, weights)
        out.append(choice)
        keep = [i for i, o in enumerate(options) if o != choice and frozenset((o, choice)) not in excludes]
        options, weights = [options[i] for i in keep], [weights[i] for i in keep]
    return out


def _pick_distinct(rng: random.Random, options: list, weights: list[float], k: int) -> list:
    options, weights, out = list(options), list(weights), []
    while options and len(out) < k:
        choice = _pick(rng, options, weights)
        i = options.index(choice)
        out.append(options.pop(i))
        weights.pop(i)
    return out
