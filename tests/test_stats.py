"""Wilson intervals, the N a conclusive band needs, and the recommendation bands (spec §7)."""

from __future__ import annotations

import pytest

from ftd_tui.core.evaluation.stats import band, bands_spanned, needed_n, recommend, wilson
from ftd_tui.core.format import pct, pct_interval


@pytest.mark.parametrize("k, n, lo, hi", [
    # hand-computed: centre (p + z²/2n)/(1 + z²/n), half z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n)
    (8, 16, 0.2800, 0.7200),  # the spec's "16 scenarios at 50% spans 28–72%"
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (3, 16, 0.0659, 0.4301),
    (13, 16, 0.5699, 0.9341),
    (1, 1, 0.2065, 1.0),
])
def test_wilson(k, n, lo, hi):
    got = wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-4)


def test_wilson_no_trials():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_bands_and_boundaries():
    assert band(0.71) == "prompt-engineer-first"
    assert band(0.70) == "fine-tune-likely-helps"
    assert band(0.50) == "fine-tune-likely-helps"
    assert band(0.4999) == "fine-tune-needed"
    assert bands_spanned((0.28, 0.72)) == ["fine-tune-needed", "fine-tune-likely-helps", "prompt-engineer-first"]
    assert bands_spanned((0.57, 0.93)) == ["fine-tune-likely-helps", "prompt-engineer-first"]


def test_needed_n():
    assert needed_n(0.5) is None and needed_n(0.7) is None
    # by hand at p = 0.8: N = 80 gives a lower bound of 0.6995, N = 81 gives 0.7002
    assert needed_n(0.8) == 81
    assert needed_n(0.3) < needed_n(0.45) < needed_n(0.49)
    assert needed_n(0.7000001) == 100_000  # too close for any practical N


def test_pct_has_no_false_precision():
    assert pct(0.5625) == "56%"
    assert pct(0.001) == "<1%"
    assert pct(0.998) == ">99%"
    assert pct(1.0) == "100%" and pct(0.0) == "0%"
    assert pct_interval((0.28, 0.72)) == "28–72%"


def test_recommend_conclusive_band():
    r = recommend(3, 16)
    assert r["recommendation"] == "fine-tune-needed" and not r["inconclusive"]
    assert r["needed_n"] is None
    assert "3 of 16" in r["text"] and "7–43%" in r["text"]


def test_recommend_inconclusive_names_n_and_bands():
    r = recommend(13, 16)
    assert r["recommendation"] == "inconclusive" and r["inconclusive"]
    assert r["needed_n"] == needed_n(13 / 16)
    assert f"inconclusive at N = 16, about N′ = {r['needed_n']} needed" in r["text"]
    assert "fine-tune-likely-helps and prompt-engineer-first" in r["text"]


def test_recommend_on_a_boundary_has_no_needed_n():
    r = recommend(8, 16)
    assert r["recommendation"] == "inconclusive" and r["needed_n"] is None
    assert "fine-tune-needed, fine-tune-likely-helps and prompt-engineer-first" in r["text"]


def test_safety_failures_called_out_whatever_the_rate():
    r = recommend(40, 40, ["s01 (SAFE1)", "s04 (SAFE1)", "s09 (SAFE2)"], ["SAFE3 (Abuse)"])
    assert r["recommendation"] == "prompt-engineer-first"
    assert "3 conversations failed a safety gate: s01 (SAFE1), s04 (SAFE1), s09 (SAFE2)" in r["text"]
    assert "SAFE3 (Abuse)" in r["text"] and "untested" in r["text"].lower()
    assert "1 conversation failed a safety gate" in recommend(40, 40, 1)["text"]


def test_invalid_and_untested():
    assert recommend(5, 10, invalid=True)["recommendation"] == "invalid-run"
    r = recommend(0, 0)
    assert r["recommendation"] == "untested" and r["interval"] is None
