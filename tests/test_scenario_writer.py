"""The scenario writer (issue 13, §3): incoherent cells redrawn (seeded, recorded), references
kept beside the situation and never sent to the simulator or the base model, excluded flaw pairs
never rolled, and located errors for bad `excludes`, option descriptions and scenario fields."""

from __future__ import annotations

import json

import pytest
import yaml

from baselinehelp import Roles, cli, only_run, records, wire
from fakes.openai_server import FakeOpenAI
from helpers import yget, yset

from ftd_tui.core.evaluation.cells import MAX_REDRAWS, draw_scenarios, scenario_key
from ftd_tui.core.evaluation.personas import Persona, persona_from_seed
from ftd_tui.core.evaluation.scenarios import read_scenarios, set_fields, write_scenarios

T, P, SC = "config/input-taxonomy.yaml", "config/persona-template.yaml", "eval/scenarios.yaml"
CLASH = "A 13-year-old cannot be an exam-year calculus student who also runs a tutoring business."


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class Critic(Roles):
    """The critic answers ``incoherent`` times "incoherent" for the scenario whose persona text
    is ``target`` (s01's: the persona stays when a cell is redrawn), then coherent."""

    def __init__(self, target: str, incoherent: int = 1, reference: str | None = None):
        super().__init__()
        self.target, self.incoherent, self.reference, self.asked = target, incoherent, reference, 0

    def __call__(self, body: dict) -> dict:
        if body.get("model") != "critic":
            return super().__call__(body)
        self.count += 1
        text = "\n".join(str(m.get("content", "")) for m in body["messages"])
        answer = {"coherent": True, "reason": None,
                  "situation": "Tu as un contrôle de maths demain et les équations du second degré te bloquent."}
        if self.target in text and self.asked < self.incoherent:
            self.asked += 1
            answer.update(coherent=False, reason=CLASH)
        if self.reference:
            answer["reference"] = self.reference
        return {"text": json.dumps(answer, ensure_ascii=False)}


def _run(root, fake, roles, *args):
    """A smoke run (two scenarios of two exchanges, s01 among them): cheap, and it writes the
    full scenario's fields into eval/scenarios.yaml like any run."""
    fake.responder = roles
    wire(root, fake.base_url, judges=1, scenarios=3, min_per_gate=0)
    r = cli("baseline", str(root), "--format", "json", "--smoke", *args)
    assert r.returncode == 0, r.stderr + r.stdout
    return r


def _s01_persona(root) -> str:
    """What only s01's situation request holds: its persona (seed 9000) as ftd renders it."""
    tpl = yaml.safe_load((root / P).read_text())
    texts = [persona_from_seed(tpl, seed).text() for seed in (9000, 9001, 9002)]
    assert len(set(texts)) == 3  # the three scenarios' personas differ, so the match is s01's alone
    return texts[0]


def _short(root):
    for key in yget(root, T, "taxonomy.turn_ranges"):
        yset(root, T, f"taxonomy.turn_ranges.{key}", {"min": 2, "max": 3})


@pytest.mark.slow
def test_an_incoherent_cell_is_redrawn_recorded_and_the_same_on_a_second_run(sample):
    results = []
    for _ in range(2):
        root = sample("math-tutoring")
        if (root / SC).exists():
            (root / SC).unlink()
        _short(root)
        with FakeOpenAI() as fake:
            roles = Critic(_s01_persona(root), incoherent=2)
            _run(root, fake, roles)
        run = only_run(root)
        on_file = yaml.safe_load((root / SC).read_text())["scenarios"]
        s01 = next(s for s in on_file if s["id"] == "s01")
        redraws = records(run, "redraw")
        results.append((s01, [{k: r[k] for k in ("attempt", "from", "to", "reason")} for r in redraws]))
        shutil_rm(root)
    (first, recs1), (second, recs2) = results
    assert [r["attempt"] for r in recs1] == [1, 2]
    assert all(r["reason"] == CLASH for r in recs1)
    # recorded in eval/scenarios.yaml: where the cell came from and why, oldest first
    assert [x["reason"] for x in first["redrawn"]] == [CLASH, CLASH]
    assert first["redrawn"][1]["from"] == recs1[1]["from"] and first["cell"] == recs1[1]["to"]
    assert first["redrawn"][0]["from"] != first["cell"]
    # topic and subtopic stay (they carry the stratification and the gate)
    assert first["cell"]["topic"] == first["redrawn"][0]["from"]["topic"]
    assert first["cell"]["subtopic"] == first["redrawn"][0]["from"]["subtopic"]
    assert "incoherent" not in first
    # seeded: the second run redrew exactly the same cells
    assert (first, recs1) == (second, recs2)


