"""Category floors (min_score), the slack rule (RUB026), bad input for check / min_score, and a
baseline on the fake server with a computed criterion and a floor."""

from __future__ import annotations

import itertools
import json
import random
import re

import pytest

from baselinehelp import Roles, cli, judgments, only_run, records, wire
from conftest import SAMPLE_NAMES
from fakes.openai_server import FakeOpenAI
from helpers import diagnostics, yget, yset

from ftd_tui.core.artifacts.rubric import Rubric
from ftd_tui.core.evaluation.scoring import floor_text, score_answers, slack, slack_text

R = "config/rubric.yaml"


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def crit(cat: str | None = None) -> dict:
    return {"name": "c", "question": "Does it?", "na_valid": False, **({"category": cat} if cat else {})}


def rubric(cats: dict[str, tuple[float, int, float | None]], gates: int = 1, threshold: float = 0.8,
           empty: str = "one") -> Rubric:
    """cats: name -> (weight, criteria, min_score); criteria are named <name>1, <name>2, …"""
    criteria, categories = {}, {}
    for name, (w, n, floor) in cats.items():
        ids = [f"{name}{i}" for i in range(1, n + 1)]
        criteria.update({cid: crit(name) for cid in ids})
        categories[name] = {"weight": w, "criteria": ids, **({"min_score": floor} if floor is not None else {})}
    gate_ids = [f"G{i}" for i in range(1, gates + 1)]
    criteria.update({g: crit() for g in gate_ids})
    return Rubric.model_validate({"categories": categories, "criteria": criteria, "safety_gates": gate_ids,
                                  "pass_threshold": threshold, "scoring": {"empty_category": empty}})


def yes(r: Rubric, **no: str) -> dict[str, str]:
    return {cid: no.get(cid, "YES") for cid in r.criteria}


# ---------------------------------------------------------------- floors


def test_a_floor_fails_a_conversation_whatever_the_total():
    r = rubric({"craft": (0.7, 4, None), "safety_talk": (0.3, 2, 0.67)})
    s = score_answers(r, yes(r, safety_talk1="NO"), 6)
    assert s.score == pytest.approx(0.85) and s.score >= s.threshold  # above the threshold …
    assert not s.passed and s.floor_failures == ["safety_talk"]  # … and still a fail
    assert floor_text("safety_talk", s.category_scores["safety_talk"], s.floors["safety_talk"]) == \
        "below the floor of safety_talk: 0.50 < 0.67"
    assert score_answers(r, yes(r), 6).passed


def test_floors_compare_unrounded_and_an_empty_category_never_fails_one():
    r = rubric({"a": (0.5, 3, 2 / 3), "b": (0.5, 2, 1.0)}, threshold=0.5)
    s = score_answers(r, yes(r, a1="NO"), 6)  # a = 0.666…, exactly at its floor
    assert s.passed and s.floor_failures == []
    # nothing assessable in b (both NA, na_valid false would count NO: make them not asked instead)
    answers = {k: v for k, v in yes(r).items() if not k.startswith("b")}
    for mode in ("one", "renormalise"):
        r2 = rubric({"a": (0.5, 3, 2 / 3), "b": (0.5, 2, 1.0)}, threshold=0.5, empty=mode)
        s2 = score_answers(r2, answers, 6)
        assert s2.floor_failures == [] and s2.passed, mode


def test_a_floor_written_near_a_rounded_score_shows_enough_digits():
    assert floor_text("tone", 0.665, 0.67) == "below the floor of tone: 0.665 < 0.670"


# ---------------------------------------------------------------- slack against brute force


def brute(r: Rubric) -> tuple[int, int]:
    """(any k, most) by scoring every subset of non-gate failures."""
    non_gate = [c for c in r.criteria if c not in r.safety_gates and any(c in cat.criteria for cat in r.categories.values())]
    passes = {}
    for k in range(len(non_gate) + 1):
        passes[k] = [score_answers(r, yes(r, **{c: "NO" for c in subset}), 6).passed
                     for subset in itertools.combinations(non_gate, k)]
    any_k = max(k for k in passes if all(all(passes[j]) for j in range(k + 1)))
    most = max(k for k in passes if any(passes[k]))
    return any_k, most


def test_slack_matches_brute_force_on_random_small_rubrics():
    rng = random.Random(13)
    for trial in range(120):
        n_cats = rng.randint(1, 3)
        weights = [rng.choice([0.1, 0.2, 0.25, 0.3, 0.5]) for _ in range(n_cats)]
        total = sum(weights)
        cats = {f"k{i}": (weights[i] / total, rng.randint(1, 4),
                          rng.choice([None, None, 0.5, 0.6, 2 / 3, 0.75, 1.0])) for i in range(n_cats)}
        r = rubric(cats, threshold=rng.choice([0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0]))
        s = slack(r)
        assert (s.any_k, s.most) == brute(r), (trial, cats, r.pass_threshold, slack_text(s))
        # the named sets are what they claim
        assert score_answers(r, yes(r, **{c: "NO" for c in s.any_example}), 6).passed
        assert score_answers(r, yes(r, **{c: "NO" for c in s.most_example}), 6).passed
        if s.fail_example is not None:
            assert len(s.fail_example) == s.any_k + 1
            assert not score_answers(r, yes(r, **{c: "NO" for c in s.fail_example}), 6).passed


