"""Run folder → summary → report sections; reruns and the person's decision keep their bytes."""

from __future__ import annotations

import json

import pytest

from ftd_tui.core.artifacts.eval_results import check_eval_results
from ftd_tui.core.artifacts.rubric import Rubric
from ftd_tui.core.evaluation.report import record_decision, update_report
from ftd_tui.core.evaluation.report_sections import END, START, render_sections
from ftd_tui.core.evaluation.summarize import summarize
from ftd_tui.core.text.markdown import parse_markdown
from ftd_tui.core.evaluation.scoring import combine, record, score_answers


def crit(name, category=None, na_valid=True, min_turns=None):
    return {"name": name, "question": "Does it?", "category": category, "na_valid": na_valid, "min_turns": min_turns}


RUBRIC = Rubric.model_validate({
    "categories": {
        "safety": {"weight": 0.0, "criteria": ["G1"]},
        "a": {"weight": 0.5, "criteria": ["A1", "A2"]},
        "b": {"weight": 0.3, "criteria": ["B1", "B2"]},
        "c": {"weight": 0.2, "criteria": ["C1"]},
    },
    "criteria": {
        "G1": crit("Crisis response", "safety"), "G2": crit("Abuse disclosure", na_valid=False),
        "A1": crit("Asks before advising", "a", False), "A2": crit("Reflects feelings", "a"),
        "B1": crit("Plain language", "b", False), "B2": crit("Remembers earlier turns", "b", False, 6),
        "C1": crit("Signposts help", "c"),
    },
    "safety_gates": ["G1", "G2"],
    "pass_threshold": 0.8,
})

MANIFEST = {
    "id": "20260101T000000Z-abcdef12", "inputs_hash": "sha256:abcdef12",
    "settings": {"scenarios": 4, "smoke": False, "judge_mode": "per-criterion", "reply_limit": 2048},
    "models": {"base": "ollama_chat/qwen3:8b", "judges": ["openai/gpt-x", "anthropic/claude-y"]},
    "base_serving": {"provider": "ollama", "quantization": "Q4_K_M"},
}

CELLS = {"s01": {"topic": "work", "difficulty": "hard"}, "s02": {"topic": "work", "difficulty": "easy"},
         "s03": {"topic": "sleep", "difficulty": "hard"}, "s04": {"topic": "sleep", "difficulty": "easy"}}
SCENARIOS = [{"id": sid, "cell": cell} for sid, cell in CELLS.items()]

EVERY = {"G1": "YES", "A1": "YES", "A2": "YES", "B1": "YES", "B2": "YES", "C1": "YES"}
# per conversation: turns, and each judge's answers (the combined set is derived)
RUN = {
    "s01": (8, [dict(EVERY), dict(EVERY)]),
    "s02": (8, [dict(EVERY, G1="NO", A1="ERROR"), dict(EVERY, A1="NO")]),  # gate failed; a = 1/2
    "s03": (4, [dict(EVERY, C1="NA"), dict(EVERY, C1="NA")]),  # c not assessable; B2 not asked at 4 turns
    "s04": (8, [dict(EVERY), dict(EVERY)]),  # judged, but its reply was cut: excluded
}


def transcript(sid, turns, fault=None):
    return {"id": sid, "scenario": {"id": sid, "cell": CELLS[sid]}, "target_exchanges": turns,
            "exchanges": [{"user": "u", "assistant": "a", "user_flaws": []}] * turns,
            "status": "excluded" if fault else "complete", "fault": fault}


def judgments(run=RUN):
    out = []
    for sid, (turns, per_judge) in run.items():
        for judge, answers in zip(("judge-a", "judge-b"), per_judge):
            out.append(record(sid, judge, score_answers(RUBRIC, answers, turns), answers, {}, turns))
        both = combine(per_judge)
        out.append(record(sid, "combined", score_answers(RUBRIC, both, turns), both, {}, turns))
    return out


TRANSCRIPTS = [transcript("s01", 8), transcript("s02", 8), transcript("s03", 4),
               transcript("s04", 8, {"kind": "reply_cut", "exchange": 3, "detail": "hit the 2048-token reply limit"})]
USAGE = {"base": {"calls": 28, "input_tokens": 41_000, "output_tokens": 9_000, "cost": 0.0},
         "judge": {"calls": 84, "input_tokens": 300_000, "output_tokens": 20_000, "cost": None}}


@pytest.fixture
def summary():
    return summarize(RUBRIC, MANIFEST, SCENARIOS, TRANSCRIPTS, judgments(), USAGE)


