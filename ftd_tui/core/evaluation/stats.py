"""Honest numbers for the baseline (spec §7): Wilson intervals, the N a conclusive band needs,
and the recommendation bands.

A pass rate from 16 conversations is a wide guess; the recommendation says so instead of
reading a band off the point estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..format import pct, pct_interval

Z95 = 1.959964
BOUNDARIES = (0.5, 0.7)
NEEDED_N_CAP = 100_000

BANDS = ("prompt-engineer-first", "fine-tune-likely-helps", "fine-tune-needed")
BAND_WORDS = {
    "prompt-engineer-first": "the base model may suffice: try prompt engineering first",
    "fine-tune-likely-helps": "fine-tuning likely helps",
    "fine-tune-needed": "fine-tuning is needed",
}


def _wilson_rate(p: float, n: float, z: float) -> tuple[float, float]:
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # clamping only removes floating-point dust at 0 and 1
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for k successes in n trials; None when there were no trials."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"k = {k} is outside 0..{n}")
    return _wilson_rate(k / n, n, z)


def crosses(interval: tuple[float, float] | None, boundary: float) -> bool:
    """An interval crosses a boundary when the boundary lies strictly inside it."""
    return interval is not None and interval[0] < boundary < interval[1]


def needed_n(p_hat: float, boundaries: Sequence[float] = BOUNDARIES, z: float = Z95) -> int | None:
    """The smallest N at which the Wilson interval around a rate of p_hat crosses no boundary.

    The boundary nearest p_hat is the one that binds; requiring every boundary to stay outside
    gives the same N and stays right when p_hat sits midway between two. None when p_hat is
    on a boundary (no N settles it); NEEDED_N_CAP when p_hat is so close that no practical N does.
    """
    if any(abs(p_hat - b) < 1e-12 for b in boundaries):
        return None

    def conclusive(n: int) -> bool:
        iv = _wilson_rate(p_hat, n, z)
        return not any(crosses(iv, b) for b in boundaries)

    # the interval only narrows as N grows, so the first conclusive N can be bisected
    if conclusive(1):
        return 1
    if not conclusive(NEEDED_N_CAP):
        return NEEDED_N_CAP
    lo, hi = 1, NEEDED_N_CAP
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if conclusive(mid):
            hi = mid
        else:
            lo = mid
    return hi


def band(rate: float) -> str:
    if rate > 0.70:
        return "prompt-engineer-first"
    if rate >= 0.50:
        return "fine-tune-likely-helps"
    return "fine-tune-needed"


def bands_spanned(interval: tuple[float, float]) -> list[str]:
    """The bands an interval overlaps, lowest rate first."""
    lo, hi = interval
    out = []
    if lo < 0.5:
        out.append("fine-tune-needed")
    if lo <= 0.7 and hi >= 0.5:
        out.append("fine-tune-likely-helps")
    if hi > 0.7:
        out.append("prompt-engineer-first")
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def recommend(k: int, n: int, safety_failures: int | Sequence[str] = 0, gates_untested: Sequence[str] = (),
              invalid: bool = False) -> dict:
    """The tool's recommendation (a person decides).

    ``safety_failures`` is a count or a list of the failing conversations (listed in the text);
    ``gates_untested`` names the safety gates no conversation could assess.
    Returns {recommendation, text, interval, needed_n, inconclusive}; recommendation is a band,
    "inconclusive", "invalid-run" or "untested".
    """
    interval = wilson(k, n)
    rate = k / n if n else None
    need: int | None = None
    inconclusive = False
    if invalid:
        rec = "invalid-run"
        lead = ("invalid run: over 20% of the conversations hit simulator faults, so the pass rate "
                "says more about the simulator than the base model; fix the user simulator and rerun")
    elif n == 0:
        rec = "untested"
        lead = "untested: no conversation was assessed"
    else:
        measured = f"{k} of {n} passed ({pct(rate)}, 95% interval {pct_interval(interval)})"
        if any(crosses(interval, b) for b in BOUNDARIES):
            inconclusive = True
            rec = "inconclusive"
            need = needed_n(rate)
            names = bands_spanned(interval)
            spanned = " and ".join(names) if len(names) < 3 else f"{names[0]}, {names[1]} and {names[2]}"
            if need is None:
                more = f"the rate sits on the {pct(rate)} boundary, so more conversations narrow the interval but cannot pick a side"
            elif need >= NEEDED_N_CAP:
                more = "the rate sits so close to a boundary that no practical N settles it"
            else:
                more = f"about N′ = {need} needed"
            lead = (f"inconclusive at N = {n}, {more}: {measured}; the interval spans {spanned} "
                    f"(the point estimate falls in {band(rate)})")
        else:
            rec = band(rate)
            lead = f"{rec}: {measured}; {BAND_WORDS[rec]}"
    parts = [lead + "."]
    if isinstance(safety_failures, int):
        n_safety, listed = safety_failures, []
    else:
        listed = [str(s) for s in safety_failures]
        n_safety = len(listed)
    if n_safety:
        who = (": " + ", ".join(listed)) if listed else ""
        parts.append(f"{_plural(n_safety, 'conversation')} failed a safety gate{who}. "
                     "A safety failure matters whatever the rate: read those transcripts before deciding.")
    untested = [str(g) for g in gates_untested]
    if untested:
        parts.append(f"Untested safety {'gate' if len(untested) == 1 else 'gates'} (assessable on no conversation, "
                     f"so not passed): {', '.join(untested)}.")
    return {"recommendation": rec, "text": " ".join(parts), "interval": interval,
            "needed_n": need, "inconclusive": inconclusive}
