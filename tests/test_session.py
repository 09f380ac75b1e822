"""ProjectSession (services/session.py): the one object both shells ask for settings, approval,
the door, the decision, the report, exported labels and unit hashes — on real sample projects."""

from __future__ import annotations

import json

import pytest

from ftd_tui.core.project.project import Project
from ftd_tui.services.session import ProjectSession, SessionError
from helpers import write

REPORT = """---
run:
  id: r-20261201-0900
recommendation: prompt-engineer-first
decision:
  decision:
  decided_by:
  decided_at:
  rationale:
---
# Baseline results

Our notes, kept exactly: the Socratic criteria failed on 3 of 4 algebra scenarios.
"""


def test_effective_settings_lay_the_project_over_the_user_config(sample):
    root = sample("math-tutoring")
    # the sample names every role; a user's role stands only where ftd.yaml has none
    user = {"critic": {"model": "ollama_chat/qwen3:8b"}}
    merged, sources = ProjectSession(root, user).effective_settings()
    assert merged["models"]["critic"]["model"] == "anthropic/claude-sonnet-4-5" and sources["critic"] == "ftd.yaml"
    merged, sources = ProjectSession(root, user).effective_settings({"models": {"base": {"model": "ollama_chat/phi4"}}})
    assert merged["models"]["critic"]["model"] == "ollama_chat/qwen3:8b" and sources["critic"] != "ftd.yaml"
    assert sources["base"] == "ftd.yaml"
    assert ProjectSession(root).project_settings()["models"]["critic"]["model"] == "anthropic/claude-sonnet-4-5"


def test_an_unreadable_ftd_yaml_gives_empty_settings_not_a_crash(sample):
    root = sample("math-tutoring")
    write(root, "ftd.yaml", "models: [unclosed\n")
    assert ProjectSession(root).project_settings() == {}


def test_approval_is_one_policy_asked_once_then_remembered(sample):
    root = sample("software-support")
    session = ProjectSession(root)
    settings = {"models": {"critic": {"model": "openai/gpt-4o", "api_base": "https://llm.example.net/v1",
                                      "api_key_env": "TEAM_KEY"}}}
    items = session.needs_approval(settings)
    assert items and any("llm.example.net" in i for i in items) and any("TEAM_KEY" in i for i in items)
    session.approve(settings)
    assert session.needs_approval(settings) == []
    # another endpoint is another question
    settings["models"]["critic"]["api_base"] = "https://other.example.org/v1"
    assert session.needs_approval(settings) != []


def test_hosts_name_where_project_text_goes_in_role_order(sample):
    root = sample("math-tutoring")
    session = ProjectSession(root)
    hosts = session.hosts({"models": {"critic": {"model": "anthropic/claude-sonnet-4-5"},
                                      "base": {"model": "ollama_chat/phi4", "api_base": "http://127.0.0.1:11434"},
                                      "judges": [{"model": "openai/gpt-4o"}, {"model": "anthropic/claude-haiku-4-5"}]}})
    assert hosts == ["anthropic", "127.0.0.1", "openai"]


def test_the_door_gets_the_cache_and_trust_from_the_session(sample):
    root = sample("math-tutoring")
    session = ProjectSession(root)
    merged, settings = session.effective_settings()
    door = session.door(merged, settings, cache=False, max_attempts=1)
    assert door.cache is None and door.max_attempts == 1 and door.trusted is True  # hosted defaults need no approval
    cached = session.door(merged, settings, trusted=False)
    assert cached.cache is not None and cached.trusted is False


def test_a_decision_is_an_exact_edit_of_the_front_matter(sample):
    root = sample("math-tutoring")
    session = ProjectSession(root)
    with pytest.raises(SessionError, match="no report yet"):
        session.record_decision("proceed", "Dr Amara Osei", "good enough", today="2026-12-02")
    write(root, "base-model-eval-results.md", REPORT)
    path = session.record_decision("prompt-engineer-first", "Dr Amara Osei",
                                   "Socratic failures are prompt-fixable; retest after", today="2026-12-02")
    text = path.read_text()
    assert "decided_by: Dr Amara Osei" in text and "prompt-engineer-first" in text.split("---")[1]
    assert text.endswith(REPORT.split("---\n", 2)[2])  # the person's prose is untouched
    with pytest.raises(SessionError, match="decision must be one of"):
        session.record_decision("ship it", "Amara", "why not", today="2026-12-02")


def test_a_decision_on_a_report_changed_since_it_was_read_is_refused(sample):
    root = sample("math-tutoring")
    write(root, "base-model-eval-results.md", REPORT)
    stamp = Project.load(root).files["eval-results"].stamp
    write(root, "base-model-eval-results.md", REPORT + "\nA colleague's line.\n")
    with pytest.raises(SessionError):
        ProjectSession(root).record_decision("stop", "Amara", "unsafe disclosures", expected=stamp, today="2026-12-02")
    assert "A colleague's line." in (root / "base-model-eval-results.md").read_text()


def test_refresh_report_leaves_a_report_of_another_run_alone(sample):
    root = sample("math-tutoring")
    session = ProjectSession(root)
    assert session.refresh_report({"run": "r-1"}) is False  # no report
    write(root, "base-model-eval-results.md", REPORT)
    before = (root / "base-model-eval-results.md").read_text()
    assert session.refresh_report({"run": "r-other"}) is False
    assert (root / "base-model-eval-results.md").read_text() == before


