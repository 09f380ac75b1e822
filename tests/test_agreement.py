"""Judge agreement, calibration confusion, flip rate and paired run differences (spec §7).

Every expected number is worked by hand in the comment beside it, so a change in the formula
shows up as a mismatch with arithmetic a reviewer can redo.
"""

from __future__ import annotations

import pytest

from ftd_tui.core.evaluation.agreement import (
    bootstrap_interval,
    cohen_kappa,
    confusion,
    criterion_agreement,
    expected_answer,
    fleiss_kappa,
    flip_rate,
    paired_differences,
)

Y, N = "YES", "NO"


def _pairs(yy: int, nn: int, yn: int, ny: int) -> tuple[list[str], list[str]]:
    a = [Y] * yy + [N] * nn + [Y] * yn + [N] * ny
    b = [Y] * yy + [N] * nn + [N] * yn + [Y] * ny
    return a, b


def _rows(a: list[str], b: list[str]) -> list[list[str]]:
    return [list(p) for p in zip(a, b)]


def _cohen_rows(rows):
    return cohen_kappa([r[0] for r in rows], [r[1] for r in rows])


# --- Cohen ---------------------------------------------------------------------------------

def test_cohen_2x2_by_hand():
    # 20 rows: both YES 10, both NO 5, a YES b NO 3, a NO b YES 2
    # po = 15/20 = 0.75; a says YES 13/20, b 12/20
    # pe = 13/20·12/20 + 7/20·8/20 = 0.39 + 0.14 = 0.53; κ = 0.22 / 0.47 = 0.468085
    a, b = _pairs(10, 5, 3, 2)
    assert cohen_kappa(a, b) == pytest.approx(0.468085, abs=1e-6)


def test_cohen_wikipedia_table():
    # 50 rows: both YES 20, both NO 15, a YES b NO 5, a NO b YES 10
    # po = 35/50 = 0.7; a YES 25/50, b YES 30/50; pe = 0.5·0.6 + 0.5·0.4 = 0.5; κ = 0.2/0.5 = 0.4
    a, b = _pairs(20, 15, 5, 10)
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_extremes():
    # perfect agreement with variation: po = 1, pe = 0.5 → κ = 1
    assert cohen_kappa([Y, N, Y, N], [Y, N, Y, N]) == pytest.approx(1.0)
    # perfect disagreement, both balanced: po = 0, pe = 0.5 → κ = -1
    assert cohen_kappa([Y, N], [N, Y]) == pytest.approx(-1.0)


def test_cohen_undefined_and_constant_judge():
    assert cohen_kappa([], []) is None
    # both always YES: pe = 1·1 = 1 → 0/0, undefined even though po = 1
    assert cohen_kappa([Y] * 6, [Y] * 6) is None
    # a always YES, b YES 8 of 10: po = 0.8, pe = 1·0.8 + 0·0.2 = 0.8 → κ = 0, defined
    assert cohen_kappa([Y] * 10, [Y] * 8 + [N] * 2) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        cohen_kappa([Y], [Y, N])


# --- Fleiss --------------------------------------------------------------------------------

def test_fleiss_three_raters_by_hand():
    # 10 conversations, 3 raters; YES counts per row 3,3,3,3,2,2,1,1,0,0
    # p_yes = 18/30 = 0.6, p_no = 0.4 → P̄e = 0.36 + 0.16 = 0.52
    # P_i = (Σ n_ij² − 3)/6: unanimous rows 1, 2–1 splits (4 + 1 − 3)/6 = 1/3
    # P̄ = (6·1 + 4·1/3)/10 = 0.73333; κ = (0.73333 − 0.52)/0.48 = 4/9
    counts = [3, 3, 3, 3, 2, 2, 1, 1, 0, 0]
    rows = [[Y] * c + [N] * (3 - c) for c in counts]
    assert fleiss_kappa(rows) == pytest.approx(4 / 9)