def shutil_rm(root):
    import shutil

    shutil.rmtree(root)


def test_a_cell_still_incoherent_after_the_redraws_is_kept_with_a_warning(sample):
    root = sample("math-tutoring")
    _short(root)
    with FakeOpenAI() as fake:
        roles = Critic(_s01_persona(root), incoherent=99)
        r = _run(root, fake, roles)
        critic_calls = sum(1 for q in fake.requests if q["body"]["model"] == "critic")
    run = only_run(root)
    assert len(records(run, "redraw")) == MAX_REDRAWS
    assert critic_calls == 2 + MAX_REDRAWS  # two scenarios, and s01 asked MAX_REDRAWS more times, no more
    s01 = next(s for s in yaml.safe_load((root / SC).read_text())["scenarios"] if s["id"] == "s01")
    assert s01["incoherent"] == CLASH and len(s01["redrawn"]) == MAX_REDRAWS
    summary = json.loads((run / "summary.json").read_text())
    assert any("still finds its cell incoherent" in e and CLASH in e for e in summary["errors"])
    assert json.loads(r.stdout)["state"] == "done"  # a warning: the run itself is whole


def test_references_are_stored_editable_and_an_edit_rejudges_without_new_conversations(sample):
    root = sample("math-tutoring")
    _short(root)
    ref = "x² − 5x + 6 = 0 ⇒ (x − 2)(x − 3) = 0, so x = 2 or x = 3. Accept either order; both roots needed."
    with FakeOpenAI() as fake:
        fake.responder = Critic("\x00none", incoherent=0, reference=ref)
        wire(root, fake.base_url, judges=1, scenarios=2, min_per_gate=0)
        yset(root, "ftd.yaml", "eval.references", True, create=True)
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 0, r.stderr
        for q in fake.requests:
            if q["body"]["model"] in ("sim", "base"):
                assert "(x − 2)(x − 3)" not in json.dumps(q["body"], ensure_ascii=False)
        critic = [q["body"] for q in fake.requests if q["body"]["model"] == "critic"]
        assert critic and all("for the judges only" in json.dumps(b, ensure_ascii=False) for b in critic)
        text = (root / SC).read_text()
        assert text.count(f"    reference: |-\n      {ref}\n") == 2
        # a person edits one reference: judging is redone, the conversations are reused
        edited = text.replace(f"    reference: |-\n      {ref}\n", "    reference: |-\n      x = 2 or x = 3 (both).\n"
                              "      A reply giving only one root is wrong.\n", 1)
        (root / SC).write_text(edited)
        scen, problems = read_scenarios(edited)
        assert problems == [] and scen[0]["reference"] == "x = 2 or x = 3 (both).\nA reply giving only one root is wrong."
        fake.requests.clear()
        fake.responder = Critic("\x00none", incoherent=0)
        r = cli("baseline", str(root), "--format", "json")
        assert r.returncode == 1 and "eval/scenarios.yaml" in r.stderr  # the edit is a change: not resumed
        r = cli("baseline", str(root), "--format", "json", "--fresh")
        assert r.returncode == 0, r.stderr
        models = [q["body"]["model"] for q in fake.requests]
    assert models and not {"sim", "base", "critic"} & set(models)  # conversations and situations reused
    assert all(m.startswith("judge") for m in models)  # judging redone


