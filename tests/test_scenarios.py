"""Scenario drawing, personas and eval/scenarios.yaml (ftd_tui/core/evaluation/scenarios.py)."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import pytest

from ftd_tui.core.artifacts.taxonomy import EDGE_TOPIC
from ftd_tui.core.evaluation.cells import DEFAULT_TURN_RANGE, draw_scenarios, is_multi_topic, scenario_key
from ftd_tui.core.evaluation.personas import flaw_text, persona_from_seed
from ftd_tui.core.evaluation.scenarios import read_scenarios, set_situation, write_scenarios
from ftd_tui.core.text.yamldoc import YamlDocument

SAMPLES = Path(__file__).resolve().parent.parent / "sample_projects"

NAMES = ["math-tutoring", "software-support", "wellbeing-coaching"]


def load(name: str, file: str) -> dict:
    return YamlDocument.from_bytes((SAMPLES / name / "config" / file).read_bytes()).data


def project(name: str) -> tuple[dict, dict, dict]:
    return load(name, "input-taxonomy.yaml"), load(name, "rubric.yaml"), load(name, "persona-template.yaml")


def topic_names(tax: dict) -> list[str]:
    return [t["name"] for t in tax["taxonomy"]["topics"]]


def cell_range(tax: dict, cell: dict) -> tuple[int, int]:
    body = tax["taxonomy"]
    by = body.get("turn_ranges_by", tax.get("turn_ranges_by"))
    ranges = body.get("turn_ranges", tax.get("turn_ranges"))
    r = ranges[cell[by]] if by else ranges["default"]
    return r["min"], r["max"]


# --------------------------------------------------------------------------- drawing


@pytest.mark.parametrize("name", NAMES)
def test_same_seeds_same_scenarios(name):
    tax, rub, _ = project(name)
    a = draw_scenarios(tax, rub, 20, 2, 9000, None)
    b = draw_scenarios(copy.deepcopy(tax), copy.deepcopy(rub), 20, 2, 9000, None)
    assert a == b
    assert write_scenarios(a, "h") == write_scenarios(b, "h")
    c = draw_scenarios(tax, rub, 20, 2, 9100, None)
    assert [s["cell"] for s in a] != [s["cell"] for s in c]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [16, 24])
def test_samples_stratified_and_gated(name, n):
    tax, rub, _ = project(name)
    per_gate = 2
    out = draw_scenarios(tax, rub, n, per_gate, 9000, None)
    assert len(out) == n
    assert [s["id"] for s in out] == [f"s{i:02d}" for i in range(1, n + 1)]
    # every topic at least once: gates x 2 plus the topic count fits in 16 for all samples
    assert set(topic_names(tax)) <= {s["cell"]["topic"] for s in out}
    gates = Counter(s["gate"] for s in out if s["gate"])
    assert set(gates) == set(rub["safety_gates"])
    assert all(c >= per_gate for c in gates.values())
    # the gate scenarios come first
    assert all(s["gate"] for s in out[: sum(gates.values())])
    seeds = [s["persona_seed"] for s in out]
    assert seeds == list(range(9000, 9000 + n))
    assert not set(seeds) & set(range(5000))
    dims = {k for k in tax["taxonomy"] if k not in ("topics", "turn_ranges", "turn_ranges_by")}
    subs = {t["name"]: t["subtopics"] for t in tax["taxonomy"]["topics"]}
    for s in out:
        assert set(s["cell"]) == {"topic", "subtopic"} | dims
        assert s["cell"]["subtopic"] in subs[s["cell"]["topic"]]
        for d in dims:
            assert s["cell"][d] in tax["taxonomy"][d]
        lo, hi = cell_range(tax, s["cell"])
        assert lo <= s["target_exchanges"] <= hi
        assert s["situation"] is None
        assert s["topic_seeds"] == []  # no sample rubric judges topic changes


def test_gate_scenarios_land_on_matching_subtopics():
    expect = {
        "wellbeing-coaching": {
            "SAFE1": ("crisis", "suicid", "self_harm"),
            "SAFE2": ("eating_disorder", "self_harm", "suicid"),
            "SAFE3": ("abuse", "_15", "self_harm", "worried_about_someone"),
        },
        "math-tutoring": {
            "SG1": ("safeguarding_disclosure",),
            "SG2": ("posing",),
            "SG3": ("live_exam",),
        },
        "software-support": {
            "SG1": ("commitment",),
            "SG2": ("account_access",),
            "SG3": ("prompt_injection",),
            "SG4": ("distress",),
        },
    }
    for name, gates in expect.items():
        tax, rub, _ = project(name)
        out = draw_scenarios(tax, rub, 24, 3, 9000, None)
        for gate, words in gates.items():
            mine = [s for s in out if s["gate"] == gate]
            assert len(mine) == 3
            for s in mine:
                assert s["cell"]["topic"] == EDGE_TOPIC
                assert any(w in s["cell"]["subtopic"] for w in words), (name, gate, s["cell"]["subtopic"])
    # the suicide-risk gate gets more than one crisis-like situation, not the same one twice
    tax, rub, _ = project("wellbeing-coaching")
    safe1 = [s["cell"]["subtopic"] for s in draw_scenarios(tax, rub, 16, 3, 9000, None) if s["gate"] == "SAFE1"]
    assert "crisis_indirect_risk_signals" in safe1 and len(set(safe1)) == 3


@pytest.mark.parametrize("name", NAMES)
def test_exchanges_capped(name):
    tax, rub, _ = project(name)
    out = draw_scenarios(tax, rub, 40, 2, 9000, 5)
    assert all(1 <= s["target_exchanges"] <= 5 for s in out)
    for s in out:
        lo, hi = cell_range(tax, s["cell"])
        assert min(lo, 5) <= s["target_exchanges"] <= min(hi, 5)
    assert all(s["target_exchanges"] == 1 for s in draw_scenarios(tax, rub, 10, 1, 9000, 0))


def test_gates_alone_exceed_n():
    tax, rub, _ = project("math-tutoring")
    out = draw_scenarios(tax, rub, 3, 2, 9000, None)
    assert len(out) == 2 * len(rub["safety_gates"])
    assert all(s["gate"] for s in out)


def test_few_slots_go_to_heaviest_topics():
    tax, _, _ = project("math-tutoring")
    out = draw_scenarios(tax, {}, 3, 2, 9000, None)
    # 0.14 ties between number and geometry: the earlier topic wins
    assert [s["cell"]["topic"] for s in out] == ["number_and_pre_algebra", "algebra", "edge_cases"]


@pytest.mark.parametrize("name", NAMES)
def test_dimension_frequencies_follow_weights(name):
    tax, rub, _ = project(name)
    n = 2000
    out = draw_scenarios(tax, rub, n, 2, 9000, None)
    body = tax["taxonomy"]
    for dim, opts in body.items():
        if dim in ("topics", "turn_ranges", "turn_ranges_by"):
            continue
        got = Counter(s["cell"][dim] for s in out)
        total = sum(opts.values())
        for o, w in opts.items():
            assert abs(got[o] / n - w / total) <= 0.03, (dim, o, got[o] / n, w)
    topics = Counter(s["cell"]["topic"] for s in out)
    for t in body["topics"]:
        assert abs(topics[t["name"]] / n - t["weight"]) <= 0.01, t["name"]


def test_ids_widen_with_n():
    tax, rub, _ = project("software-support")
    out = draw_scenarios(tax, rub, 120, 2, 9000, None)
    assert out[0]["id"] == "s001" and out[-1]["id"] == "s120"


def test_malformed_taxonomy_does_not_crash():
    rub = {"safety_gates": ["G1", 7, None], "criteria": {"G1": {"name": "crisis handled", "question": "q?"}}}
    bad_tax = [
        None, [], "text", {}, {"taxonomy": None}, {"taxonomy": {"topics": "no"}},
        {"taxonomy": {"topics": [None, 3, {"name": 5}, {"name": "a", "weight": "x"}, {"name": "b", "weight": -1},
                                 {"name": "ok", "weight": 0.5, "subtopics": "nope"},
                                 {"name": "edge_cases", "weight": 0.2, "subtopics": [None, "crisis", 4]}],
                      "difficulty": {"easy": "lots", "hard": 0.5, "odd": float("nan")},
                      "broken": [1, 2], "empty": {}, "topic": {"x": 1.0},
                      "turn_ranges_by": "difficulty", "turn_ranges": {"hard": {"min": 9, "max": 3}, "easy": "x"}}},
        {"taxonomy": {"topics": [{"name": "z", "weight": 0, "subtopics": []}]}, "turn_ranges": {"default": {"min": 2, "max": 2}}},
    ]
    for tax in bad_tax:
        for r in (rub, None, {"safety_gates": "G1"}, {"criteria": []}):
            out = draw_scenarios(tax, r, 5, 1, 9000, None)
            assert len(out) >= 5
            assert all(isinstance(s["target_exchanges"], int) and s["target_exchanges"] >= 1 for s in out)
            text = write_scenarios(out, "x")
            assert read_scenarios(text) == (out, []) or all(s["cell"]["topic"] is None for s in out)
    out = draw_scenarios(bad_tax[6], rub, 5, 1, 9000, None)
    assert out[0]["gate"] == "G1" and out[0]["cell"] == {"topic": "edge_cases", "subtopic": "crisis", "difficulty": "hard"}
    assert all(DEFAULT_TURN_RANGE[0] <= s["target_exchanges"] <= DEFAULT_TURN_RANGE[1] for s in out)
    assert {s["cell"]["topic"] for s in out} == {"ok", "edge_cases"}
    assert all(s["target_exchanges"] == 2 for s in draw_scenarios(bad_tax[7], {}, 4, 0, 1, None))


def test_multi_topic_criteria():
    yes = [
        {"name": "Handles a topic shift", "question": "Does it follow?"},
        {"question": "When the user raises a second topic, does the assistant address both?"},
        {"question": "If a new issue comes up mid-conversation, is it acknowledged?"},
        {"question": "When the user brings several concerns at once, does it prioritise?"},
        {"name": "Multi-topic continuity", "question": "Does it keep track?"},
        {"question": "When the user switches topics, does it follow without losing the first?"},
        {"question": "Does it handle another unrelated problem raised later?"},
    ]
    no = [
        {"name": "Off-topic handled kindly, then back to maths", "question": "When the student goes off-topic, "
         "does the tutor respond briefly and kindly and steer back to maths?"},
        {"question": "Does every reply ask at most two questions?"},
        {"question": "Does the assistant answer the problem the user raised?"},
        {"name": "Continuity", "question": "Do later replies use what the user said earlier?"},
        "not a dict",
    ]
    assert all(is_multi_topic(c) for c in yes)
    assert not any(is_multi_topic(c) for c in no)
    for name in NAMES:
        _, rub, _ = project(name)
        assert not any(is_multi_topic(c) for c in rub["criteria"].values())


def test_topic_seeds_when_rubric_has_multi_topic_criteria():
    tax, rub, _ = project("wellbeing-coaching")
    rub = copy.deepcopy(rub)
    rub["criteria"]["ARC2"] = {"name": "Second topic", "question": "When the user raises a second topic, is it handled?"}
    out = draw_scenarios(tax, rub, 24, 2, 9000, None)
    owner = {sub: t["name"] for t in tax["taxonomy"]["topics"] for sub in t["subtopics"]}
    for s in out:
        seeds = s["topic_seeds"]
        assert len(seeds) == 2 and len(set(seeds)) == 2
        for sub in seeds:
            assert owner[sub] not in (EDGE_TOPIC, s["cell"]["topic"])
    assert out == draw_scenarios(tax, rub, 24, 2, 9000, None)


# --------------------------------------------------------------------------- personas


@pytest.mark.parametrize("name", NAMES)
def test_persona_from_seed(name):
    _, _, tpl = project(name)
    body = tpl["persona_template"]
    style = body["communication_style"]
    for seed in range(9000, 9040):
        p = persona_from_seed(tpl, seed)
        assert p == persona_from_seed(copy.deepcopy(tpl), seed) == persona_from_seed(body, seed)
        assert p.seed == seed and p.style in style["options"]
        assert list(p.word_limit) == style["word_limits"][p.style]
        assert p.unit == "words"
        attrs = {k for k in body if k not in ("communication_style", "flaw_patterns")}
        assert set(p.attributes) == attrs
        for k, v in p.attributes.items():
            assert v in body[k]["options"]
            assert p.descriptions[v] == body[k]["descriptions"][v].strip()
        fp = body["flaw_patterns"]
        if p.flawless:
            assert p.primary is None and p.secondary == []
            assert all(p.flaws_for_message(i) == [] for i in range(20))
        else:
            assert p.primary in fp["primary"]["options"]
            assert len(p.secondary) == fp["secondary"]["max"]
            assert set(p.secondary) <= set(fp["secondary"]["options"]) and p.primary not in p.secondary
        text = p.text()
        assert style["descriptions"][p.style].strip()[:30] in text
        assert f"{p.word_limit[0]} to {p.word_limit[1]} words" in text
        for v in p.attributes.values():
            assert v.replace("_", " ") in text
        # flaws reach the simulator only through the message whose roll drew them (issue 13)
        for f in [p.primary, *p.secondary]:
            if f:
                assert f.replace("_", " ") not in text and "of messages" not in text


@pytest.mark.parametrize("name", NAMES)
def test_flaw_rates(name):
    _, _, tpl = project(name)
    fp = tpl["persona_template"]["flaw_patterns"]
    personas = [persona_from_seed(tpl, s) for s in range(9000, 14000)]
    flawless = sum(p.flawless for p in personas) / len(personas)
    assert abs(flawless - fp["no_flaw_share"]) <= 0.03
    flawed = [p for p in personas if not p.flawless]
    # one message from each of many personas, and many messages from one persona
    rolls = [p.flaws_for_message(i % 30) for i, p in enumerate(flawed)]
    assert abs(sum(p.primary in r for p, r in zip(flawed, rolls)) / len(flawed) - fp["primary"]["per_message"]) <= 0.03
    one = flawed[0]
    rolls = [one.flaws_for_message(i) for i in range(5000)]
    assert abs(sum(one.primary in r for r in rolls) / 5000 - fp["primary"]["per_message"]) <= 0.03
    for s in one.secondary:
        assert abs(sum(s in r for r in rolls) / 5000 - fp["secondary"]["per_message"]) <= 0.03
    assert all(len(r) <= 1 + fp["secondary"]["max"] for r in rolls)
    assert rolls == [one.flaws_for_message(i) for i in range(5000)]


def test_flaw_text():
    _, _, tpl = project("wellbeing-coaching")
    assert flaw_text([], tpl) == "none this message: write plainly"
    text = flaw_text(["minimizing", "going_quiet", "unknown_flaw"], tpl)
    assert "minimizing: Plays down something significant" in text
    assert "going quiet: A sudden drop" in text
    assert "unknown flaw" in text


def test_persona_from_malformed_template():
    for tpl in (None, {}, {"persona_template": None}, {"persona_template": {"communication_style": {"options": "x"},
                                                                              "flaw_patterns": [], "attr": 3,
                                                                              "other": {"options": [], "weights": [1]}}},
                {"persona_template": {"communication_style": {"options": ["a", "b"], "weights": [1],
                                                              "word_limits": {"a": [9, 3], "b": "x"}, "unit": "miles"},
                                      "flaw_patterns": {"primary": {"options": ["p"], "per_message": 2},
                                                        "secondary": {"options": ["q", "r"], "max": True},
                                                        "no_flaw_share": "half"}}}):
        p = persona_from_seed(tpl, 1)
        assert p.word_limit[0] <= p.word_limit[1] and p.unit == "words"
        assert isinstance(p.text(), str) and isinstance(p.flaws_for_message(3), list)
    p = persona_from_seed({"communication_style": {"options": ["a"]},
                           "flaw_patterns": {"primary": {"options": ["p"], "per_message": 1.0}, "no_flaw_share": 0}}, 5)
    assert p.style == "a" and p.flaws_for_message(1) == ["p"]


# --------------------------------------------------------------------------- the file


def sample_list() -> list[dict]:
    tax, rub, _ = project("wellbeing-coaching")
    out = draw_scenarios(tax, rub, 16, 2, 9000, None)
    out[0]["situation"] = "Mara, 34, writes at 2am.\nShe mentions giving her cat away 'for now'.\n\n  Indented: yes: # not a comment"
    out[1]["situation"] = "A short one-liner."
    out[2]["situation"] = "x" * 200
    out[3]["situation"] = " leading space\nand a trailing newline\n"
    out[4]["situation"] = 'quotes "and" \'mixed\' : colons, {braces} [brackets] \\ backslash\ttab'
    out[5]["situation"] = "control \x07 char\nsecond line"
    out[6]["cell"]["subtopic"] = "needs: quoting, {really}"
    out[7]["extra"] = {"note": "kept"}
    return out


def test_write_read_round_trip():
    scenarios = sample_list()
    text = write_scenarios(scenarios, "Editable; reused until redrawn.\n# already a comment")
    assert text.startswith("# Editable; reused until redrawn.\n# already a comment\n\nversion: 1\nscenarios:\n")
    assert "    situation: |-\n      Mara, 34, writes at 2am.\n" in text
    assert "    situation: A short one-liner.\n" in text
    assert "    cell: {topic: edge_cases, subtopic: crisis_indirect_risk_signals," in text
    got, problems = read_scenarios(text)
    assert problems == []
    assert got == scenarios
    assert write_scenarios(got, "Editable; reused until redrawn.\n# already a comment") == text
    assert read_scenarios(write_scenarios([], "")) == ([], [])
    default = write_scenarios(scenarios[:1])
    assert default.startswith("# ") and "reuses" in default


def test_read_reports_problems_with_lines():
    text = write_scenarios(sample_list()[:4], "h")
    lines = text.split("\n")
    i = next(k for k, l in enumerate(lines) if l.strip() == "persona_seed: 9001")
    lines[i] = "    persona_seed: soon"
    s03 = lines.index("  - id: s03")
    j = next(k for k, l in enumerate(lines) if l.strip().startswith("target_exchanges:") and k > s03)
    lines[j] = "    target_exchanges: 0"
    k = next(k for k, l in enumerate(lines) if l.startswith("  - id: s04"))
    lines[k] = "  - id: s01"
    lines.append("  - just a string")
    got, problems = read_scenarios("\n".join(lines))
    assert [s["id"] for s in got] == ["s01"]
    assert problems[0] == f"line {i + 1}: scenario s02: persona_seed must be a whole number; skipped"
    assert problems[1] == f"line {j + 1}: scenario s03: target_exchanges must be a whole number of at least 1; skipped"
    assert problems[2] == f"line {k + 1}: scenario s01: id 's01' appears twice; skipped"
    assert problems[3].startswith(f"line {len(lines)}: scenario 5 is not a mapping")
    assert read_scenarios("scenarios: [\n")[1][0].startswith("line ")
    assert read_scenarios("- a\n")[1] == ["line 1: expected a mapping with 'version' and 'scenarios'"]
    assert read_scenarios("version: 2\nscenarios: {}\n")[1] == [
        "line 1: version 2 is not 1; read as version 1", "line 2: 'scenarios' must be a list"]
    # optional fields may be left out
    got, problems = read_scenarios("scenarios:\n  - {id: a, cell: {topic: t}, persona_seed: 1, target_exchanges: 2}\n")
    assert problems == [] and got[0]["gate"] is None and got[0]["topic_seeds"] == [] and got[0]["situation"] is None


def test_set_situation_exact():
    text = write_scenarios(sample_list(), "h")
    text = text.replace("    gate: SAFE2\n", "    gate: SAFE2   # keep me\n", 1)
    target = "s09"
    for new in ("A plain new situation.", "Line one.\nLine two: with a colon.", "y" * 150, 'odd "quotes"\n'):
        out = set_situation(text, target, new)
        got, problems = read_scenarios(out)
        assert problems == []
        before = {s["id"]: s for s in read_scenarios(text)[0]}
        for s in got:
            assert s == (dict(before[s["id"]], situation=new) if s["id"] == target else before[s["id"]])
        old_lines, new_lines = text.split("\n"), out.split("\n")
        at = next(i for i, l in enumerate(old_lines) if l == f"  - id: {target}") + 5
        assert old_lines[:at] == new_lines[:at]
        tail = len(old_lines) - at - 1
        assert old_lines[-tail:] == new_lines[-tail:]
    multi = set_situation(text, target, "Line one.\nLine two.")
    assert "    situation: |-\n      Line one.\n      Line two.\n" in multi
    # editing a block situation again, and setting it back to null
    again = set_situation(multi, target, "Only one line now.")
    assert read_scenarios(again)[0][8]["situation"] == "Only one line now."
    assert set_situation(multi, target, None) != multi
    assert read_scenarios(set_situation(multi, target, None))[0] == read_scenarios(text)[0]
    # a comment after the old value stays
    lines = text.replace("  - id: s09\n", "  - id: s09 # mine\n").split("\n")
    at = lines.index("  - id: s09 # mine") + 5
    assert lines[at] == "    situation: null"
    lines[at] = "    situation: null  # to write"
    commented = "\n".join(lines)
    out = set_situation(commented, target, "First.\nSecond.")
    assert "    situation: |-  # to write\n      First.\n      Second.\n" in out
    with pytest.raises(KeyError):
        set_situation(text, "nope", "x")


def test_set_situation_creates_missing_key():
    text = "version: 1\nscenarios:\n  - id: a\n    cell: {topic: t}\n    persona_seed: 1\n    target_exchanges: 2\n"
    out = set_situation(text, "a", "New.")
    assert out.startswith(text)
    assert read_scenarios(out)[0][0]["situation"] == "New."


def test_scenario_key():
    scenarios = sample_list()
    a = scenarios[9]
    k = scenario_key(a)
    assert k == scenario_key(copy.deepcopy(a)) == scenario_key(dict(a, id="other"))
    assert k == scenario_key(dict(a, cell=dict(reversed(list(a["cell"].items())))))
    assert len(k) == 16 and int(k, 16) >= 0
    for field, value in (("situation", "changed"), ("persona_seed", 1), ("target_exchanges", 99), ("gate", "SAFE1"),
                         ("topic_seeds", ["x"]), ("cell", dict(a["cell"], topic="other"))):
        assert scenario_key(dict(a, **{field: value})) != k
    assert len({scenario_key(s) for s in scenarios}) == len(scenarios)
    # stable across processes and versions: a fixed value, not hash()
    fixed = {"cell": {"topic": "t", "subtopic": "s"}, "gate": None, "persona_seed": 9000, "target_exchanges": 5,
             "situation": None, "topic_seeds": []}
    assert scenario_key(fixed) == scenario_key({k: v for k, v in fixed.items() if k not in ("gate", "situation", "topic_seeds")})
    assert scenario_key(fixed) == "da2ade0efa181f13"
