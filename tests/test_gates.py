"""Gates and "done": baseline decision, critique dispositions, staleness."""

from __future__ import annotations

from ftd_tui.core.rules.checks import check_project
from ftd_tui.core.rules.gates import compute_gates, next_action
from ftd_tui.core.project.project import Project
from helpers import write, yset
from ftd_tui.core.evaluation.runs import inputs_hash_of


def gates(root):
    p = Project.load(root)
    return {g.id: g for g in compute_gates(p, check_project(p))}


def _log(root, unit, h, *, synthesis=True, disposition="accepted", reason="", severity="critical"):
    write(root, f"critiques/{unit}/20261125T101500Z.md",
          f"---\nartifact: {unit}\nsynthesis: {str(synthesis).lower()}\n"
          f"proposals:\n  - {{id: P1, title: t, severity: {severity}, disposition: {disposition or '~'}, reason: '{reason}'}}\n"
          f"dispositions_artifact_hash: \"{h}\"\n---\n\n# Critique\n")


def test_sample_gates(sample):
    g = gates(sample("wellbeing-coaching"))
    assert [g[k].passed for k in ("model", "budget", "taxonomy", "rubric", "personas", "prompts")] == [True] * 6
    assert not g["baseline"].passed and "untested" in g["baseline"].reason
    assert not g["done"].passed


def test_baseline_gate_needs_matching_run_recommendation_and_human_decision(sample):
    root = sample("math-tutoring")
    h = inputs_hash_of(Project.load(root))
    write(root, "base-model-eval-results.md", f"---\nrun: {{id: r1, inputs_hash: \"{h}\"}}\nrecommendation: fine-tuning-needed\n---\n")
    g = gates(root)["baseline"]
    assert not g.passed and "no human decision" in g.reason
    write(root, "base-model-eval-results.md", f"---\nrun: {{id: r1, inputs_hash: \"{h}\"}}\nrecommendation: fine-tuning-needed\n"
                                              "decision: {decision: proceed, decided_by: Dana, decided_at: 2026-11-25, rationale: safety gaps}\n---\n")
    assert gates(root)["baseline"].passed
    yset(root, "config/rubric.yaml", "pass_threshold", 0.75)
    g = gates(root)["baseline"]
    assert not g.passed and "other artifacts" in g.reason


def test_done_needs_dispositioned_fresh_critiques(sample):
    root = sample("math-tutoring")
    p = Project.load(root)
    h = inputs_hash_of(p)
    write(root, "base-model-eval-results.md", f"---\nrun: {{id: r1, inputs_hash: \"{h}\"}}\nrecommendation: fine-tuning-needed\n"
                                              "decision: {decision: proceed, decided_by: Dana, decided_at: 2026-11-25, rationale: safety gaps}\n---\n")
    for unit in ("taxonomy", "rubric", "personas", "prompts"):
        _log(root, unit, p.artifact_hash(unit))
    g = gates(root)
    assert g["done"].passed, g["done"].reason
    # an undecided critical proposal keeps done open
    _log(root, "rubric", p.artifact_hash("rubric"), disposition=None)
    assert "await a decision" in gates(root)["done"].reason
    # rejected without a reason is not a disposition
    _log(root, "rubric", p.artifact_hash("rubric"), disposition="rejected")
    assert not gates(root)["done"].passed
    _log(root, "rubric", p.artifact_hash("rubric"), disposition="rejected", reason="out of scope for v1")
    assert gates(root)["done"].passed
    # editing a prompt after its critique makes it stale
    write(root, "config/prompts/assistant.md", (root / "config/prompts/assistant.md").read_text() + "\n")
    g = gates(root)["done"]
    assert not g.passed and "prompts" in g.reason and "changed after" in g.reason


def test_next_action_names_the_first_open_step(sample):
    root = sample("math-tutoring")
    (root / "config/rubric.yaml").unlink()
    p = Project.load(root)
    text = next_action(compute_gates(p, check_project(p)))
    assert text.startswith("Step 4") and "config/rubric.yaml" in text
