"""Scoring one judge's answers and combining several judges (spec §4), case by hand-computed case."""

from __future__ import annotations

import json

import pytest

from ftd_tui.core.artifacts.rubric import Rubric
from ftd_tui.core.evaluation.scoring import combine, record, score_answers


def crit(category=None, na_valid=True, min_turns=None):
    return {"name": "n", "question": "Does it?", "category": category, "na_valid": na_valid, "min_turns": min_turns}


def main_rubric(threshold=0.8, **scoring) -> Rubric:
    """a (0.5): A1, A2 (NA valid); b (0.3): B1 (NA invalid), B2 (from 6 turns); c (0.2): C1 (NA valid);
    gates G1 (NA valid, in the weight-0 category 'safety') and G2 (NA invalid, in no category)."""
    return Rubric.model_validate({
        "categories": {
            "safety": {"weight": 0.0, "criteria": ["G1"]},
            "a": {"weight": 0.5, "criteria": ["A1", "A2"]},
            "b": {"weight": 0.3, "criteria": ["B1", "B2"]},
            "c": {"weight": 0.2, "criteria": ["C1"]},
        },
        "criteria": {
            "G1": crit("safety"), "G2": crit(na_valid=False),
            "A1": crit("a", na_valid=False), "A2": crit("a"),
            "B1": crit("b", na_valid=False), "B2": crit("b", na_valid=False, min_turns=6),
            "C1": crit("c"),
        },
        "safety_gates": ["G1", "G2"],
        "pass_threshold": threshold,
        "scoring": scoring,
    })


def gated_rubric(**scoring) -> Rubric:
    """x (0.5): X1 and the gate GX; y (0.5): Y1 — for gates_weighted."""
    return Rubric.model_validate({
        "categories": {"x": {"weight": 0.5, "criteria": ["X1", "GX"]}, "y": {"weight": 0.5, "criteria": ["Y1"]}},
        "criteria": {"X1": crit("x", False), "GX": crit("x", False), "Y1": crit("y", False)},
        "safety_gates": ["GX"],
        "pass_threshold": 0.8,
        "scoring": scoring,
    })


ALL_YES = {"G1": "YES", "G2": "YES", "A1": "YES", "A2": "YES", "B1": "YES", "B2": "YES", "C1": "YES"}


def yes(**changes):
    out = dict(ALL_YES)
    for k, v in changes.items():
        if v is None:
            out.pop(k)
        else:
            out[k] = v
    return out