def test_fleiss_four_raters_by_hand():
    # 5 rows, 4 raters, YES counts 4,3,2,1,0: p_yes = 10/20 → P̄e = 0.5
    # P_i = (Σ n_ij² − 4)/12: 1, (9+1−4)/12 = 0.5, (4+4−4)/12 = 1/3, 0.5, 1 → P̄ = 10/3/5 = 2/3
    # κ = (2/3 − 0.5)/0.5 = 1/3
    rows = [[Y] * c + [N] * (4 - c) for c in (4, 3, 2, 1, 0)]
    assert fleiss_kappa(rows) == pytest.approx(1 / 3)


def test_fleiss_two_raters_is_scotts_pi():
    # the Cohen table above: pooled p_yes = 25/40 = 0.625 → P̄e = 0.390625 + 0.140625 = 0.53125
    # P̄ = po = 0.75; κ = 0.21875 / 0.46875 = 7/15
    a, b = _pairs(10, 5, 3, 2)
    assert fleiss_kappa(_rows(a, b)) == pytest.approx(7 / 15)


def test_fleiss_undefined_and_malformed():
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([[Y, Y, Y]] * 4) is None  # P̄e = 1
    with pytest.raises(ValueError):
        fleiss_kappa([[Y, N], [Y, N, Y]])
    with pytest.raises(ValueError):
        fleiss_kappa([[Y], [N]])


# --- bootstrap -----------------------------------------------------------------------------

def test_bootstrap_deterministic_and_contains_estimate():
    a, b = _pairs(10, 5, 3, 2)
    rows = _rows(a, b)
    first = bootstrap_interval(rows, _cohen_rows, seed=7)
    assert first == bootstrap_interval(rows, _cohen_rows, seed=7)
    assert first != bootstrap_interval(rows, _cohen_rows, seed=8)
    lo, hi = first
    assert lo < 0.468085 < hi
    assert -1.0 <= lo and hi <= 1.0


def test_bootstrap_edge_cases():
    assert bootstrap_interval([[Y, Y]], _cohen_rows) is None  # n < 2
    # defined only when the first resampled row is YES
    stat = lambda rs: 1.0 if rs[0] == [Y] else None  # noqa: E731
    # P(defined) = 1/4: most resamples undefined
    assert bootstrap_interval([[Y], [N], [N], [N]], stat) is None
    # P(defined) = 3/4: the undefined quarter is skipped, every defined value is 1.0
    assert bootstrap_interval([[Y], [Y], [Y], [N]], stat) == (1.0, 1.0)


# --- criterion agreement -------------------------------------------------------------------

def test_criterion_agreement_two_judges_counts_na_error_beside():
    a, b = _pairs(10, 5, 3, 2)
    # conv 21: a NA, b YES; 22: a ERROR, b NO; 23: a not asked, b NA; 24: a YES, b ERROR
    a = a + ["NA", "ERROR", None, "YES"]
    b = b + ["YES", "NO", "NA", "ERROR"]
    got = criterion_agreement({"a": a, "b": b})
    assert got["n"] == 20
    # a: YES 13 of the 20 + conv 24 → 14/21; b: 12 + conv 21 → 13 YES of 22 YES/NO answers
    assert got["yes_rate"]["a"] == pytest.approx(14 / 21)
    assert got["yes_rate"]["b"] == pytest.approx(13 / 22)
    assert got["raw_agreement"] == pytest.approx(0.75)
    assert got["kappa"] == pytest.approx(0.468085, abs=1e-6)
    assert got["kappa_kind"] == "cohen"
    assert got["na"] == {"a": 1, "b": 1}
    assert got["error"] == {"a": 1, "b": 1}
    assert got["undefined_reason"] is None
    lo, hi = got["interval"]
    assert lo < got["kappa"] < hi
    # n ≥ 10 but the interval reaches past 0.6: no flag
    assert hi >= 0.6
    assert got["flag"] is False and got["advice"] is None


def test_criterion_agreement_is_deterministic():
    a, b = _pairs(10, 5, 3, 2)
    assert criterion_agreement({"a": a, "b": b}, seed=3) == criterion_agreement({"a": a, "b": b}, seed=3)


