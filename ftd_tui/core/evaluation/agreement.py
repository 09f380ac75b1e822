"""How far the judges can be trusted (spec §7, "Honest numbers" and "Judge validation"):
agreement between judges per criterion, a judge against known answers, a judge against itself,
and a paired comparison of two runs.

Pure and deterministic: every bootstrap draws from ``random.Random(seed)``, so a rerun of the
report prints the same intervals.

Choices the spec leaves open, made here:

- κ is None only when it is arithmetically undefined (expected agreement 1). When one judge
  never varied but the other did, Cohen's κ is exactly 0, which is the honest value: the
  constant judge adds nothing beyond chance.
- NA, ERROR and not-asked answers stay out of the agreement table and are counted beside it:
  an NA is not a disagreement about quality, and an ERROR is a harness fault, not an opinion.
- Likewise a judge's ERROR in a confusion table is counted apart and left out of every rate,
  so a flaky endpoint shows up as errors rather than as a judge that misreads the criterion.
- Bootstrap intervals are percentile intervals with linear interpolation between order
  statistics (numpy's default), enough for a report that rounds to whole percentages.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

BINARY = ("YES", "NO")
ANSWERS = ("YES", "NO", "NA", "ERROR")
MIN_N_FOR_FLAG = 10
FLAG_UPPER = 0.6
ADVICE = "add calibration examples or split the question"
EPS = 1e-12

EXPECTED = {
    "PASS": "YES",
    "BORDERLINE_PASS": "YES",
    "FAIL": "NO",
    "BORDERLINE_FAIL": "NO",
    "NA": "NA",
}

T = TypeVar("T")


def _norm(answer: object) -> str | None:
    # None means "not asked", which is not the same as a failed call
    if answer is None:
        return None
    text = str(answer).strip().upper()
    return text if text in ANSWERS else "ERROR"


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's κ for two judges' labels paired by position; None when undefined."""
    if len(a) != len(b):
        raise ValueError(f"the two label lists differ in length ({len(a)} vs {len(b)})")
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[c] * cb[c] for c in ca) / (n * n)
    # p_e = 1 only when both judges gave one and the same label throughout: 0/0
    if pe >= 1 - EPS:
        return None
    return (po - pe) / (1 - pe)


def fleiss_kappa(rows: list[list[str]]) -> float | None:
    """Fleiss' κ: one row per conversation, each the labels of the same number k ≥ 2 of raters."""
    if not rows:
        return None
    k = len(rows[0])
    if k < 2:
        raise ValueError("Fleiss' κ needs at least two raters per row")
    if any(len(r) != k for r in rows):
        raise ValueError("every row needs the same number of raters")
    n = len(rows)
    totals: Counter[str] = Counter()
    p_sum = 0.0
    for row in rows:
        counts = Counter(row)
        totals.update(counts)
        p_sum += (sum(c * c for c in counts.values()) - k) / (k * (k - 1))
    p_bar = p_sum / n
    pe_bar = sum((c / (n * k)) ** 2 for c in totals.values())
    if pe_bar >= 1 - EPS:
        return None
    return (p_bar - pe_bar) / (1 - pe_bar)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def _bootstrap(items: Sequence[T], stat: Callable[[list[T]], float | None], reps: int, seed: int,
               level: float) -> tuple[float, float] | None:
    n = len(items)
    if n < 2 or reps <= 0:
        return None
    rng = random.Random(seed)
    values: list[float] = []
    undefined = 0
    for _ in range(reps):
        v = stat([items[rng.randrange(n)] for _ in range(n)])
        if v is None:
            undefined += 1
        else:
            values.append(v)
    # an interval built from the minority of resamples where the statistic exists would
    # describe a different population from the one measured
    if not values or undefined > reps / 2:
        return None
    values.sort()
    tail = (1 - level) / 2
    return _quantile(values, tail), _quantile(values, 1 - tail)


def bootstrap_interval(rows: list[list[str]], stat: Callable[[list[list[str]]], float | None], *,
                       reps: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float] | None:
    """A percentile bootstrap interval for ``stat`` over rows resampled with replacement.

    Resamples where ``stat`` is undefined are skipped; None when n < 2 or when more than half
    of them were.
    """
    return _bootstrap(rows, stat, reps, seed, level)


def _cohen_rows(rows: list[list[str]]) -> float | None:
    return cohen_kappa([r[0] for r in rows], [r[1] for r in rows])