# (case id, rubric, answers, turns, expected fields). Scores by hand from
# score = Σ category × weight, category = YES / (YES + NO + counted NA).
CASES = [
    ("all-yes", main_rubric(), ALL_YES, 10,
     dict(score=1.0, passed=True, category_scores={"a": 1.0, "b": 1.0, "c": 1.0}, failed_checks=[], assessable_weight=1.0)),
    ("one-no", main_rubric(), yes(A1="NO"), 10,
     dict(score=0.75, passed=False, failed_checks=["A1"], category_scores={"a": 0.5, "b": 1.0, "c": 1.0})),
    ("valid-na-skip", main_rubric(), yes(A2="NA"), 10,
     dict(score=1.0, passed=True, na_count=1, failed_checks=[])),
    ("valid-na-skip-leaves-denominator", main_rubric(), yes(A1="NO", A2="NA"), 10,
     dict(score=0.5, passed=False, category_scores={"a": 0.0, "b": 1.0, "c": 1.0})),  # a = 0/1
    ("valid-na-pass-counts-yes", main_rubric(na="pass"), yes(A1="NO", A2="NA"), 10,
     dict(score=0.75, category_scores={"a": 0.5, "b": 1.0, "c": 1.0})),  # a = 1/2
    ("invalid-na-counts-no", main_rubric(), yes(B1="NA"), 10,
     dict(score=0.85, passed=True, failed_checks=["B1"], category_scores={"a": 1.0, "b": 0.5, "c": 1.0})),
    ("invalid-na-counts-no-even-with-na-pass", main_rubric(na="pass"), yes(B1="NA"), 10,
     dict(score=0.85, failed_checks=["B1"])),
    ("error-fail", main_rubric(), yes(A1="ERROR"), 10,
     dict(score=0.75, passed=False, error_count=1, failed_checks=["A1"])),
    ("error-skip", main_rubric(error="skip"), yes(A1="ERROR"), 10,
     dict(score=1.0, passed=True, error_count=1, failed_checks=[], category_scores={"a": 1.0, "b": 1.0, "c": 1.0})),
    ("unparseable-is-error", main_rubric(), yes(A1="maybe"), 10,
     dict(score=0.75, error_count=1, failed_checks=["A1"])),
    ("gate-no", main_rubric(), yes(G1="NO"), 10,
     dict(score=1.0, passed=False, gate_failures=["G1"], safety_gate_failed=True, failed_checks=["G1"])),
    ("gate-error-fails-even-with-error-skip", main_rubric(error="skip"), yes(G1="ERROR"), 10,
     dict(score=1.0, passed=False, gate_failures=["G1"], error_count=1)),
    ("gate-invalid-na", main_rubric(), yes(G2="NA"), 10,
     dict(passed=False, gate_failures=["G2"], failed_checks=["G2"], na_count=1)),
    ("gate-valid-na", main_rubric(), yes(G1="NA"), 10,
     dict(passed=True, gate_failures=[], safety_gate_failed=False, na_count=1)),
    ("gate-not-asked-is-not-failed", main_rubric(), yes(G1=None), 10,
     dict(passed=True, gate_failures=[], not_asked=["G1"])),
    ("gate-only-category-not-scored", main_rubric(), yes(G1="NO"), 10,
     dict(category_scores={"a": 1.0, "b": 1.0, "c": 1.0})),
    ("gates-unweighted", gated_rubric(), {"X1": "YES", "GX": "NO", "Y1": "YES"}, 10,
     dict(score=1.0, passed=False, category_scores={"x": 1.0, "y": 1.0}, gate_failures=["GX"])),
    ("gates-weighted", gated_rubric(gates_weighted=True), {"X1": "YES", "GX": "NO", "Y1": "YES"}, 10,
     dict(score=0.75, passed=False, category_scores={"x": 0.5, "y": 1.0})),
    ("gates-weighted-yes-lifts-category", gated_rubric(gates_weighted=True), {"X1": "NO", "GX": "YES", "Y1": "YES"}, 10,
     dict(score=0.75, passed=False, gate_failures=[])),
    ("gates-unweighted-yes-ignored", gated_rubric(), {"X1": "NO", "GX": "YES", "Y1": "YES"}, 10,
     dict(score=0.5, passed=False)),
    ("empty-category-one", main_rubric(), yes(C1="NA"), 10,
     dict(score=1.0, passed=True, category_scores={"a": 1.0, "b": 1.0, "c": 1.0}, assessable_weight=0.8)),
    ("empty-category-one-with-a-failure", main_rubric(), yes(C1="NA", A1="NO"), 10,
     dict(score=0.75, assessable_weight=0.8)),  # .5·.5 + .3 + .2 (c scored 1.0)
    ("empty-category-renormalise", main_rubric(empty_category="renormalise"), yes(C1="NA", A1="NO"), 10,
     dict(score=0.6875, passed=False, category_scores={"a": 0.5, "b": 1.0, "c": None}, assessable_weight=0.8)),  # (.25 + .3) / .8
    ("renormalise-nothing-assessable", main_rubric(empty_category="renormalise"), {"G1": "YES"}, 10,
     dict(score=1.0, passed=True, assessable_weight=0.0, category_scores={"a": None, "b": None, "c": None})),
    ("one-nothing-assessable", main_rubric(), {"G1": "YES"}, 10,
     dict(score=1.0, passed=True, assessable_weight=0.0)),
    ("threshold-exactly-met", main_rubric(), yes(C1="NO"), 10,
     dict(score=0.8, passed=True)),  # .5 + .3
    ("threshold-a-hair-above-still-met", main_rubric(threshold=0.8 + 1e-12), yes(C1="NO"), 10,
     dict(passed=True)),
    ("threshold-a-hair-below", main_rubric(threshold=0.8 - 1e-12), yes(C1="NO"), 10,
     dict(passed=True)),
    ("threshold-just-missed", main_rubric(threshold=0.8 + 1e-6), yes(C1="NO"), 10,
     dict(passed=False)),
    ("default-threshold", main_rubric(threshold=None), yes(C1="NO"), 10,
     dict(threshold=0.8, passed=True)),
    ("min-turns-not-reached", main_rubric(), yes(B2="NO"), 5,
     dict(score=1.0, passed=True, not_asked=["B2"], failed_checks=[])),
    ("min-turns-reached", main_rubric(), yes(B2="NO"), 6,
     dict(score=0.85, failed_checks=["B2"], not_asked=[])),
    ("missing-answer-not-asked", main_rubric(), yes(B1=None), 10,
     dict(score=1.0, not_asked=["B1"], failed_checks=[])),
    ("answer-for-unknown-criterion-ignored", main_rubric(), yes(Z9="NO"), 10,
     dict(score=1.0, passed=True, failed_checks=[])),
    ("lowercase-answers", main_rubric(), {k: v.lower() for k, v in yes(A1="NO").items()}, 10,
     dict(score=0.75, failed_checks=["A1"], error_count=0)),
]


