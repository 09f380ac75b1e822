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
- Category floors (``categories.<name>.min_score``): a conversation whose category score is below
  the floor fails whatever its total, compared unrounded like the threshold (below ``min_score −
  1e-9``); the failing categories are ``floor_failures``. A category with nothing assessable
  never fails its floor: under ``one`` it scores 1.0, under ``renormalise`` it is left out —
  nothing was measured as failing there.
- ``slack`` (``ftd check``'s RUB026): how many non-gate failures still pass, with every other
  criterion YES and no NA, found by scoring candidate answer sets through ``score_answers``
  itself, so the figure is exactly what a run would decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # annotations only: the rubric module asks scoring for slack and members
    from ..artifacts.rubric import Rubric

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
    # categories whose score fell below their min_score: each fails the conversation
    floor_failures: list[str] = field(default_factory=list)
    floors: dict[str, float] = field(default_factory=dict)  # each failed floor's min_score


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

    floors = floor_failures(rubric, category_scores, empty)
    passed = not gate_failures and not floors and score >= threshold - EPS
    return Scored(score=score, passed=passed, threshold=threshold, category_scores=category_scores,
                  assessable_weight=assessable_weight, failed_checks=failed_checks, gate_failures=gate_failures,
                  safety_gate_failed=bool(gate_failures), error_count=error_count, na_count=na_count,
                  not_asked=not_asked, empty_categories=empty, floor_failures=floors,
                  floors={n: float(rubric.categories[n].min_score or 0.0) for n in floors})


def floor_failures(rubric: Rubric, category_scores: dict[str, float | None], empty: list[str]) -> list[str]:
    """The categories below their min_score (unrounded); an empty category never fails one."""
    out = []
    for name, cat in rubric.categories.items():
        value = category_scores.get(name)
        if cat.min_score is None or value is None or name in empty:
            continue
        if value < cat.min_score - EPS:
            out.append(name)
    return out


def _pair(a: float, b: float, op: str) -> str:
    """'a op b' with enough decimals that the shown numbers agree with the comparison."""
    for digits in (2, 3, 4, 6, 9):
        x, y = f"{a:.{digits}f}", f"{b:.{digits}f}"
        if (x != y) or op in ("≥", "≤"):
            return f"{x} {op} {y}"
    return f"{a!r} {op} {b!r}"


def floor_text(category: str, score: float, floor: float) -> str:
    """Why a floor failed a conversation: 'below the floor of pedagogy: 0.50 < 0.67'."""
    return f"below the floor of {category}: {_pair(score, floor, '<')}"


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
           turns: int, exchanges: dict[str, int | None] | None = None) -> dict:
    """One line of judgments.jsonl (spec §8). Numbers stay unrounded: rounding is for display.
    ``exchanges``: each criterion's first failing exchange (null unless the answer is NO)."""
    return {
        "id": conv_id,
        "judge": judge,
        "pass": scored.passed,
        "score": scored.score,
        "threshold": scored.threshold,
        "category_scores": dict(scored.category_scores),
        "answers": dict(answers),
        "reasonings": dict(reasonings),
        "exchanges": {cid: (exchanges or {}).get(cid) for cid in answers},
        "failed_checks": list(scored.failed_checks),
        "floor_failures": list(scored.floor_failures),
        "floors": dict(scored.floors),
        "safety_gate_failed": scored.safety_gate_failed,
        "error_count": scored.error_count,
        "assessable_weight": scored.assessable_weight,
        "turns": turns,
    }


# --------------------------------------------------------------------------- slack (RUB026)


@dataclass
class Slack:
    """What the threshold allows, every other criterion YES and no NA (gates pass, floors apply)."""

    threshold: float
    criteria: int  # scored non-gate criteria
    any_k: int  # every set of this many non-gate failures still passes
    any_example: list[str]  # the costliest such set (empty when any_k is 0)
    any_score: float
    fail_example: list[str] | None  # a set of any_k + 1 that fails (None when all can fail)
    fail_reason: str  # "0.775 < 0.80" or a floor's text
    most: int  # the largest set that passes, failures in the cheapest places
    most_example: list[str]
    most_score: float


_BIG_TURNS = 10**6  # every criterion asked, whatever its min_turns


def _failing(rubric: Rubric, failed: list[str]) -> Scored:
    answers = {cid: ("NO" if cid in failed else "YES") for cid in rubric.criteria}
    return score_answers(rubric, answers, _BIG_TURNS)