def criterion_agreement(labels: dict[str, list[str | None]], *, seed: int = 0) -> dict:
    """Agreement between judges on one criterion; see the module docstring for what is left out.

    ``labels`` maps each judge to its answer per conversation (aligned lists; None = not asked).
    """
    judges = list(labels)
    columns = {j: [_norm(x) for x in labels[j]] for j in judges}
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise ValueError("every judge's answers must cover the same conversations")
    n_conv = lengths.pop() if lengths else 0

    yes_rate: dict[str, float | None] = {}
    for j in judges:
        binary = [x for x in columns[j] if x in BINARY]
        yes_rate[j] = (sum(x == "YES" for x in binary) / len(binary)) if binary else None
    na = {j: sum(x == "NA" for x in columns[j]) for j in judges}
    error = {j: sum(x == "ERROR" for x in columns[j]) for j in judges}
    kind = "fleiss" if len(judges) >= 3 else "cohen"

    rows: list[list[str]] = []
    for i in range(n_conv):
        row = [columns[j][i] for j in judges]
        if all(x in BINARY for x in row):
            rows.append(row)  # type: ignore[arg-type]
    n = len(rows) if judges else 0

    out = {"n": n, "yes_rate": yes_rate, "raw_agreement": None, "kappa": None, "kappa_kind": kind,
           "interval": None, "undefined_reason": None, "na": na, "error": error,
           "flag": False, "advice": None}
    if len(judges) < 2:
        out["undefined_reason"] = "one judge: nothing to agree with" if judges else "no judges"
        return out
    if n == 0:
        who = "both judges" if len(judges) == 2 else "every judge"
        out["undefined_reason"] = f"no conversation {who} answered YES or NO"
        return out

    raw = sum(len(set(r)) == 1 for r in rows) / n
    # spec §7: κ is undefined when a judge never varied (mathematically it would be 0 or 0/0;
    # either way it says nothing about the judges' agreement)
    if any(len({r[i] for r in rows}) == 1 for i in range(len(judges))):
        out.update({"raw_agreement": raw, "undefined_reason": "a judge never varied"})
        return out
    stat = _cohen_rows if kind == "cohen" else fleiss_kappa
    kappa = stat(rows)
    interval = bootstrap_interval(rows, stat, seed=seed)
    flag = n >= MIN_N_FOR_FLAG and interval is not None and interval[1] < FLAG_UPPER
    out.update({
        "raw_agreement": raw,
        "kappa": kappa,
        "interval": interval,
        "undefined_reason": "a judge never varied" if kappa is None else None,
        "flag": flag,
        "advice": ADVICE if flag else None,
    })
    return out


def computed_agreement(labels: list[str | None]) -> dict:
    """A computed criterion's row: ftd answered it once for every judge, so agreement among the
    judges would be a perfect, meaningless 1.0. The row says "computed" instead of a κ."""
    answered = [_norm(x) for x in labels if x is not None]
    binary = [x for x in answered if x in BINARY]
    return {"n": len(answered), "yes_rate": {"computed": (sum(x == "YES" for x in binary) / len(binary)) if binary else None},
            "raw_agreement": None, "kappa": None, "kappa_kind": "computed", "interval": None,
            "undefined_reason": "computed by ftd, not judged", "computed": True,
            "na": {"computed": sum(x == "NA" for x in answered)}, "error": {"computed": sum(x == "ERROR" for x in answered)},
            "flag": False, "advice": None}


def expected_answer(example_type: str) -> str | None:
    """The answer a calibration example's type implies; None for UNREVIEWED or unknown types."""
    if not isinstance(example_type, str):
        return None
    return EXPECTED.get(example_type.strip().upper())


def _share(hit: int, total: int) -> float | None:
    return hit / total if total else None


def confusion(pairs: list[tuple[str, str]]) -> dict:
    """A judge's answers against known ones: (expected, got) pairs.

    ``n`` and the rates cover pairs the judge answered; its ERRORs are counted apart in
    ``errors``. Pairs with no expected answer (None, e.g. an unreviewed example) are skipped.
    ``matrix`` holds the full table, expected → got → count, ERROR included.
    """
    matrix = {e: {g: 0 for g in ANSWERS} for e in ("YES", "NO", "NA")}
    for expected, got in pairs:
        if expected is None:
            continue
        e = str(expected).strip().upper()
        if e not in matrix:
            raise ValueError(f"expected answer {expected!r} is not YES, NO or NA")
        matrix[e][_norm(got) or "ERROR"] += 1
    answered = {e: sum(row[g] for g in ("YES", "NO", "NA")) for e, row in matrix.items()}
    n = sum(answered.values())
    return {
        "n": n,
        "n_yes": answered["YES"],
        "n_no": answered["NO"],
        "n_na": answered["NA"],
        "tpr": _share(matrix["YES"]["YES"], answered["YES"]),
        "tnr": _share(matrix["NO"]["NO"], answered["NO"]),
        "na_accuracy": _share(matrix["NA"]["NA"], answered["NA"]),
        "accuracy": _share(sum(matrix[e][e] for e in matrix), n),
        "errors": sum(row["ERROR"] for row in matrix.values()),
        "matrix": matrix,
    }


def flip_rate(repeats: list[list[str]]) -> dict:
    """How often a judge changes its answer when asked the same question again."""
    asked = [[_norm(x) for x in r] for r in repeats if len(r) >= 2]
    flipped = sum(len(set(r)) > 1 for r in asked)
    return {"n": len(asked), "flipped": flipped, "rate": _share(flipped, len(asked))}


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def paired_differences(a: dict[str, float], b: dict[str, float], *, seed: int = 0,
                       tie: float = 1e-9) -> dict:
    """Run A (new) against run B (baseline), scenario by scenario.

    Pairing by scenario removes the scenario-to-scenario spread that dwarfs a model-to-model
    difference when the two pass rates are compared on their own.
    """
    shared = sorted(set(a) & set(b))
    diffs = [a[i] - b[i] for i in shared]
    wins = sum(d > tie for d in diffs)
    losses = sum(d < -tie for d in diffs)
    return {
        "n": len(shared),
        "mean_diff": _mean(diffs),
        "interval": _bootstrap(diffs, _mean, 2000, seed, 0.95),
        "wins": wins,
        "losses": losses,
        "ties": len(diffs) - wins - losses,
        "ids_only_in_a": sorted(set(a) - set(b)),
        "ids_only_in_b": sorted(set(b) - set(a)),
    }