def test_reference_and_trigger_leave_old_scenario_keys_alone():
    old = {"id": "s01", "cell": {"topic": "algebra"}, "gate": None, "persona_seed": 9000, "target_exchanges": 6,
           "situation": "You are stuck on question 4.", "topic_seeds": []}
    assert scenario_key(dict(old, reference=None, trigger=None)) == scenario_key(old)
    assert scenario_key(dict(old, reference="x = 3")) == scenario_key(old)  # conversations reused
    assert scenario_key(dict(old, reference="x = 3"), judging=True) != scenario_key(old, judging=True)  # re-judged
    assert scenario_key(dict(old, trigger="late")) != scenario_key(old)  # the simulator is told the trigger
    assert scenario_key(dict(old, redrawn=[{"from": {"topic": "x"}, "reason": "r"}])) == scenario_key(old)


def test_a_reference_survives_a_resave_byte_for_byte():
    ref = "Refund policy §4.2: annual plans are refunded pro rata within 30 days;\n\tmonthly plans are not."
    text = write_scenarios([{"id": "s01", "cell": {"topic": "billing"}, "gate": None, "persona_seed": 9000,
                             "target_exchanges": 5, "situation": None, "reference": ref, "topic_seeds": []}])
    after = set_fields(text, "s01", {"situation": "You were charged twice for March and your manager wants answers "
                                                  "by Friday; you paste the invoice numbers INV-2210 and INV-2211."})
    before_ref = text[text.index("reference:"):]
    assert before_ref in after
    assert read_scenarios(after)[0][0]["reference"] == ref
    # a hand-edited block stays exactly as the person wrote it
    hand = after.replace("reference:", "reference: |-\n      Pro rata within 30 days (annual only).\n    x_old:", 1)
    assert set_fields(hand, "s01", {"situation": "You were charged twice."}).count("Pro rata within 30 days") == 1


def test_excluded_flaw_pairs_are_never_rolled_together():
    tpl = {"persona_template": {
        "communication_style": {"options": ["terse", "rambling"], "word_limits": {"terse": [1, 20], "rambling": [60, 200]}},
        "flaw_patterns": {
            "primary": {"options": ["going_quiet", "yes_but", "over_explaining"], "per_message": 0.9},
            "secondary": {"options": ["over_explaining", "topic_drift", "going_quiet", "venting"], "per_message": 0.9,
                          "max": 3},
            "no_flaw_share": 0.1,
            "excludes": [["going_quiet", "over_explaining"], ["topic_drift", "venting"]]}}}
    pairs = [{"going_quiet", "over_explaining"}, {"topic_drift", "venting"}]
    rolled_any = 0
    for seed in range(3000):
        p = persona_from_seed(tpl, seed)
        held = {p.primary, *p.secondary}
        assert not any(pair <= held for pair in pairs), (seed, held)
        for n in range(1, 6):
            roll = set(p.flaws_for_message(n))
            rolled_any += len(roll) > 1
            assert not any(pair <= roll for pair in pairs)
    assert rolled_any > 1000
    # the backstop for a persona holding a pair anyway: the higher tier wins, no random draw
    p = Persona(seed=1, style=None, word_limit=(1, 9), primary="going_quiet", secondary=["over_explaining", "venting"],
                primary_rate=1.0, secondary_rate=1.0, excludes=frozenset(frozenset(x) for x in pairs))
    assert p.flaws_for_message(3) == ["going_quiet", "venting"] == p.flaws_for_message(3)


def test_without_excludes_the_persona_draws_are_unchanged(sample):
    root = sample("wellbeing-coaching")
    tpl = yaml.safe_load((root / P).read_text())
    with_empty = json.loads(json.dumps(tpl))
    with_empty["persona_template"]["flaw_patterns"]["excludes"] = []
    for seed in range(9000, 9300):
        a, b = persona_from_seed(tpl, seed), persona_from_seed(with_empty, seed)
        assert (a.primary, a.secondary, a.attributes) == (b.primary, b.secondary, b.attributes)


def test_option_descriptions_keep_the_draws_of_the_plain_form(sample):
    root = sample("math-tutoring")
    tax = yaml.safe_load((root / T).read_text())
    rubric = yaml.safe_load((root / "config/rubric.yaml").read_text())
    described = json.loads(json.dumps(tax))
    described["taxonomy"]["age_band"] = {k: {"weight": w, "description": f"You are {k[4:].replace('_', ' or ')}."}
                                         for k, w in tax["taxonomy"]["age_band"].items()}
    assert draw_scenarios(tax, rubric, 16, 2, 9000, None) == draw_scenarios(described, rubric, 16, 2, 9000, None)