def test_labels_become_unreviewed_examples_and_nothing_else_changes(sample, tmp_path):
    root = sample("math-tutoring")
    run_dir = tmp_path / "r-20261201-0900"
    (run_dir / "transcripts").mkdir(parents=True)
    exchanges = [{"user": "ok so 3x + 5 = 20, i got x = 7?? my teacher says no lol",
                  "assistant": "Close! Let's check: what is 3 × 7 + 5?"},
                 {"user": "26... oh. so its 5?", "assistant": "Yes — x = 5. Well done."}]
    (run_dir / "transcripts" / "c07.json").write_text(json.dumps({"exchanges": exchanges}))
    rubric = (root / "config/rubric.yaml").read_text()
    session = ProjectSession(root)
    new, added = session.calibration_examples(rubric, run_dir, "c07", {"MC2": "NO", "NOPE9": "YES"})
    assert added == 1  # an unknown criterion id is skipped, not invented
    assert new != rubric and new.count("type: UNREVIEWED") == rubric.count("type: UNREVIEWED") + 1
    assert "suggested_type: FAIL" in new and "so its 5?" in new
    assert session.calibration_examples(rubric, run_dir, "c07", {}) == (rubric, 0)


def test_unit_hash_of_the_saved_text_is_the_projects_own(sample):
    root = sample("math-tutoring")
    project = Project.load(root)
    session = ProjectSession(root)
    texts = {aid: project.files[aid].text for aid in ("user-sim", "assistant", "system-prompt")}
    assert session.unit_hash("prompts", texts) == project.artifact_hash("prompts")
    assert session.unit_hash("rubric", {"rubric": project.files["rubric"].text}) == project.artifact_hash("rubric")
    edited = dict(texts, assistant=texts["assistant"] + "\nAsk one question at a time.\n")
    assert session.unit_hash("prompts", edited) != project.artifact_hash("prompts")


def test_report_shows_names_the_run_on_disk_and_nothing_else(sample):
    """The app's guard before refreshing a report whose pane has unsaved edits (TUI section)."""
    root = sample("math-tutoring")
    session = ProjectSession(root)
    assert session.report_front_matter() is None and not session.report_shows(None)  # no report yet
    write(root, "base-model-eval-results.md", REPORT)
    assert session.report_front_matter()["run"]["id"] == "r-20261201-0900"
    assert session.report_shows("r-20261201-0900") and not session.report_shows("r-other")
    write(root, "base-model-eval-results.md", "# Baseline results\n\nno front matter\n")
    assert session.report_front_matter() is None and not session.report_shows("r-20261201-0900")


NEW_CRITERION_RUBRIC = """criteria:
  PED1:
    name: Socratic first
    question: Does the tutor ask the student to try the next step before showing it?
    calibration_examples:
      - type: PASS
        context: "User: i dont get how to isolate x in 3x + 5 = 20"
        response: What could you do to both sides to get rid of the + 5?
        reasoning: asks for the step before giving it
  PED9:
    name: Checks understanding
    question: Does the tutor check the student can do a similar problem alone?
"""


def test_a_criterion_with_no_examples_yet_gets_its_first_from_labels_and_from_a_candidate(sample, tmp_path):
    # doc.get raises KeyError on a missing calibration_examples: both ways in used to take that
    # for "no such criterion" (the export said "could not add the examples", the candidate "the
    # rubric has no criterion PED9") and never reached their own create branch
    from ftd_tui.services.critique.candidates import CandidateError, add_example

    root = sample("math-tutoring")
    run_dir = tmp_path / "r-20261202-1010"
    (run_dir / "transcripts").mkdir(parents=True)
    (run_dir / "transcripts" / "c03.json").write_text(json.dumps({"exchanges": [
        {"user": "Tutor: solve 2x = 9\nStudent: x = 4.5? (copied from my worksheet lol)",
         "assistant": "Yes, 4.5. Now try 3x = 10 on your own and tell me what you get."}]}))
    new, added = ProjectSession(root).calibration_examples(NEW_CRITERION_RUBRIC, run_dir, "c03", {"PED9": "YES"})
    assert added == 1 and new.startswith(NEW_CRITERION_RUBRIC.rstrip("\n").rsplit("\n", 1)[0])
    from ftd_tui.core.text.yamldoc import YamlDocument

    examples = YamlDocument.from_text(new).get(("criteria", "PED9", "calibration_examples"))
    assert [e["type"] for e in examples] == ["UNREVIEWED"] and examples[0]["suggested_type"] == "PASS"
    cand = {"id": "C2", "expert": "Dr Lena Ortiz", "criterion": "PED9", "label": "FAIL",
            "context": "User: so x = 5, can we stop now", "response": "Great job! See you next time.",
            "reasoning": "ends without checking the student can do one alone"}
    taken = YamlDocument.from_text(add_example(NEW_CRITERION_RUBRIC, cand, "critiques/rubric/x.md"))
    assert taken.get(("criteria", "PED9", "calibration_examples"))[0]["suggested_type"] == "FAIL"
    with pytest.raises(CandidateError, match="no criterion PED7"):
        add_example(NEW_CRITERION_RUBRIC, dict(cand, criterion="PED7"), "critiques/rubric/x.md")