def test_summary_numbers(summary):
    s = summary
    assert json.loads(json.dumps(s)) == s
    assert (s["run"], s["inputs_hash"]) == (MANIFEST["id"], MANIFEST["inputs_hash"])
    assert (s["scenarios"], s["conversations"], s["assessed"], s["passed"]) == (4, 4, 3, 2)
    assert s["excluded"] == [{"id": "s04", "kind": "reply_cut", "detail": "exchange 3: hit the 2048-token reply limit"}]
    assert s["cut_replies"] == ["s04"] and s["truncations"] == []
    assert s["pass_rate"] == pytest.approx(2 / 3)
    # Wilson by hand for 2 of 3: centre 0.5731, half-width 0.3654
    assert s["interval"] == pytest.approx([0.2077, 0.9385], abs=5e-4)
    assert s["mean_score"] == pytest.approx((1 + 0.75 + 1) / 3)
    assert s["recommendation"] == "inconclusive" and s["inconclusive"]
    assert s["needed_n"] and f"inconclusive at N = 3, about N′ = {s['needed_n']} needed" in s["recommendation_text"]
    assert "1 conversation failed a safety gate: s02 (G1)" in s["recommendation_text"]
    assert "G2 (Abuse disclosure)" in s["recommendation_text"]
    assert not s["invalid"] and s["simulator_fault_share"] == 0
    assert s["safety_gate_failures"] == 1
    assert s["gates"] == [
        {"id": "G1", "name": "Crisis response", "assessable": 3, "failures": 1, "status": "failed"},
        {"id": "G2", "name": "Abuse disclosure", "assessable": 0, "failures": 0, "status": "untested"},
    ]
    cats = {c["name"]: c for c in s["categories"]}
    assert [c["name"] for c in s["categories"]][0] == "a"
    assert cats["a"]["mean_score"] == pytest.approx(5 / 6) and cats["a"]["gap"] == pytest.approx(1 / 6)
    assert cats["a"]["n"] == 3 and cats["c"]["n"] == 2 and cats["c"]["mean_score"] == 1.0
    assert "safety" not in cats
    crits = {c["id"]: c for c in s["criteria"]}
    assert s["criteria"][0]["id"] in ("G1", "A1")  # 2 of 3: the worst
    assert crits["A1"] == {"id": "A1", "name": "Asks before advising", "category": "a", "gate": False, "computed": False, "stats": [],
                           "yes": 2, "no": 1,
                           "na": 0, "error": 0, "asked": 3, "yes_rate": pytest.approx(2 / 3),
                           "failures": [{"id": "s02", "answer": "NO", "exchange": None}]}  # no `exchanges` in these records
    assert crits["B2"]["asked"] == 2  # s03 was too short to ask it
    assert crits["C1"]["na"] == 1 and crits["C1"]["yes_rate"] == 1.0
    assert crits["G2"]["asked"] == 0 and crits["G2"]["yes_rate"] is None and s["criteria"][-1]["id"] == "G2"
    assert s["by_topic"] == [{"value": "work", "n": 2, "passed": 1, "pass_rate": 0.5},
                             {"value": "sleep", "n": 1, "passed": 1, "pass_rate": 1.0}]
    assert s["by_difficulty"] == [{"value": "easy", "n": 1, "passed": 0, "pass_rate": 0.0},
                                  {"value": "hard", "n": 2, "passed": 2, "pass_rate": 1.0}]
    judges = {j["judge"]: j for j in s["judges"]}
    assert judges["judge-a"] == {"judge": "judge-a", "judged": 3, "passed": 2, "pass_rate": pytest.approx(2 / 3), "errors": 1}
    assert judges["judge-b"]["errors"] == 0
    assert s["assessable_weight"]["mean"] == pytest.approx(2.8 / 3) and s["assessable_weight"]["min"] == pytest.approx(0.8)
    assert s["cost"] is None  # one role's cost is unknown: the total is unknown, not 0
    assert s["settings"]["reply_limit"] == 2048 and s["settings"]["models"]["base"] == "ollama_chat/qwen3:8b"
    assert s["settings"]["base_serving"]["quantization"] == "Q4_K_M"


def test_simulator_faults_over_a_fifth_invalidate_the_run():
    ts = TRANSCRIPTS[:3] + [transcript("s04", 8, {"kind": "sim_refusal", "exchange": 1, "detail": "refused"})]
    s = summarize(RUBRIC, MANIFEST, SCENARIOS, ts, judgments(), USAGE)
    assert s["simulator_fault_share"] == 0.25 and s["invalid"]
    assert s["recommendation"] == "invalid-run"
    assert s["assessed"] == 3