def _slots(rubric: Rubric) -> list[tuple[float, int, str, str]]:
    """(cost of failing it, rubric order, criterion, category) for each scored non-gate criterion."""
    gates = set(rubric.safety_gates)
    order = {cid: i for i, cid in enumerate(rubric.criteria)}
    members = {name: scored_members(rubric, name) for name in rubric.categories}
    total = sum(rubric.categories[n].weight for n, m in members.items() if m)
    out = []
    for name, m in members.items():
        for cid in m:
            if cid in gates:
                continue  # with gates_weighted a gate scores too, but its failure rejects outright
            cost = rubric.categories[name].weight / len(m) / total if total > 0 else 0.0
            out.append((cost, order[cid], cid, name))
    return out


def slack(rubric: Rubric) -> Slack | None:
    """Exact by construction: every candidate set is scored by score_answers (see the module doc).

    Any k: the k costliest failures pass on the score, and for each floored category its own k
    (or all its members) keep the floor — every k-set passes exactly when these do. The most: the
    cheapest failures first, each kept when the set still passes (a floor skips its category)."""
    slots = _slots(rubric)
    if not slots:
        return None
    threshold = rubric.pass_threshold if rubric.pass_threshold is not None else DEFAULT_THRESHOLD
    worst = [s[2] for s in sorted(slots, key=lambda s: (-s[0], s[1]))]
    by_cat: dict[str, list[str]] = {}
    for s in sorted(slots, key=lambda s: s[1]):
        by_cat.setdefault(s[3], []).append(s[2])
    floored = [n for n in by_cat if rubric.categories[n].min_score is not None]

    def all_k_pass(k: int) -> tuple[bool, list[str], Scored]:
        sc = _failing(rubric, worst[:k])
        if not sc.passed:
            return False, worst[:k], sc
        for n in floored:
            conc = by_cat[n][:k]
            extra = [c for c in worst if c not in conc][: k - len(conc)]
            sc2 = _failing(rubric, conc + extra)
            if not sc2.passed:
                return False, conc + extra, sc2
        return True, worst[:k], sc

    any_k, any_scored, fail_example, fail_reason = 0, _failing(rubric, []), None, ""
    for k in range(1, len(worst) + 1):
        ok, example, sc = all_k_pass(k)
        if not ok:
            fail_example = example
            if sc.floor_failures:
                n = sc.floor_failures[0]
                fail_reason = floor_text(n, sc.category_scores[n] or 0.0, sc.floors[n])
            else:
                fail_reason = _rel(sc.score, threshold, False)
            break
        any_k, any_scored = k, sc
    most: list[str] = []
    most_scored = _failing(rubric, [])
    for s in sorted(slots, key=lambda s: (s[0], s[1])):
        sc = _failing(rubric, most + [s[2]])
        if sc.passed:
            most, most_scored = most + [s[2]], sc
        elif not sc.floor_failures:
            break  # over the score: every later failure costs at least as much
    return Slack(threshold, len(worst), any_k, worst[:any_k], any_scored.score, fail_example, fail_reason,
                 len(most), most, most_scored.score)


def _rel(score: float, threshold: float, passed: bool) -> str:
    """'0.825 ≥ 0.80': enough decimals that the shown numbers agree with the unrounded verdict."""
    for digits in (3, 4, 6, 9):
        x, y = f"{score:.{digits}f}", f"{threshold:.{max(2, digits - 1)}f}"
        if (float(x) >= float(y) - EPS) == passed:
            return f"{x} {'≥' if passed else '<'} {y}"
    return f"{score!r} {'≥' if passed else '<'} {threshold!r}"


_NUMBER = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _ids(ids: list[str]) -> str:
    return " + ".join(ids[:6]) + (f" + {len(ids) - 6} more" if len(ids) > 6 else "")


def slack_text(s: Slack) -> str:
    n = _NUMBER[s.any_k] if s.any_k < len(_NUMBER) else str(s.any_k)
    if s.fail_example is None:
        text = (f"all {s.criteria} non-gate criteria can fail and a conversation still passes "
                f"({_ids(s.any_example)} → {_rel(s.any_score, s.threshold, True)}): only the safety gates reject")
        return text
    if s.any_k == 0:
        text = f"a single non-gate failure can fail a conversation: {_ids(s.fail_example)} → {s.fail_reason}"
    else:
        plural = "failure still passes" if s.any_k == 1 else "failures still pass"
        # short enough for the app's findings pane at 80 columns: it shows on every rubric
        text = (f"any {n} non-gate {plural}, e.g. {_ids(s.any_example)} → {_rel(s.any_score, s.threshold, True)}; "
                f"{s.any_k + 1} can fail ({_ids(s.fail_example)} → {s.fail_reason})")
    if s.most > s.any_k:
        text += (f"; up to {s.most} pass in the cheapest places ({_ids(s.most_example)} → "
                 f"{_rel(s.most_score, s.threshold, True)})")
    elif s.most == 0:
        text += "; no non-gate failure passes anywhere"
    return text
