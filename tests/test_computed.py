"""Computed criteria (rubric `check:`): ftd's own answers on realistic transcripts, and the patterns
it refuses to run."""

from __future__ import annotations

import time

import pytest

from ftd_tui.core.artifacts.rubric import Criterion, check_problems
from ftd_tui.core.evaluation.computed import answer, is_computed, phrase_pattern, regex_problem

TICKET = """hey, the nightly export died again. here's the log:

```
2026-03-02 02:00:01 INFO  export: starting job 8812 (tenant acme-eu)
2026-03-02 02:00:07 WARN  export: retrying s3 upload, attempt 2 of 5
2026-03-02 02:00:19 ERROR export: upload failed: AccessDenied (403) bucket=acme-eu-exports
2026-03-02 02:00:19 ERROR export: job 8812 aborted after 18.2s, 0 of 14 files written
```

what do I do"""

EXCHANGES = [
    # 1: the user pasted a log; only "hey, the nightly … what do I do" is their own text (14 words)
    {"user": TICKET,
     "assistant": "That 403 means the export role lost write access to the bucket. Check whether the "
                  "bucket policy for acme-eu-exports changed last night, then re-run job 8812 from the "
                  "admin console. Did anyone rotate the IAM keys this week?"},
    # 2: a short reply to a short message
    {"user": "yes, Priya rotated them on monday",
     "assistant": "That explains it. Update the key in Settings → Integrations → S3, then re-run the job."},
    # 3: the assistant asks "??" (one question) and quotes the user's question inside a sentence
    {"user": "done. is there a way to get alerted next time?",
     "assistant": "You asked \"is there a way to get alerted?\" and there is: turn on failure e-mails under "
                  "Notifications. Want me to walk you through it??"},
]


def test_length_ratio_counts_the_users_own_words_not_the_pasted_log():
    verdict, evidence, first = answer({"kind": "length_ratio", "max": 2.6, "share": 0.0}, EXCHANGES)
    # exchange 1: 38 assistant words against 13 own words (2.92x); against all 65 words it would be 0.58x
    assert "1: 38/13 (+52 pasted, not counted) = 2.92x OVER" in evidence
    assert "2: 14/6 = 2.33x;" in evidence and "3: 25/10 = 2.50x." in evidence
    assert "pasted blocks left out of the user's count" in evidence
    assert verdict == "NO" and first == 1
    # 1 of 3 over: a share of 0.34 allows it, 0.3 does not
    assert answer({"kind": "length_ratio", "max": 2.6, "share": 0.34}, EXCHANGES)[0] == "YES"
    assert answer({"kind": "length_ratio", "max": 2.6, "share": 0.3}, EXCHANGES)[::2] == ("NO", 1)


def test_length_ratio_with_no_own_words_is_left_out_and_alone_is_na():
    only_paste = [{"user": "```\nKeyError: 'tenant_id'\n```", "assistant": "The tenant id is missing from the job config."}]
    verdict, evidence, first = answer({"kind": "length_ratio", "max": 2.0}, only_paste)
    assert verdict == "NA" and first is None and "no ratio" in evidence
    mixed = only_paste + [{"user": "ok thanks, trying now", "assistant": "Good luck, tell me how it goes."}]
    verdict, evidence, _ = answer({"kind": "length_ratio", "max": 2.0}, mixed)
    assert verdict == "YES" and "1 without own words left out" in evidence


def test_questions_are_sentences_not_question_marks():
    verdict, evidence, first = answer({"kind": "questions_per_reply", "max": 1}, EXCHANGES)
    # exchange 3: "??" is one question, the quoted "…alerted?" inside a sentence is none
    assert "1: 1; 2: 0; 3: 1" in evidence and verdict == "YES" and first is None
    assert "sentences, not question marks" in evidence
    verdict, evidence, first = answer({"kind": "questions_per_reply", "max": 0}, EXCHANGES)
    assert verdict == "NO" and first == 1 and "exchange(s) 1, 3" in evidence