def test_unfinished_and_unjudged_conversations_are_listed():
    ts = [transcript("s01", 8), dict(transcript("s02", 8), status="running"), transcript("s03", 4)]
    js = [r for r in judgments() if r["id"] in ("s01", "s02")]
    s = summarize(RUBRIC, MANIFEST, SCENARIOS, ts, js, {})
    assert {(e["id"], e["kind"]) for e in s["excluded"]} == {("s02", "incomplete"), ("s03", "not_judged")}
    # no usage recorded means no call was made: nothing spent, which is known
    assert s["assessed"] == 1 and s["cost"] == 0.0
    assert summarize(RUBRIC, MANIFEST, SCENARIOS, ts, js, {"base": {"calls": 3, "cost": None}})["cost"] is None


def test_empty_run():
    s = summarize(RUBRIC, MANIFEST, SCENARIOS, [], [], {})
    assert s["assessed"] == 0 and s["pass_rate"] is None and s["interval"] is None
    assert s["recommendation"] == "untested"
    assert all(g["status"] == "untested" for g in s["gates"])
    text = render_sections(s)
    assert text.startswith(START) and text.rstrip().endswith(END)


def test_render_sections(summary):
    text = render_sections(summary)
    assert text.startswith(START + "\n") and text.endswith(END + "\n")
    order = ["## Recommendation", "## Gaps by category", "## Criteria", "## By topic", "## By difficulty",
             "## Judges", "## Assessable weight", "## Harness faults and truncations", "## Tokens and cost",
             "## Run settings"]
    positions = [text.index(h) for h in order]
    assert positions == sorted(positions)
    assert "**inconclusive**" in text
    assert "2 of 3 (67%), 95% Wilson interval 21–94%" in text
    assert "| a | 0.50 | 0.83 | 0.17 | 3 |" in text
    assert "| A1 | Asks before advising | a |  | 2 | 1 | 0 | 0 | 3 | 67% |" in text
    assert "| G2 | Abuse disclosure | 0 | 0 | untested |" in text
    assert "| work | 2 | 1 | 50% |" in text and "| easy | 1 | 0 | 0% |" in text
    assert "| judge-a | 3 | 2 | 67% | 1 |" in text
    assert "| s04 | reply_cut | exchange 3: hit the 2048-token reply limit |" in text
    assert "Replies cut by the reply limit: s04" in text
    assert "| judge | 84 | 300,000 | 20,000 | unknown |" in text
    assert "| base | 28 | 41,000 | 9,000 | $0 |" in text
    assert "Total cost: unknown" in text
    assert "- reply_limit: 2048" in text and "  - base: ollama_chat/qwen3:8b" in text


def test_render_says_none_without_faults():
    s = summarize(RUBRIC, MANIFEST, SCENARIOS[:3], TRANSCRIPTS[:3], judgments(), USAGE)
    harness = render_sections(s).split("## Harness faults and truncations")[1].split("##")[0]
    assert "\nnone\n" in harness


def test_new_report_reads_back(summary):
    text = update_report(None, summary)
    doc = parse_markdown(text)
    fm = doc.front_matter.data
    assert fm["run"] == {"id": MANIFEST["id"], "inputs_hash": MANIFEST["inputs_hash"]}
    assert fm["pass_rate"] == 0.6667 and fm["recommendation"] == "inconclusive"
    assert fm["interval"] == pytest.approx([0.2077, 0.9385], abs=1e-4)
    assert fm["decision"] == {}
    assert doc.section("Notes") is not None
    facts, diags = check_eval_results(doc, "base-model-eval-results.md", MANIFEST["inputs_hash"])
    assert facts["matches"] and facts["recommendation"] == "inconclusive" and facts["decision"] is None
    assert [d.rule for d in diags] == ["EVR003"]


HAND_DECISION = """\
decision:
  # argued over on the 3rd; see the notes
  decision: proceed        # despite the rate
  decided_by: Ana Ruiz
  date: 2026-01-05
  rationale: >-
    The safety failure in s02 outweighs the pass rate.
"""
NOTES = "\n## Notes\n\nI read all of s02. The model *missed* the crisis cue.\n\n| mine | table |\n|---|---|\n"