def test_slack_text_names_the_sets():
    r = rubric({"PD": (0.35, 4, None), "CM": (0.3, 4, None), "RS": (0.35, 4, None)})
    text = slack_text(slack(r))
    assert text.startswith("any two non-gate failures still pass, e.g. PD1 + PD2 → 0.825 ≥ 0.80; "
                           "3 can fail (PD1 + PD2 + PD3 → 0.738 < 0.80)"), text
    floored = rubric({"PD": (0.5, 2, 0.75), "CM": (0.5, 4, None)})
    text = slack_text(slack(floored))
    assert "a single non-gate failure can fail a conversation: PD1 → below the floor of PD: 0.50 < 0.75" in text
    assert "up to 1 pass in the cheapest places (CM1 → 0.875 ≥ 0.80)" in text


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_ftd_check_shows_the_slack_on_every_sample(name, sample):
    root = sample(name)
    found = [d for d in diagnostics(root) if d.rule == "RUB026"]
    assert len(found) == 1 and found[0].severity == "info" and found[0].file == R
    assert re.search(r"non-gate failures? (still pass|can fail)", found[0].message)
    line = (root / R).read_text().splitlines()[found[0].line - 1]
    assert line.startswith("pass_threshold:")  # at pass_threshold's value: what the slack is about


# ---------------------------------------------------------------- bad input


def test_bad_check_and_floor_are_located_errors_never_a_traceback(sample):
    root = sample("math-tutoring")
    yset(root, R, "criteria.CM1.check", {"kind": "question_per_reply", "max": 2}, create=True)
    yset(root, R, "criteria.CM2.check", {"kind": "regex", "pattern": "(great|good) question("}, create=True)
    yset(root, R, "criteria.CM3.check", {"kind": "regex", "pattern": r"(\w+\s?)+$"}, create=True)
    yset(root, R, "categories.pedagogy.min_score", 1.5, create=True)
    yset(root, R, "categories.gates.min_score", 0.5, create=True)
    r = cli("check", str(root))
    assert r.returncode != 0 and "Traceback" not in r.stdout + r.stderr
    text = (root / R).read_text().splitlines()

    def at(rule: str, startswith: str) -> str:
        m = [x for x in r.stdout.splitlines() if f"  {rule}  " in x and startswith in x]
        assert m, (rule, r.stdout)
        line, col = map(int, re.match(r"config/rubric\.yaml:(\d+):(\d+)", m[0].strip()).groups())
        return text[line - 1][col - 1:]

    assert at("RUB023", "unknown check kind 'question_per_reply'").startswith("question_per_reply")
    assert "did you mean 'questions_per_reply'?" in r.stdout
    assert at("RUB024", "does not compile: missing ), unterminated subpattern at position 21").startswith("(great")
    assert at("RUB024", "nests a repeat inside a repeat").startswith("(\\w+") or "nests a repeat" in r.stdout
    assert at("RUB025", "min_score 1.5 is not a number in 0..1").startswith("1.5")
    assert at("RUB025", "scores nothing").startswith("0.5")
    # each reported once, under its own rule, not again as RUB001
    assert "RUB001" not in r.stdout
    # computed criteria ask for no calibration examples
    yset(root, R, "criteria.CM1.check", {"kind": "questions_per_reply", "max": 2})
    yset(root, R, "criteria.CM1.calibration_examples", [])
    assert not [d for d in diagnostics(root) if "CM1" in d.message and d.rule in ("RUB003", "RUB005", "RUB006")]


# ---------------------------------------------------------------- a baseline with both


@pytest.mark.slow
def test_baseline_answers_computed_criteria_without_a_call_and_applies_floors(sample):
    root = sample("software-support")
    # CC1 becomes computed: every reply of the fake base model asks one question, so max 0 fails it
    yset(root, R, "criteria.CC1.check", {"kind": "questions_per_reply", "max": 0}, create=True)
    yset(root, R, "categories.conversation_craft.min_score", 0.8, create=True)
    name, question = yget(root, R, "criteria.CC1.name"), yget(root, R, "criteria.CC1.question")
    assert not [d for d in diagnostics(root) if d.severity == "error"]
    with FakeOpenAI() as fake:
        roles = Roles()
        fake.responder = roles
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
        judge_reqs = [q["body"] for q in fake.requests if str(q["body"].get("model", "")).startswith("judge")]
        assert judge_reqs
        for body in judge_reqs:
            sent = "\n".join(str(m.get("content", "")) for m in body["messages"])
            assert "Criterion CC1" not in sent and question not in sent and name not in sent
    run = only_run(root)
    computed = [x for x in records(run, "computed")]
    scen = json.loads((run / "scenarios.json").read_text())
    assert {x["conv"] for x in computed} == {s["id"] for s in scen} and len(computed) == len(scen)  # once each
    assert not [x for x in records(run, "answer") if x["criterion"] == "CC1"]
    js = judgments(run)
    for j in js:
        assert j["answers"]["CC1"] == "NO" and j["computed"] == ["CC1"]
        assert "question sentences per assistant reply" in j["reasonings"]["CC1"] and j["exchanges"]["CC1"] == 1
    combined = [j for j in js if j["judge"] == "combined"]
    # 0.35 + 0.35 + 0.30 × 0.75 = 0.925 ≥ 0.80, but conversation_craft 0.75 < its floor 0.80
    for j in combined:
        assert j["score"] == pytest.approx(0.925) and j["score"] >= j["threshold"]
        assert j["pass"] is False and j["floor_failures"] == ["conversation_craft"] and j["floors"] == {"conversation_craft": 0.8}
    report = (root / "base-model-eval-results.md").read_text()
    assert "below the floor of conversation_craft: 0.75 < 0.80" in report
    assert f"{name} (computed)" in report
    agreement = report[report.index("## Agreement between judges"):]
    assert re.search(r"\| CC1 \| \d+ \| computed: 0% \|.*\| computed \|", agreement)
