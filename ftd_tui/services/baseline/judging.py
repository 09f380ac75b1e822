"""Stage 3 of the baseline run: every judge asked every criterion of a finished conversation (one
question each, or all in one), computed criteria answered by ftd, the scores combined, judges that
keep answering ERROR stopped early, and --judge-repeats. A part of Runner (runner.py)."""

from __future__ import annotations

import asyncio

from ...core.evaluation import runs, stats
from ...core.text.textsafe import clean, json_text
from ..llm.door import LLMError, Role
from . import prompts as P
from .conversations import Conv
from .run_limits import EARLY_STOP_MIN, JudgesUnusable
from .setup import judge_role

REPEAT_SAMPLE = 24  # (conversation, criterion) pairs re-asked per judge for --judge-repeats


class Judging:
    """Runner's judging (a mixin: the state is Runner's)."""

    # ------------------------------------------------------------ stage 3: judging
    def _judge_role(self, i: int) -> Role:
        if i in self._roles:
            return self._roles[i]
        self._roles[i] = judge_role(self.door.role("judges", i).spec, i)
        return self._roles[i]

    async def _judge_conv(self, c: Conv) -> None:
        from ...core.evaluation.computed import is_computed

        turns = len(c.exchanges)
        ask = P.asked(self.inputs.criteria, turns)
        for cid in ask:  # computed criteria: ftd answers them, never a judge
            if is_computed(self.inputs.criteria[cid]) and (c.id, cid) not in self.computed:
                self._compute(c, cid)
        ask_judges = [cid for cid in ask if not is_computed(self.inputs.criteria[cid])]
        jobs = []
        for j in range(len(self.inputs.judges)):
            role = self._judge_role(j)
            if self.inputs.judge_mode == "all_in_one":
                if ask_judges and not all((c.id, j, cid) in self.answers for cid in ask_judges):
                    jobs.append(self._judge_all(c, j, role, ask_judges))
            else:
                for cid in ask_judges:
                    if (c.id, j, cid) not in self.answers:
                        jobs.append(self._judge_one(c, j, role, cid))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):  # a stop (cost, judges), a cancel or a bug: all end here
                raise r
        if all((c.id, j, cid) in self.answers for j in range(len(self.inputs.judges)) for cid in ask_judges):
            self._score(c, ask)

    def _compute(self, c: Conv, cid: str) -> None:
        """A computed criterion's answer, from the transcript alone: checkpointed like an answer
        (kind "computed"), so a resume scores the very answer this run recorded."""
        from ...core.evaluation.computed import answer

        check = self._rubric.criteria[cid].check
        verdict, evidence, exchange = answer(check, c.exchanges)
        rec = {"kind": "computed", "conv": c.id, "criterion": cid, "answer": verdict, "reasoning": clean(evidence),
               "exchange": exchange, "check": check.model_dump() if hasattr(check, "model_dump") else dict(check),
               "cost": 0.0}
        self._record(rec)
        self.computed[(c.id, cid)] = rec

    def _answer_rec(self, conv: str, j: int, cid: str) -> dict:
        """Judge j's answer record, or the computed one every judge shares."""
        return self.computed[(conv, cid)] if (conv, cid) in self.computed else self.answers[(conv, j, cid)]

    async def _judge_one(self, c: Conv, j: int, role: Role, cid: str) -> None:
        msgs = P.judge_messages(cid, self.inputs.criteria[cid], c.exchanges, self.inputs.system_message,
                                reference=c.scenario.get("reference"))
        exchange = None
        try:
            verdict, usage = await self._call(role, msgs, structured=P.Verdict)
            answer, reasoning = verdict.answer, clean(verdict.reasoning)
            exchange = P.failing_exchange(answer, verdict.exchange, len(c.exchanges))  # untrusted: checked
        except LLMError as exc:
            if exc.kind != "bad_output":
                self.errors.append(exc.message)
                return  # not an answer: left for a resume
            # its requests are in the "failed" record _call wrote; the cost of an unreadable answer is unknown
            answer, reasoning, usage = "ERROR", exc.message, {"cost": None}
        rec = {"kind": "answer", "conv": c.id, "judge": j, "model": role.model, "criterion": cid, "answer": answer,
               "reasoning": reasoning, "exchange": exchange, "usage": [usage] if "role" in usage else [],
               "cost": usage.get("cost")}
        self._answered(rec)
        self._stop_if_unusable(j)

    async def _judge_all(self, c: Conv, j: int, role: Role, ask: list[str]) -> None:
        msgs = P.judge_all_messages({cid: self.inputs.criteria[cid] for cid in ask}, c.exchanges, self.inputs.system_message,
                                    reference=c.scenario.get("reference"))
        try:
            value, usage = await self._call(role, msgs, structured=P.Verdicts)
            got = {v.id: v for v in value.verdicts}
        except LLMError as exc:
            if exc.kind != "bad_output":
                self.errors.append(exc.message)
                return
            got, usage = {}, {"cost": None}  # the requests are in the "failed" record
        for k, cid in enumerate(ask):
            v = got.get(cid)
            rec = {"kind": "answer", "conv": c.id, "judge": j, "model": role.model, "criterion": cid,
                   "answer": v.answer if v else "ERROR", "reasoning": clean(v.reasoning) if v else "no verdict for this criterion",
                   "exchange": P.failing_exchange(v.answer, v.exchange, len(c.exchanges)) if v else None,
                   "usage": [usage] if k == 0 and "role" in usage else [], "cost": usage.get("cost") if k == 0 else 0.0}
            self._answered(rec)
        self._stop_if_unusable(j)

    def _answered(self, rec: dict) -> None:
        self._record(rec)
        self.answers[(rec["conv"], rec["judge"], rec["criterion"])] = rec
        self.stage_done["judgments"] += 1
        tally = self._fresh.setdefault(rec["judge"], [0, 0])
        tally[0] += rec["answer"] == "ERROR"
        tally[1] += 1

    def _stop_if_unusable(self, j: int) -> None:
        """Stop the run once judge ``j`` is surely past the ERROR limit (see EARLY_STOP_MIN). Only
        this process's answers count: a resume after the server was fixed starts with a clean slate."""
        errors, total = self._fresh.get(j, (0, 0))
        if self._stop is not None or total < EARLY_STOP_MIN:
            return
        low = stats.wilson(errors, total)[0]
        if low > self._max_judge_errors():
            self._stop = JudgesUnusable(f"judge {self.inputs.judges[j].get('model')} answered ERROR on {errors} of "
                                        f"the last {total} questions: stopped before paying for more")
            raise self._stop

    async def _repeats(self) -> None:
        """--judge-repeats k: re-ask a seeded sample of (conversation, criterion) pairs k - 1 more
        times, uncached, to measure how often each judge changes its mind."""
        import random

        pairs = sorted({(conv, cid) for (conv, j, cid) in self.answers if conv in self.judged})
        sample = random.Random(self.seed).sample(pairs, min(REPEAT_SAMPLE, len(pairs)))
        done = {(r["conv"], int(r["judge"]), r["criterion"], int(r["rep"])) for r in self.records if r.get("kind") == "repeat"}
        todo = [(conv, cid, j, rep) for conv, cid in sample for j in range(len(self.inputs.judges))
                for rep in range(1, self.judge_repeats) if (conv, j, cid, rep) not in done]
        self.stage_totals["judgments"] += len(todo)

        async def one(conv: str, cid: str, j: int, rep: int) -> None:
            role = self._judge_role(j)
            c = self.convs[conv]
            msgs = P.judge_messages(cid, self.inputs.criteria[cid], c.exchanges, self.inputs.system_message,
                                    reference=c.scenario.get("reference"))
            exchange = None
            try:  # uncached: a cached answer would hide every flip
                verdict, usage = await self._call(role, msgs, structured=P.Verdict, use_cache=False)
                answer = verdict.answer
                exchange = P.failing_exchange(answer, verdict.exchange, len(c.exchanges))
            except LLMError as exc:
                if exc.kind != "bad_output":
                    self.errors.append(exc.message)
                    return
                answer, usage = "ERROR", {"cost": None}  # the requests are in the "failed" record
            self._record({"kind": "repeat", "conv": conv, "judge": j, "model": role.model, "criterion": cid, "rep": rep,
                          "answer": answer, "exchange": exchange, "usage": [usage] if "role" in usage else [],
                          "cost": usage.get("cost")})
            self.stage_done["judgments"] += 1

        results = await asyncio.gather(*(one(*t) for t in todo), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r

    def _score(self, c: Conv, ask: list[str]) -> None:
        from ...core.evaluation.scoring import combine, record, score_answers

        rubric = self._rubric
        turns = len(c.exchanges)
        per_judge = []
        per_judge_ex: list[dict[str, int | None]] = []
        recs = []
        for j, spec in enumerate(self.inputs.judges):
            answers = {cid: self._answer_rec(c.id, j, cid)["answer"] for cid in ask}
            reasons = {cid: self._answer_rec(c.id, j, cid)["reasoning"] for cid in ask}
            # checked again: a checkpoint from an older ftd has none, and the file is only data
            firsts = {cid: P.failing_exchange(answers[cid], self._answer_rec(c.id, j, cid).get("exchange"), turns)
                      for cid in ask}
            per_judge.append(answers)
            per_judge_ex.append(firsts)
            recs.append(record(c.id, spec["model"], score_answers(rubric, answers, turns), answers, reasons, turns,
                               exchanges=firsts))
        combined = combine(per_judge)
        computed = [cid for cid in ask if (c.id, cid) in self.computed]
        reasons = {cid: self.computed[(c.id, cid)]["reasoning"] if cid in computed else
                   " | ".join(f"{self.inputs.judges[j]['model']}: {self._answer_rec(c.id, j, cid)['reasoning']}"
                              for j in range(len(self.inputs.judges))) for cid in combined}
        # combined: the earliest failing exchange among the judges that said NO
        firsts = {cid: min((ex[cid] for ex in per_judge_ex if ex.get(cid) is not None), default=None)
                  if combined[cid] == "NO" else None for cid in combined}
        recs.append(record(c.id, "combined", score_answers(rubric, combined, turns), combined, reasons, turns,
                           exchanges=firsts))
        for r in recs:  # answered by ftd, not by the judge the record is under: said so
            r["computed"] = list(computed)
        self.judged[c.id] = recs
        self._write_judgments()

    def _write_judgments(self) -> None:
        # derived from the checkpoint on every run, so a lost write costs nothing
        lines = [json_text(r, default=str) for cid in sorted(self.judged) for r in self.judged[cid]]
        path = self.dir / runs.JUDGMENTS
        tmp = path.with_name(".judgments.jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        import os

        os.replace(tmp, path)

    def _max_judge_errors(self) -> float:
        from ...core.evaluation.summarize import MAX_JUDGE_ERRORS

        ev = self.inputs.settings.get("eval") if isinstance(self.inputs.settings.get("eval"), dict) else {}
        limit = ev.get("max_judge_errors")
        return float(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) and 0 <= limit <= 1 \
            else MAX_JUDGE_ERRORS

    def _check_judges(self) -> None:
        """A judge that answered ERROR too often makes the run fail: its ERRORs score as failed
        checks, and a pass rate built on them is a verdict nobody measured."""
        from ...core.evaluation.summarize import unusable_judges

        bad = unusable_judges(list(self.answers.values()), [str(j.get("model")) for j in self.inputs.judges],
                              self._max_judge_errors())
        self.unusable = bad
        if bad:
            self.state = "failed"
            self.errors.append("judges unusable: " + "; ".join(
                f"{u['model']} answered ERROR on {u['errors']} of {u['answers']} questions" for u in bad))
