"""Every rule fires on a planted fault, at the right place, and the samples are clean."""

from __future__ import annotations

import os

import pytest

from ftd_tui.core.rules.diagnostics import RULES
from helpers import diagnostics, replace, rules, write, ydel, yget, yset

from conftest import SAMPLE_NAMES
from ftd_tui.core.evaluation.runs import inputs_hash_of

R, T, P, S = "config/rubric.yaml", "config/input-taxonomy.yaml", "config/persona-template.yaml", "ftd.yaml"
U, A, SP, MC = "config/prompts/user_sim.md", "config/prompts/assistant.md", "config/system-prompt.md", "model-choice.md"
EVR = "base-model-eval-results.md"
EX = "critiques/experts.yaml"


def _first_range(root):
    return next(iter(yget(root, T, "taxonomy.turn_ranges")))


def _append_examples(root, crit, n):
    ex = yget(root, R, f"criteria.{crit}.calibration_examples")[0]
    for _ in range(n):
        from ftd_tui.core.text.yamldoc import YamlDocument

        f = root / R
        doc = YamlDocument.from_bytes(f.read_bytes())
        f.write_bytes(doc.append(f"criteria.{crit}.calibration_examples", ex).to_bytes())


def _symlink_out(root, rel):
    """The artifact becomes a symlink to a file outside the project (git stores symlinks)."""
    outside = root.parent / "outside-notes.yaml"
    outside.write_text("criteria: {}\n", encoding="utf-8")
    os.remove(root / rel)
    os.symlink(outside, root / rel)


def _eval_results(root, inputs_hash, decision=None):
    from ftd_tui.core.project.project import Project

    h = inputs_hash_of(Project.load(root)) if inputs_hash == "current" else inputs_hash
    dec = "" if decision is None else f"decision: {decision}\n"
    write(root, EVR, f"---\nrun: {{id: 20261125T000000Z-deadbeef, inputs_hash: \"{h}\"}}\n"
                     f"recommendation: fine-tune-likely-helps\n{dec}---\n\n# Baseline\n")