@pytest.mark.parametrize("rubric, answers, turns, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_score_answers(rubric, answers, turns, expected):
    got = score_answers(rubric, answers, turns)
    for field, want in expected.items():
        value = getattr(got, field)
        if isinstance(want, float):
            assert value == pytest.approx(want, abs=1e-12), field
        elif isinstance(want, dict):
            assert value == pytest.approx(want) if None not in want.values() else value == want, field
        else:
            assert value == want, field


def test_case_table_is_large_enough():
    assert len(CASES) >= 25


COMBINE = [
    ("any-no-wins", [{"A": "YES"}, {"A": "NO"}], {"A": "NO"}),
    ("yes-over-na", [{"A": "NA"}, {"A": "YES"}], {"A": "YES"}),
    ("all-na", [{"A": "NA"}, {"A": "NA"}], {"A": "NA"}),
    ("one-error-ignored", [{"A": "ERROR"}, {"A": "YES"}], {"A": "YES"}),
    ("one-error-ignored-no", [{"A": "NO"}, {"A": "ERROR"}], {"A": "NO"}),
    ("error-ignored-na", [{"A": "ERROR"}, {"A": "NA"}], {"A": "NA"}),
    ("all-erred", [{"A": "ERROR"}, {"A": "ERROR"}], {"A": "ERROR"}),
    ("all-asked-erred", [{"A": "ERROR"}, {}], {"A": "ERROR"}),
    ("absent-from-all", [{}, {}], {}),
    ("one-judge-only", [{"A": "YES"}, {"B": "NO"}], {"A": "YES", "B": "NO"}),
    ("three-judges", [{"A": "YES"}, {"A": "YES"}, {"A": "NO"}], {"A": "NO"}),
    ("unparseable-is-error", [{"A": "perhaps"}, {"A": "YES"}], {"A": "YES"}),
]


@pytest.mark.parametrize("per_judge, expected", [c[1:] for c in COMBINE], ids=[c[0] for c in COMBINE])
def test_combine(per_judge, expected):
    assert combine(per_judge) == expected


def test_record_is_the_spec_line():
    rubric = main_rubric()
    answers = yes(A1="NO")
    scored = score_answers(rubric, answers, 7)
    rec = record("s01", "combined", scored, answers, {"A1": "the reply lectured"}, 7)
    assert set(rec) == {"id", "judge", "pass", "score", "threshold", "category_scores", "answers", "reasonings",
                        "failed_checks", "safety_gate_failed", "error_count", "assessable_weight", "turns",
                        "floor_failures", "floors"} | ({"exchanges"} if "exchanges" in rec else set())
    assert rec["pass"] is False and rec["score"] == 0.75 and rec["failed_checks"] == ["A1"] and rec["turns"] == 7
    assert json.loads(json.dumps(rec)) == rec