def _check(root) -> list[dict]:
    r = cli("check", str(root), "--format", "json")
    assert "Traceback" not in r.stderr and r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)["diagnostics"]


def _findings(root, rule):
    found = []
    for f in _flatten(_check(root)):
        if f.get("rule") == rule:
            found.append(f)
    return found


def _flatten(data):
    if isinstance(data, dict):
        if "rule" in data and "line" in data:
            yield data
        for v in data.values():
            yield from _flatten(v)
    elif isinstance(data, list):
        for v in data:
            yield from _flatten(v)


def test_bad_excludes_are_located_errors_with_a_suggestion(sample):
    root = sample("wellbeing-coaching")
    text = (root / P).read_text()
    text = text.replace("    no_flaw_share: 0.20", "    excludes:\n      - [going_quite, burying_the_lede]\n"
                        "      - [yes_but, yes_but]\n      - [minimizing]\n      - just_a_string\n"
                        "    no_flaw_share: 0.20", 1)
    (root / P).write_text(text)
    lines = text.splitlines()
    per011 = _findings(root, "PER011")
    assert len(per011) == 1 and "going_quite" in per011[0]["message"] and "going_quiet" in per011[0]["hint"]
    assert "going_quite" in lines[per011[0]["line"] - 1]
    per012 = _findings(root, "PER012")
    assert len(per012) == 3 and all(f["severity"] == "error" for f in per012)
    assert [lines[f["line"] - 1].strip() for f in per012] == ["- [yes_but, yes_but]", "- [minimizing]", "- just_a_string"]


def test_bad_option_descriptions_are_located_errors(sample):
    root = sample("math-tutoring")
    yset(root, T, "taxonomy.difficulty.hard", {"weight": 0.25, "descripton": "pushes back"})
    yset(root, T, "taxonomy.session_type.quick_question", {"description": "one question, then gone"})
    yset(root, T, "taxonomy.age_band.age_13_14", {"weight": 0.30, "description": 14})
    found = _findings(root, "TAX013")
    msgs = " | ".join(f["message"] + " " + f.get("hint", "") for f in found)
    assert "unknown key 'descripton'" in msgs and "did you mean 'description'" in msgs
    assert "'quick_question' of 'session_type' has no weight" in msgs
    assert "description of 'age_13_14'" in msgs
    lines = (root / T).read_text().splitlines()
    assert all(f["line"] >= 1 and f["column"] >= 1 for f in found)
    assert any("descripton" in lines[f["line"] - 1] for f in found)
    # the mapping form itself is fine, and sampling reads its weight
    yset(root, T, "taxonomy.difficulty.hard", {"weight": 0.25, "description": "Pushes back on every hint."})
    yset(root, T, "taxonomy.session_type.quick_question", 0.35)
    yset(root, T, "taxonomy.age_band.age_13_14", 0.30)
    assert _findings(root, "TAX013") == [] and _findings(root, "TAX001") == []


def test_bad_trigger_reference_or_redrawn_in_scenarios_yaml_is_a_located_error(sample):
    root = sample("math-tutoring")
    (root / "eval").mkdir(exist_ok=True)
    (root / SC).write_text(
        "version: 1\nscenarios:\n"
        "  - id: s01\n    cell: {topic: algebra}\n    gate: SG1\n    trigger: sometime\n    persona_seed: 9000\n"
        "    target_exchanges: 6\n    reference: [x = 3]\n"
        "    redrawn: {from: age_13_14, reason: too young}\n", encoding="utf-8")
    found = _findings(root, "EVR006")
    lines = (root / SC).read_text().splitlines()
    assert [lines[f["line"] - 1].split(":")[0].strip() for f in found] == ["trigger", "reference", "redrawn"]
    assert "early, middle or late" in found[0]["message"]
    # and a run refuses the file with the same rule, before any call
    r = cli("baseline", str(root), "--forecast")
    assert r.returncode != 0 and "EVR006" in r.stderr and "Traceback" not in r.stderr