CASES = {
    "FIL001": lambda r: os.remove(r / R),
    "FIL002": lambda r: write(r, R, b"a: 1\n" + b"#" * (6 * 1024 * 1024)),
    "FIL003": lambda r: write(r, R, b"a: \xff\xfe bad\n"),
    "FIL004": lambda r: os.rename(r / T, r / "config/taxonomy.yaml"),
    "FIL005": lambda r: write(r, R, "\n  \n"),
    "FIL006": lambda r: (os.remove(r / R), os.mkdir(r / R)),
    "FIL007": lambda r: _symlink_out(r, R),
    "FIL008": lambda r: (os.remove(r / R), os.mkfifo(r / R)),
    "YML001": lambda r: write(r, R, "categories: [1,\n  2\n"),
    "YML002": lambda r: write(r, R, "a: 1\n---\nb: 2\n"),
    "YML003": lambda r: write(r, R, 'a: !!python/object/apply:os.system ["touch /tmp/ftd-pwned"]\n'),
    "YML004": lambda r: write(r, R, "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                              + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                                        for p, c in zip("abcdefg", "bcdefgh"))),
    "YML005": lambda r: write(r, R, "pass_threshold: 0.8\npass_threshold: 0.7\n"),
    "YML006": lambda r: write(r, R, "base: &b {weight: 1}\nother:\n  <<: *b\n"),
    "YML007": lambda r: write(r, R, "- just\n- a list\n"),
    "YML008": lambda r: write(r, R, "categories: " + "[" * 400 + "]" * 400 + "\n"),
    "YML009": lambda r: write(r, R, ": a key nobody named\npass_threshold: 0.8\n"),
    "KEY001": lambda r: yset(r, R, "pass_treshold", 0.8, create=True),
    "KEY002": lambda r: yset(r, S, "models.critic.frequency_penalty", 0.5, create=True),
    "SET001": lambda r: yset(r, S, "eval.scenarios", -3, create=True),
    "SET002": lambda r: yset(r, S, "models.critic.api_base", "https://llm.example.com/v1", create=True),
    "SET003": lambda r: yset(r, S, "models.critic.api_key_env", "TEAM_CLAUDE_KEY", create=True),
    "SET004": lambda r: yset(r, S, "models.critic.api_key_env", "sk-ant-CANARY0123456789", create=True),
    "SET005": lambda r: yset(r, S, "deployment.offline", True, create=True),
    "SET006": lambda r: yset(r, S, "models.base.model", "ollama/phi4"),
    "SET007": lambda r: ydel(r, S, "models.judges[1]"),
    "SET008": lambda r: yset(r, S, "models.judges[0].model", "gemini/gemini-2.5-pro"),
    "SET009": lambda r: yset(r, S, "base_model", "Qwen/Qwen2.5-7B-Instruct"),
    "SET010": lambda r: ydel(r, S, "models.critic"),
    "SET011": lambda r: yset(r, S, "checks", {"edge_case_share": {"min": 0.3, "max": 0.1}}, create=True),
    "SET012": lambda r: yset(r, S, "knowledge", [{"path": "../outside.md"}], create=True),
    "SET013": lambda r: yset(r, S, "models.base.api_key_env", "OPENAI_API_KEY", create=True),
    "MOD001": lambda r: write(r, MC, "# Model choice\n\nWe picked phi-4.\n"),
    "MOD002": lambda r: replace(r, MC, "context_window: 16384", "context_window: big"),
    "MOD003": lambda r: replace(r, MC, "chosen: microsoft/phi-4", "chosen: ''"),
    "MOD004": lambda r: replace(r, MC, "license: MIT", "license: ''"),
    "MOD005": lambda r: replace(r, MC, "chosen: microsoft/phi-4", "chosen: meta-llama/Llama-3.1-8B"),
    "MOD006": lambda r: replace(r, MC, "chosen: microsoft/phi-4", "chosen: someone/other-7b-Instruct"),
    "MOD007": lambda r: replace(r, MC, "\ndeployment:", "\nold_deployment:"),
    "MOD009": lambda r: replace(r, MC, "method: qlora", "method: full"),
    "MOD008": lambda r: write(r, MC, (r / MC).read_text().split("---\n", 2)[0] + "---\n" + (r / MC).read_text().split("---\n", 2)[1] + "---\n\nShort.\n"),
    "BUD001": lambda r: ydel(r, S, "budget.max_transcript_tokens"),
    "BUD002": lambda r: yset(r, S, "budget.max_transcript_tokens", 20000),
    "BUD003": lambda r: yset(r, S, "budget.max_transcript_tokens", 24000),
    "BUD004": lambda r: [yset(r, T, f"taxonomy.turn_ranges.{k}.max", 200) for k in yget(r, T, "taxonomy.turn_ranges")],
    "BUD005": lambda r: ydel(r, S, "budget.tokenizer_path"),
    "TAX001": lambda r: yset(r, T, "taxonomy.topics[0].weight", "heavy"),
    "TAX002": lambda r: yset(r, T, "taxonomy.topics[0].weight", yget(r, T, "taxonomy.topics[0].weight") + 0.1),
    "TAX003": lambda r: yset(r, T, "taxonomy.difficulty." + next(iter(yget(r, T, "taxonomy.difficulty"))), 0.9),
    "TAX004": lambda r: yset(r, T, "taxonomy.topics[-1].name", "unusual_cases"),
    "TAX005": lambda r: (yset(r, T, "taxonomy.topics[-1].weight", 0.02), yset(r, T, "taxonomy.topics[0].weight", yget(r, T, "taxonomy.topics[0].weight") + 0.13)),
    "TAX006": lambda r: yset(r, T, "taxonomy.topics[0].subtopics", []),
    "TAX007": lambda r: yset(r, T, "taxonomy.turn_ranges_by", "no_such_dimension"),
    "TAX008": lambda r: (ydel(r, T, "taxonomy.turn_ranges"), ydel(r, T, "taxonomy.turn_ranges_by")),
    "TAX009": lambda r: write(r, T, "taxonomy:\n  topics:\n    - {name: a, weight: 0.85, subtopics: [x]}\n"
                                    "    - {name: edge_cases, weight: 0.15, subtopics: [crisis]}\n"
                                    "  difficulty: {easy: 0.5, hard: 0.5}\n  turn_ranges: {default: {min: 4, max: 10}}\n"),
    "TAX010": lambda r: ydel(r, T, "taxonomy.difficulty"),
    "TAX011": lambda r: yset(r, T, "taxonomy.difficulty", {"easy": 1.2, "hard": -0.2}),
    "TAX012": lambda r: yset(r, T, "taxonomy.topics[1].name", yget(r, T, "taxonomy.topics[0].name")),
    "TAX013": lambda r: yset(r, T, "taxonomy.difficulty.hard", {"weight": 0.25, "descripton": "pushes back"}),
    "RUB001": lambda r: yset(r, R, "criteria.CM1.na_valid", "maybe"),
    "RUB002": lambda r: yset(r, R, "categories.pedagogy.weight", 0.5),
    "RUB003": lambda r: ydel(r, R, "criteria.CM2.calibration_examples[2]"),
    "RUB004": lambda r: _append_examples(r, "CM1", 5),
    "RUB005": lambda r: yset(r, R, "criteria.CM3.calibration_examples[0].type", "FAIL"),
    "RUB006": lambda r: (yset(r, R, "criteria.CM3.calibration_examples[1].type", "PASS"), yset(r, R, "criteria.CM3.calibration_examples[2].type", "PASS")),
    "RUB007": lambda r: yset(r, R, "criteria.CM1.calibration_examples[1].type", "NA"),
    "RUB008": lambda r: yset(r, R, "criteria.MC2.calibration_examples[4].type", "FAIL"),
    "RUB009": lambda r: yset(r, R, "criteria.CM1.question", "On a scale of 1 to 5, how clear is the explanation?"),
    "RUB010": lambda r: yset(r, R, "safety_gates", ["SG1", "SG2", "SG3", "MC1", "NOPE"]),
    "RUB011": lambda r: yset(r, R, "categories.pedagogy.criteria", ["PD1", "PD2", "PD3", "PD4", "ZZ9"]),
    "RUB012": lambda r: yset(r, R, "criteria.CM1.category", "pedagogy"),
    "RUB013": lambda r: (yset(r, R, "categories.communication.criteria", ["CM2", "CM3"]), ydel(r, R, "criteria.CM1.category")),
    "RUB014": lambda r: yset(r, R, "categories.gates.weight", 0.1),
    "RUB015": lambda r: yset(r, R, "safety_gates", []),
    "RUB016": lambda r: yset(r, R, "pass_threshold", 1.5),
    "RUB017": lambda r: yset(r, R, "criteria.CM1.calibration_examples[0].type", "UNREVIEWED"),
    "RUB018": lambda r: yset(r, R, "criteria.CM1.calibration_examples[0].response", "ok"),
    "RUB019": lambda r: yset(r, R, "categories.pedagogy.criteria", ["PD1", "PD2", "PD3", "PD4", "CM1"]),
    "RUB020": lambda r: yset(r, R, "criteria.CM1.question", "The explanation is clear."),
    "RUB021": lambda r: yset(r, R, "criteria.CM1.calibration_examples[0].reasoning", ""),
    "RUB022": lambda r: yset(r, R, "categories.empty_one", {"weight": 0.1, "criteria": []}, create=True),
    "RUB023": lambda r: yset(r, R, "criteria.CM1.check", {"kind": "length_ration", "max": 2}, create=True),
    "RUB024": lambda r: yset(r, R, "criteria.CM1.check", {"kind": "regex", "pattern": "(great|good) question("}, create=True),
    "RUB025": lambda r: yset(r, R, "categories.pedagogy.min_score", 1.5, create=True),
    "RUB026": lambda r: None,  # info on every rubric with scored criteria: the samples show it
    "PER001": lambda r: yset(r, P, "persona_template.communication_style.options", "terse"),
    "PER002": lambda r: yset(r, P, "persona_template.communication_style.weights", [0.5, 0.5]),
    "PER003": lambda r: yset(r, P, "persona_template.communication_style.weights[0]", 0.9),
    "PER004": lambda r: ydel(r, P, "persona_template.communication_style.word_limits."
                             + yget(r, P, "persona_template.communication_style.options")[0]),
    "PER005": lambda r: yset(r, P, "persona_template.communication_style.word_limits."
                             + yget(r, P, "persona_template.communication_style.options")[0], [50, 10]),
    "PER006": lambda r: yset(r, P, "persona_template.flaw_patterns.no_flaw_share", 0.5),
    "PER007": lambda r: yset(r, P, "persona_template.flaw_patterns.primary.per_message", 1.5),
    "PER008": lambda r: yset(r, P, "persona_template.flaw_patterns.secondary.options[0]", "non_native_english"),
    "PER009": lambda r: yset(r, P, "persona_template.communication_style.word_limits.shouty", [1, 5], create=True),
    "PER010": lambda r: ydel(r, P, "persona_template.flaw_patterns"),
    "PER011": lambda r: yset(r, P, "persona_template.flaw_patterns.excludes", [["going_quite", "yes_but"]], create=True),
    "PER012": lambda r: yset(r, P, "persona_template.flaw_patterns.excludes", [["yes_but", "yes_but"]], create=True),
    "PRM001": lambda r: replace(r, U, "## User Prompt", "## The user prompt"),
    "PRM002": lambda r: replace(r, A, "{user_message}", "the user message"),
    "PRM003": lambda r: replace(r, U, "{persona}", "{persona} {mood}"),
    "PRM004": lambda r: replace(r, A, "{user_message}", "{user_message} {"),
    "PRM005": lambda r: write(r, A, "## System Prompt\n\n```text\n{system_prompt}\n```\n\n## User Prompt\n\n```text\n{conversation_history}\n{user_message}\n```\n"),
    "PRM006": lambda r: write(r, A, "## System Prompt\n\n```text\n{system_prompt}\n```\n\n## User Prompt\n\n```text\n{conversation_history}\n{user_message}\n```\n"),
    "PRM007": lambda r: write(r, A, "## System Prompt\n\n```text\n{system_prompt}\n```\n\n## User Prompt\n\n```text\n{conversation_history}\n{user_message}\n```\n"),
    "PRM008": lambda r: write(r, A, "## System Prompt\n\n```text\n{system_prompt}\n```\n\n## User Prompt\n\n```text\n{conversation_history}\n{user_message}\n```\n"),
    "PRM009": lambda r: write(r, U, "## System Prompt\n\n```text\n{persona}\n{flaw_patterns}\n```\n\n## User Prompt\n\n```text\n{conversation_history}\n{exchange_number} of {target_exchanges}\n```\n"),
    "PRM010": lambda r: write(r, U, "## System Prompt\n\n```text\n{persona}\n{flaw_patterns}\n```\n\n## User Prompt\n\n```text\n{conversation_history}\n{exchange_number} of {target_exchanges}\n```\n"),
    "PRM011": lambda r: write(r, U, "## System Prompt\n\n```text\n{persona}\n{flaw_patterns}\n```\n\n## User Prompt\n\n```text\n{conversation_history}\n{exchange_number} of {target_exchanges}\n```\n"),
    "PRM012": lambda r: write(r, SP, "# System prompt\n\n```text\n" + "word " * 300 + "\n```\n"),
    "PRM013": lambda r: write(r, SP, "# System prompt\n\n```text\n\n```\n"),
    "PRM014": lambda r: write(r, SP, "# System prompt\n\n```text\nYou tutor {student_name} in maths.\n```\n"),
    "EVR001": lambda r: write(r, EVR, "# Baseline\n\nno front matter\n"),
    "EVR002": lambda r: _eval_results(r, "sha256:0000"),
    "EVR003": lambda r: _eval_results(r, "current"),
    "EVR004": lambda r: _eval_results(r, "current", "{decision: maybe, decided_by: me, decided_at: 2026-11-25, rationale: why}"),
    "EVR005": lambda r: _eval_results(r, "current", "{decision: proceed, decided_by: me, decided_at: 2026-11-25, "
                                                    "rationale: why, run: 20261101T000000Z-0ld0ld00}"),
    "EVR006": lambda r: write(r, "eval/scenarios.yaml", "version: 1\nscenarios:\n  - id: s01\n    cell: {topic: algebra}\n"
                                                        "    gate: SG1\n    trigger: eventually\n    persona_seed: 9000\n"
                                                        "    target_exchanges: 6\n"),
    "EXP001": lambda r: os.remove(r / EX),
    "EXP002": lambda r: yset(r, EX, "panels", "none"),
    "EXP003": lambda r: yset(r, EX, "panels.rubric.experts[0].fictional", False),
    "EXP004": lambda r: [ydel(r, EX, "panels.rubric.experts[0]") for _ in range(len(yget(r, EX, "panels.rubric.experts")) - 4)],
    "EXP005": lambda r: [yset(r, EX, f"panels.rubric.experts[{i}].kind", "practitioner") for i in range(len(yget(r, EX, "panels.rubric.experts")))],
    "EXP006": lambda r: yset(r, EX, "panels.rubric.difficult_users", []),
    "CRT001": lambda r: write(r, "critiques/rubric/20261125T000000Z.md", "---\nartifact: [rubric\n---\n"),
}


def _exact_tokenizer(root):
    from test_tokens import _fixture_tokenizer

    _fixture_tokenizer(root / "tokenizer")
    yset(root, S, "budget.tokenizer_path", "tokenizer", create=True)


# Faults whose healthy state needs a step first (the samples have no local tokenizer).
PREPARE = {"BUD005": _exact_tokenizer}
# Rules a healthy project shows too (an info that states a fact about it).
ALWAYS = {"RUB026"}


def test_every_rule_has_a_planted_fault():
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_samples_have_no_errors_or_warnings(name, sample):
    root = sample(name)
    found = [d for d in diagnostics(root) if d.severity != "info"]
    assert found == [], "\n".join(f"{d.file}:{d.line}:{d.column} {d.rule} {d.message}" for d in found)


@pytest.mark.parametrize("rule", sorted(CASES))
@pytest.mark.slow
def test_rule_fires(rule, sample):
    root = sample("math-tutoring")
    if rule in PREPARE:
        PREPARE[rule](root)
    before = rules(root)
    assert rule not in before or rule in ALWAYS
    CASES[rule](root)
    found = [d for d in diagnostics(root) if d.rule == rule]
    assert found, f"{rule} did not fire"
    d = found[0]
    assert d.severity == RULES[rule].severity
    assert d.line >= 1 and d.column >= 1
    assert (root / d.file).exists() or rule in ("FIL001", "EXP001")


def test_key_never_echoed(sample):
    root = sample("math-tutoring")
    CASES["SET004"](root)
    for d in diagnostics(root):
        assert "CANARY" not in d.message and "CANARY" not in d.hint


def test_unsafe_tag_is_never_constructed(sample, tmp_path):
    root = sample("math-tutoring")
    marker = tmp_path / "pwned"
    write(root, R, f'a: !!python/object/apply:os.system ["touch {marker}"]\n')
    found = [d for d in diagnostics(root) if d.rule == "YML003"]
    assert found and (found[0].line, found[0].column) == (1, 4)
    assert not marker.exists()


def test_positions_point_at_the_node(sample):
    root = sample("math-tutoring")
    yset(root, R, "categories.pedagogy.weight", 0.5)
    d = next(d for d in diagnostics(root) if d.rule == "RUB002")
    line = (root / R).read_text().splitlines()[d.line - 1]
    assert line[d.column - 1 :].startswith("categories")
    yset(root, R, "criteria.CM1.calibration_examples[1].type", "NA")
    d = next(d for d in diagnostics(root) if d.rule == "RUB007")
    line = (root / R).read_text().splitlines()[d.line - 1]
    assert line[d.column - 1 :].startswith("NA")


def test_did_you_mean(sample):
    root = sample("math-tutoring")
    yset(root, R, "pass_treshold", 0.8, create=True)
    d = next(d for d in diagnostics(root) if d.rule == "KEY001")
    assert "pass_threshold" in d.hint


def test_thresholds_come_from_settings(sample):
    root = sample("math-tutoring")
    ydel(root, R, "criteria.CM2.calibration_examples[2]")  # 2 examples left
    assert "RUB003" in rules(root)
    yset(root, S, "checks", {"calibration_examples": {"min": 2, "max": 8}}, create=True)
    assert "RUB003" not in rules(root)


def test_gate_only_category_weights(sample):
    """A category holding only gates is left out of the weight sum (spec §4)."""
    root = sample("math-tutoring")
    assert yget(root, R, "categories.gates.weight") == 0.0
    assert "RUB002" not in rules(root)
    yset(root, R, "scoring.gates_weighted", True)
    # gates now count: the 'gates' category joins the sum with weight 0 and the rest still sum to 1
    assert "RUB002" not in rules(root) and "RUB014" not in rules(root)
