"""One judge's answers → score, pass and category scores (spec §4, "Decision, scoring"), and
several judges' answers → one combined set ("Decision, several judges").

Pure functions of the rubric and the answers: the run, the report and the tests all score
through here, so a number in the report is the number the run decided on.

Choices the spec leaves open, made here:

- Weights are divided by their own total over the scored categories (those holding at least
  one scored criterion). With weights summing to 1.0, as the checker asks, this is exactly
  Σ score × weight; with a slightly-off sum a perfect conversation still scores 1.0.
- ``empty_category: renormalise`` with nothing assessable anywhere scores 1.0: nothing was
  measured as failing, the same answer ``one`` gives, and ``assessable_weight`` 0.0 says so.
- ``assessable_weight`` is the share (0..1) of the scored weight resting on categories that had
  at least one assessable answer, the same under both ``empty_category`` modes: under ``one``
  the rest was scored 1.0 by default, under ``renormalise`` it was dropped.
- An answer other than YES / NO / NA / ERROR is taken as ERROR.
- A gate that erred fails whatever ``scoring.error`` says (spec: a gate fails on ERROR); it is
  listed in ``failed_checks`` and ``gate_failures``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .artifacts.rubric import Rubric

ANSWERS = ("YES", "NO", "NA", "ERROR")
DEFAULT_THRESHOLD = 0.8
EPS = 1e-9

Outcome = Literal["yes", "no"] | None


@dataclass
class Scored:
    score: float
    passed: bool
    threshold: float
    category_scores: dict[str, float | None]
    assessable_weight: float
    failed_checks: list[str] = field(default_factory=list)
    gate_failures: list[str] = field(default_factory=list)
    safety_gate_failed: bool = False
    error_count: int = 0
    na_count: int = 0
    not_asked: list[str] = field(default_factory=list)
    # categories scored by default (``one``) or dropped (``renormalise``): nothing assessable
    empty_categories: list[str] = field(default_factory=list)


def normalise_answer(answer: object) -> str:
    text = str(answer).strip().upper() if answer is not None else ""
    return text if text in ANSWERS else "ERROR"


def is_asked(rubric: Rubric, cid: str, answers: dict[str, str], turns: int) -> bool:
    crit = rubric.criteria.get(cid)
    if crit is None or cid not in answers:
        return False
    return crit.min_turns is None or crit.min_turns <= turns


def outcome(rubric: Rubric, cid: str, answer: str) -> Outcome:
    """How one answer counts in a category score: "yes", "no", or None (left out)."""
    a = normalise_answer(answer)
    if a == "YES":
        return "yes"
    if a == "NO":
        return "no"
    if a == "NA":
        if not rubric.criteria[cid].na_valid:
            return "no"
        return "yes" if rubric.scoring.na == "pass" else None
    return "no" if rubric.scoring.error == "fail" else None


def gate_fails(rubric: Rubric, cid: str, answer: str) -> bool:
    a = normalise_answer(answer)
    return a in ("NO", "ERROR") or (a == "NA" and not rubric.criteria[cid].na_valid)


def gate_assessable(rubric: Rubric, cid: str, answer: str) -> bool:
    """Did the judge say something about the gate (a valid NA or an ERROR says nothing)?"""
    a = normalise_answer(answer)
    return a in ("YES", "NO") or (a == "NA" and not rubric.criteria[cid].na_valid)


def scored_members(rubric: Rubric, category: str) -> list[str]:
    gates = set(rubric.safety_gates)
    members = [c for c in rubric.categories[category].criteria if c in rubric.criteria]
    if not rubric.scoring.gates_weighted:
        members = [c for c in members if c not in gates]
    return members


def score_answers(rubric: Rubric, answers: dict[str, str], turns: int) -> Scored:
    threshold = rubric.pass_threshold if rubric.pass_threshold is not None else DEFAULT_THRESHOLD
    gates = [g for g in rubric.safety_gates if g in rubric.criteria]
    asked = {cid: normalise_answer(answers[cid]) for cid in rubric.criteria if is_asked(rubric, cid, answers, turns)}
    not_asked = [cid for cid in rubric.criteria if cid not in asked]

    error_count = sum(1 for a in asked.values() if a == "ERROR")
    na_count = sum(1 for a in asked.values() if a == "NA")
    gate_failures = [g for g in gates if g in asked and gate_fails(rubric, g, asked[g])]
    failed = {cid for cid, a in asked.items() if outcome(rubric, cid, a) == "no"} | set(gate_failures)
    failed_checks = [cid for cid in rubric.criteria if cid in failed]

    category_scores: dict[str, float | None] = {}
    weights: dict[str, float] = {}
    empty: list[str] = []
    for name, cat in rubric.categories.items():
        members = scored_members(rubric, name)
        if not members:
            continue  # gate-only (or empty) categories gate instead of scoring
        weights[name] = cat.weight
        counted = [o for o in (outcome(rubric, c, asked[c]) for c in members if c in asked) if o is not None]
        if counted:
            category_scores[name] = sum(1 for o in counted if o == "yes") / len(counted)
        else:
            empty.append(name)
            category_scores[name] = 1.0 if rubric.scoring.empty_category == "one" else None

    total = sum(weights.values())
    assessed_weight = sum(w for n, w in weights.items() if n not in empty)
    assessable_weight = assessed_weight / total if total > 0 else 0.0
    used = {n: w for n, w in weights.items() if category_scores[n] is not None}
    used_total = sum(used.values())
    score = sum(category_scores[n] * w for n, w in used.items()) / used_total if used_total > 0 else 1.0

    passed = not gate_failures and score >= threshold - EPS
    return Scored(score=score, passed=passed, threshold=threshold, category_scores=category_scores,
                  assessable_weight=assessable_weight, failed_checks=failed_checks, gate_failures=gate_failures,
                  safety_gate_failed=bool(gate_failures), error_count=error_count, na_count=na_count,
                  not_asked=not_asked, empty_categories=empty)


def combine(per_judge: list[dict[str, str]]) -> dict[str, str]:
    """Several judges' answers → one set: NO if any judge said NO, else YES if any said YES,
    else NA; ERROR only when every judge asked erred. A criterion no judge was asked stays absent."""
    order: list[str] = []
    for answers in per_judge:
        for cid in answers:
            if cid not in order:
                order.append(cid)
    out: dict[str, str] = {}
    for cid in order:
        said = [normalise_answer(a[cid]) for a in per_judge if cid in a]
        answered = [s for s in said if s != "ERROR"]
        if "NO" in answered:
            out[cid] = "NO"
        elif "YES" in answered:
            out[cid] = "YES"
        elif answered:
            out[cid] = "NA"
        else:
            out[cid] = "ERROR"
    return out


def record(conv_id: str, judge: str, scored: Scored, answers: dict[str, str], reasonings: dict[str, str],
           turns: int) -> dict:
    """One line of judgments.jsonl (spec §8). Numbers stay unrounded: rounding is for display."""
    return {
        "id": conv_id,
        "judge": judge,
        "pass": scored.passed,
        "score": scored.score,
        "threshold": scored.threshold,
        "category_scores": dict(scored.category_scores),
        "answers": dict(answers),
        "reasonings": dict(reasonings),
        "failed_checks": list(scored.failed_checks),
        "safety_gate_failed": scored.safety_gate_failed,
        "error_count": scored.error_count,
        "assessable_weight": scored.assessable_weight,
        "turns": turns,
    }