def test_flag_needs_enough_n_and_low_upper():
    # 10 rows, all disagreeing, 5 each way: po = 0, pe = 0.5 → κ = -1; every resample ≤ 0
    a, b = _pairs(0, 0, 5, 5)
    got = criterion_agreement({"a": a, "b": b})
    assert got["n"] == 10
    assert got["kappa"] == pytest.approx(-1.0)
    assert got["interval"][1] < 0.6
    assert got["flag"] is True
    assert got["advice"] == "add calibration examples or split the question"
    # the same disagreement on 9 rows (YN ×5, NY ×4): κ = (0 − 40/81)/(41/81) = −40/41,
    # the interval just as low, but n < 10 is too few to call for calibration
    a, b = _pairs(0, 0, 5, 4)
    got = criterion_agreement({"a": a, "b": b})
    assert got["kappa"] == pytest.approx(-40 / 41)
    assert got["interval"][1] < 0.6
    assert got["flag"] is False and got["advice"] is None


def test_flag_on_chance_agreement_with_many_rows():
    # 40 rows, 10 in every cell: po = 0.5, pe = 0.5 → κ = 0
    a, b = _pairs(10, 10, 10, 10)
    got = criterion_agreement({"a": a, "b": b})
    assert got["kappa"] == pytest.approx(0.0)
    assert got["raw_agreement"] == pytest.approx(0.5)
    assert got["flag"] is True


def test_criterion_all_na():
    got = criterion_agreement({"a": ["NA"] * 5, "b": ["NA", "NA", "NA", "NA", "ERROR"]})
    assert got["n"] == 0
    assert got["yes_rate"] == {"a": None, "b": None}
    assert got["raw_agreement"] is None and got["kappa"] is None and got["interval"] is None
    assert got["undefined_reason"] == "no conversation both judges answered YES or NO"
    assert got["na"] == {"a": 5, "b": 4}
    assert got["error"] == {"a": 0, "b": 1}
    assert got["flag"] is False


def test_criterion_judge_never_varied():
    got = criterion_agreement({"a": [Y] * 12, "b": [Y] * 12})
    assert got["n"] == 12
    assert got["raw_agreement"] == pytest.approx(1.0)
    assert got["kappa"] is None and got["interval"] is None
    assert got["undefined_reason"] == "a judge never varied"
    assert got["flag"] is False


def test_criterion_one_judge():
    got = criterion_agreement({"a": [Y, N, Y, "NA", "ERROR", None]})
    assert got["n"] == 3
    assert got["yes_rate"] == {"a": pytest.approx(2 / 3)}
    assert got["na"] == {"a": 1} and got["error"] == {"a": 1}
    assert got["kappa"] is None
    assert got["undefined_reason"] == "one judge: nothing to agree with"


def test_criterion_three_judges_uses_fleiss():
    counts = [3, 3, 3, 3, 2, 2, 1, 1, 0, 0]
    rows = [[Y] * c + [N] * (3 - c) for c in counts]
    labels = {j: [r[i] for r in rows] + ["NA"] for i, j in enumerate(("a", "b", "c"))}
    got = criterion_agreement(labels)
    assert got["kappa_kind"] == "fleiss"
    assert got["n"] == 10
    assert got["kappa"] == pytest.approx(4 / 9)  # as in test_fleiss_three_raters_by_hand
    assert got["raw_agreement"] == pytest.approx(6 / 10)  # six unanimous rows
    assert got["na"] == {"a": 1, "b": 1, "c": 1}


def test_criterion_misaligned_lists():
    with pytest.raises(ValueError):
        criterion_agreement({"a": [Y, N], "b": [Y]})


# --- calibration and human review ----------------------------------------------------------

def test_expected_answer():
    assert expected_answer("PASS") == "YES"
    assert expected_answer("BORDERLINE_PASS") == "YES"
    assert expected_answer("FAIL") == "NO"
    assert expected_answer("BORDERLINE_FAIL") == "NO"
    assert expected_answer("NA") == "NA"
    assert expected_answer("UNREVIEWED") is None
    assert expected_answer("MAYBE") is None