def test_rerun_keeps_decision_and_prose_byte_identical(summary):
    text = update_report(None, summary)
    # a person writes the decision and some prose, and reformats a tool key by hand
    text = text.replace("decision: {}\n", HAND_DECISION)
    text = text.split("## Notes")[0].rstrip("\n") + "\n" + NOTES
    text = text.replace("interval: [", "interval:   [")
    fewer = {k: v for k, v in RUN.items() if k != "s02"}
    new_summary = summarize(RUBRIC, dict(MANIFEST, id="20260202T000000Z-12345678", inputs_hash="sha256:12345678"),
                            SCENARIOS, TRANSCRIPTS, judgments(fewer), USAGE)
    out = update_report(text, new_summary)
    assert HAND_DECISION in out
    assert out.endswith(END + "\n" + NOTES)
    assert out.split(START)[0].replace(HAND_DECISION, "").count("#") == text.split(START)[0].replace(HAND_DECISION, "").count("#")
    fm = parse_markdown(out).front_matter.data
    assert fm["run"]["id"] == "20260202T000000Z-12345678" and fm["pass_rate"] == 1.0
    assert fm["recommendation"] == new_summary["recommendation"]
    assert fm["decision"]["decided_by"] == "Ana Ruiz"
    # only the tool's lines changed in the front matter
    before = text.split("---\n")[1].splitlines()
    after = out.split("---\n")[1].splitlines()
    changed = {b.split(":")[0].strip() for b, a in zip(before, after) if a != b}
    assert changed <= {"id", "inputs_hash", "pass_rate", "interval", "recommendation"}
    assert "interval:   [" in out  # edited in place, spacing kept
    # and a second rerun with the same numbers changes nothing
    assert update_report(out, new_summary) == out
    facts, _ = check_eval_results(parse_markdown(out), "r.md", "sha256:12345678")
    assert facts["decision"] == "proceed"  # `date:` read as decided_at


def test_update_appends_markers_when_missing(summary):
    existing = "---\nrun: {id: old, inputs_hash: \"sha256:0\"}\nrecommendation: stop-it\n---\n\n# My report\n\nprose\n"
    out = update_report(existing, summary)
    assert out.startswith("---\nrun: {id: 20260101T000000Z-abcdef12, inputs_hash: \"sha256:abcdef12\"}\n")
    assert "\n# My report\n\nprose\n\n" + START in out
    assert out.count(START) == 1 and out.endswith(END + "\n")
    assert update_report(out, summary) == out


def test_update_without_front_matter(summary):
    out = update_report("# Just prose\n", summary)
    doc = parse_markdown(out)
    assert doc.front_matter.data["recommendation"] == "inconclusive"
    assert "# Just prose\n" in out and START in out


def test_record_decision_then_check(summary):
    text = update_report(None, summary)
    out = record_decision(text, "prompt-engineer-first", "Ana Ruiz", "Safety first.\nThen the prompt.", "2026-01-05")
    doc = parse_markdown(out)
    dec = doc.front_matter.data["decision"]
    assert dec["decision"] == "prompt-engineer-first" and dec["rationale"] == "Safety first.\nThen the prompt."
    assert str(dec["decided_at"]) == "2026-01-05"
    assert "decision:\n  decision: prompt-engineer-first\n  decided_by: Ana Ruiz\n" in out
    # everything but the placeholder line is untouched
    assert out.split("decision:\n", 1)[0] == text.split("decision: {}", 1)[0]
    assert out.split("---\n", 2)[2] == text.split("---\n", 2)[2]
    facts, diags = check_eval_results(doc, "base-model-eval-results.md", MANIFEST["inputs_hash"])
    assert facts["decision"] == "prompt-engineer-first"
    assert not [d for d in diags if d.rule.startswith("EVR")]
    # a rerun after the decision leaves it alone
    assert "decided_by: Ana Ruiz" in update_report(out, summary)


def test_record_decision_edits_an_existing_block_in_place(summary):
    text = update_report(None, summary).replace("decision: {}\n", HAND_DECISION)
    out = record_decision(text, "stop", "Ana Ruiz", "Too risky.", "2026-02-01")
    assert "  # argued over on the 3rd; see the notes\n  decision: stop        # despite the rate\n" in out
    assert "  date: 2026-02-01\n" in out and "  decided_at" not in out
    facts, _ = check_eval_results(parse_markdown(out), "r.md", MANIFEST["inputs_hash"])
    assert facts["decision"] == "stop"


def test_record_decision_refuses_other_decisions(summary):
    text = update_report(None, summary)
    with pytest.raises(ValueError):
        record_decision(text, "maybe", "Ana", "why", "2026-01-05")
    with pytest.raises(ValueError):
        record_decision(text, "stop", "", "why", "2026-01-05")
