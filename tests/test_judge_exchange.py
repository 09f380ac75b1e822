"""A verdict's `exchange` (the first failing exchange), end to end: scripted judge replies through
the fake server land in the checkpoint, in judgments.jsonl `exchanges` (per judge, and for
`combined` the earliest among the judges that said NO), in the report and in the conversation
view's marks; an out-of-range, non-numeric or non-NO exchange becomes null."""

from __future__ import annotations

import json
import re

import pytest

from baselinehelp import judgments, only_run, records
from fakes.openai_server import FakeOpenAI
from test_judge_prompt import Scripted, criterion_of, project, run

from ftd_tui.services.baseline import prompts as P
from ftd_tui.tui.screens.baseline import failing_marks

# (judge, criterion) -> the judge's verdict for conversation s01 (the one with the pasted chat export)
VERDICTS = {
    ("judge-a", "CC2"): {"answer": "NO", "exchange": 2, "reasoning": "Exchange 2 asks \"Did that help? Is the export "
                         "working now?\" plus the sorry: fine; but exchange 2 is where the limit is passed."},
    ("judge-b", "CC2"): {"answer": "NO", "exchange": 3, "reasoning": "Exchange 3 fails."},
    ("judge-a", "CC1"): {"answer": "NO", "exchange": 99, "reasoning": "Exchange 99 is too long."},  # out of range
    ("judge-b", "CC1"): {"answer": "NO", "exchange": "the second one", "reasoning": "Exchange 2 runs long."},
    ("judge-a", "PR3"): {"answer": "YES", "exchange": 1, "reasoning": "Nothing fabricated."},  # not a NO
    ("judge-b", "PR3"): {"answer": "NO", "exchange": 0, "reasoning": "Exchange 0?"},  # out of range
}


def reply(body: dict) -> str:
    cid = criterion_of(body)
    judge = str(body["model"])
    s01 = "website widget" in body["messages"][1]["content"]
    v = VERDICTS.get((judge, cid)) if s01 else None
    return json.dumps(v or {"reasoning": f"Quoted evidence for {cid}.", "answer": "YES"}, ensure_ascii=False)


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def test_exchange_lands_in_judgments_the_report_and_the_view(sample):
    with FakeOpenAI() as fake:
        roles = Scripted()
        roles.judge_reply = reply
        fake.responder = roles
        root = project(sample, fake, judges=2)
        run(root)
        # the structured-output schema asks for it
        fmt = next(q["body"] for q in fake.requests if str(q["body"]["model"]).startswith("judge"))["response_format"]
        assert "exchange" in json.dumps(fmt)
    run_dir = only_run(root)
    answers = {(r["conv"], r["model"].rsplit("/", 1)[-1], r["criterion"]): r for r in records(run_dir, "answer")}
    assert answers[("s01", "judge-a", "CC2")]["exchange"] == 2
    assert answers[("s01", "judge-b", "CC2")]["exchange"] == 3
    assert answers[("s01", "judge-a", "CC1")]["exchange"] is None  # 99 > 3 exchanges
    assert answers[("s01", "judge-b", "CC1")]["exchange"] is None  # not a number: null, the NO kept
    assert answers[("s01", "judge-b", "CC1")]["answer"] == "NO"
    assert answers[("s01", "judge-a", "PR3")]["exchange"] is None  # a YES names no failing exchange
    assert answers[("s01", "judge-b", "PR3")]["exchange"] is None  # exchange 0 does not exist
    assert answers[("s02", "judge-a", "CC2")]["exchange"] is None

    js = {(j["id"], j["judge"]): j for j in judgments(run_dir)}
    a, b, comb = js[("s01", "openai/judge-a")], js[("s01", "openai/judge-b")], js[("s01", "combined")]
    assert a["exchanges"]["CC2"] == 2 and b["exchanges"]["CC2"] == 3
    assert comb["answers"]["CC2"] == "NO" and comb["exchanges"]["CC2"] == 2  # the earliest among the NOs
    assert comb["exchanges"]["CC1"] is None and comb["exchanges"]["PR3"] is None
    assert set(comb["exchanges"]) == set(comb["answers"])
    assert all(v is None for v in js[("s02", "combined")]["exchanges"].values())

    report = (root / "base-model-eval-results.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("- CC2 "))
    assert "s01 first failed at exchange 2" in line
    assert re.search(r"^- CC1 .*s01 \(no exchange named\)", report, re.M)

    # the conversation view marks exchange 2's reply for CC2 (judge-a) and exchange 3's (judge-b)
    marks = failing_marks([r for r in judgments(run_dir) if r["id"] == "s01"])
    assert marks[2] == ["✗ CC2 (judge-a)"] and marks[3] == ["✗ CC2 (judge-b)"]
    assert 99 not in marks and 0 not in marks and 1 not in marks


def test_an_untrusted_exchange_never_fails_a_verdict():
    ok = P.Verdict.model_validate({"reasoning": "x", "answer": "NO", "exchange": "2"})
    assert ok.exchange == 2 and P.failing_exchange(ok.answer, ok.exchange, 3) == 2
    for junk in ("two", 2.5, True, [2], {"n": 2}, None, -1):
        v = P.Verdict.model_validate({"reasoning": "x", "answer": "NO", "exchange": junk})
        assert v.answer == "NO" and P.failing_exchange(v.answer, v.exchange, 3) is None
    assert P.failing_exchange("NO", 3, 3) == 3 and P.failing_exchange("NO", 4, 3) is None
    assert P.failing_exchange("NA", 1, 3) is None and P.failing_exchange("ERROR", 1, 3) is None
    many = P.Verdicts.model_validate({"verdicts": [{"id": "CC2", "reasoning": "r", "answer": "NO", "exchange": 1},
                                                   {"id": "CC1", "reasoning": "r", "answer": "YES"}]})
    assert [v.exchange for v in many.verdicts] == [1, None]