def test_confusion_with_borderline_types():
    judged = [("PASS", Y), ("BORDERLINE_PASS", N), ("PASS", Y),
              ("FAIL", N), ("BORDERLINE_FAIL", Y), ("FAIL", N), ("FAIL", "ERROR"),
              ("NA", "NA"), ("NA", N), ("UNREVIEWED", Y)]
    got = confusion([(expected_answer(t), g) for t, g in judged])
    # answered: YES-side 3 (2 right), NO-side 3 (2 right, the ERROR apart), NA 2 (1 right)
    assert (got["n"], got["n_yes"], got["n_no"], got["n_na"]) == (8, 3, 3, 2)
    assert got["tpr"] == pytest.approx(2 / 3)
    assert got["tnr"] == pytest.approx(2 / 3)
    assert got["na_accuracy"] == pytest.approx(1 / 2)
    assert got["accuracy"] == pytest.approx(5 / 8)
    assert got["errors"] == 1
    assert got["matrix"]["NO"]["ERROR"] == 1
    assert got["matrix"]["YES"]["NO"] == 1


def test_confusion_empty_sides():
    got = confusion([(Y, Y), (Y, Y)])
    assert got["tpr"] == 1.0
    assert got["tnr"] is None and got["na_accuracy"] is None
    assert confusion([])["accuracy"] is None
    with pytest.raises(ValueError):
        confusion([("PERHAPS", Y)])


# --- flip rate -----------------------------------------------------------------------------

def test_flip_rate():
    # [N] alone is asked once and says nothing about stability; of the other four, two flip
    got = flip_rate([[Y, Y, Y], [Y, N], [N], ["NA", "NA"], [Y, "ERROR"]])
    assert got == {"n": 4, "flipped": 2, "rate": pytest.approx(0.5)}
    assert flip_rate([]) == {"n": 0, "flipped": 0, "rate": None}


# --- paired differences --------------------------------------------------------------------

def test_paired_differences():
    a = {"s1": 0.9, "s2": 0.5, "s3": 0.7, "s4": 0.6, "s5": 1.0}
    b = {"s1": 0.8, "s2": 0.6, "s3": 0.7, "s4": 0.4, "s6": 0.3}
    got = paired_differences(a, b, seed=1)
    # shared s1..s4: diffs 0.1, −0.1, 0.0, 0.2 → mean 0.2/4 = 0.05
    assert got["n"] == 4
    assert got["mean_diff"] == pytest.approx(0.05)
    assert (got["wins"], got["losses"], got["ties"]) == (2, 1, 1)
    assert got["ids_only_in_a"] == ["s5"] and got["ids_only_in_b"] == ["s6"]
    lo, hi = got["interval"]
    assert lo <= 0.05 <= hi
    assert -0.1 <= lo and hi <= 0.2  # a mean of resampled diffs stays within their range
    assert got == paired_differences(a, b, seed=1)


def test_paired_differences_ties_and_small_n():
    # 0.1 + 0.2 = 0.30000000000000004: a float-dust difference is a tie
    got = paired_differences({"s": 0.3}, {"s": 0.1 + 0.2})
    assert (got["wins"], got["losses"], got["ties"]) == (0, 0, 1)
    assert got["interval"] is None  # n < 2
    empty = paired_differences({"x": 1.0}, {"y": 1.0})
    assert empty["n"] == 0 and empty["mean_diff"] is None and empty["interval"] is None


def test_kappa_is_undefined_when_one_judge_never_varied():
    from ftd_tui.core.evaluation.agreement import criterion_agreement

    row = criterion_agreement({"a": ["YES"] * 12, "b": ["YES"] * 6 + ["NO"] * 6})
    assert row["n"] == 12 and row["raw_agreement"] == 0.5
    assert row["kappa"] is None and row["undefined_reason"] == "a judge never varied"
    assert row["flag"] is False  # nothing measured, nothing flagged