def test_phrases_are_case_insensitive_whole_words_with_either_apostrophe():
    coach = [{"user": "i can't sleep before exams", "assistant": "I’m sorry you're going through that. Exams are hard."},
             {"user": "yeah", "assistant": "Sorrynotsorry is a hashtag, not advice. What helps you wind down?"}]
    verdict, evidence, first = answer({"kind": "phrases", "list": ["i'm sorry", "as an AI"]}, coach)
    assert verdict == "NO" and first == 1 and 'exchange 1: "i\'m sorry" in "I’m sorry you' in evidence
    # "sorry" inside "Sorrynotsorry" is not the word
    assert answer({"kind": "phrases", "list": ["sorry"]}, coach[1:])[0] == "YES"
    assert phrase_pattern("great  question").search("What a GREAT\nquestion!")
    assert phrase_pattern("e.g.").search("use a flag, e.g. --dry-run")


def test_regex_absent_and_present():
    verdict, evidence, first = answer({"kind": "regex", "pattern": r"(?i)\bbucket policy\b"}, EXCHANGES)
    assert verdict == "NO" and first == 1 and "bucket policy" in evidence
    # present: every reply must end with a question (only exchange 1 and 3 do)
    verdict, evidence, first = answer({"kind": "regex", "pattern": r"\?\s*$", "match": "present"}, EXCHANGES)
    assert verdict == "NO" and first == 2 and "exchange 2: no match" in evidence
    assert answer({"kind": "regex", "pattern": r"\?\s*$", "match": "present"}, [EXCHANGES[0]])[0] == "YES"


@pytest.mark.parametrize("pattern, why", [
    (r"(\w+\s?)*$", "nests a repeat"),
    (r"(?:great|good|excellent\w*)+ question", "alternatives"),
    (r"(['\"]).*\1", "backreference"),
    (r".*sorry.*again", "wildcard"),
    (r"(great question", "does not compile: missing ), unterminated subpattern at position 0"),
])
def test_patterns_that_blow_up_or_do_not_compile_are_refused(pattern, why):
    assert why in (regex_problem(pattern) or "")


@pytest.mark.parametrize("pattern", [r"(?i)\bI (?:completely )?understand\b", r"(?:\d{1,3}\.){3}\d{1,3}",
                                     r"^\s*(?:Great|Excellent) question", r"(\w++\s)*$", r"(?>ab|a)+c", r"sorry.*"])
def test_ordinary_patterns_are_accepted(pattern):
    assert regex_problem(pattern) is None


def test_an_accepted_pattern_on_a_hostile_reply_stays_fast():
    reply = "a" * 19_000 + "!" + " sorry" * 500
    start = time.monotonic()
    verdict, evidence, _ = answer({"kind": "regex", "pattern": r"a+b"}, [{"user": "hi", "assistant": reply}])
    assert verdict == "YES" and time.monotonic() - start < 3
    long = [{"user": "hi", "assistant": "x" * 25_000 + " I understand"}]
    verdict, evidence, _ = answer({"kind": "regex", "pattern": "understand"}, long)
    assert verdict == "YES" and "first 20,000 of 25,013 characters" in evidence  # said, not hidden


def test_check_problems_locate_and_name_the_field():
    assert check_problems({"kind": "length_ration", "max": 2})[0][1:4] == (
        "RUB023", "unknown check kind 'length_ration'", "did you mean 'length_ratio'?")
    (path, rule, msg, hint, _), = check_problems({"kind": "questions_per_reply", "maxx": 2})[:1]
    assert path == ("maxx",) and rule == "RUB023" and "did you mean 'max'?" == hint
    assert any("needs 'max'" in p[2] for p in check_problems({"kind": "questions_per_reply"}))
    assert check_problems({"kind": "length_ratio", "max": 2, "share": 1.5})[0][0] == ("share",)
    assert check_problems({"kind": "phrases", "list": []})[0][0] == ("list",)
    assert check_problems({"kind": "regex", "pattern": "(a+)+$"})[0][1] == "RUB024"
    assert check_problems("length_ratio")[0][1] == "RUB023"
    assert check_problems({"kind": "regex", "pattern": "x", "match": "present"}) == []


def test_the_model_refuses_what_the_checker_refuses():
    base = {"name": "Short replies", "question": "Are replies short?", "na_valid": False}
    ok = Criterion.model_validate({**base, "check": {"kind": "length_ratio", "max": 2.0}})
    assert ok.check.kind == "length_ratio" and ok.check.share == 0.0 and is_computed(ok)
    with pytest.raises(ValueError):
        Criterion.model_validate({**base, "check": {"kind": "regex", "pattern": "(a|ab)*c"}})
    assert not is_computed({**base})
