"""The judges' self-test on the rubric's own calibration examples (spec §7): what `ftd calibrate`
and the app's calibration screen run.

Every judge answers every reviewed calibration example, framed as the judge prompt frames a
conversation (the example's context as the user turn, its response as the assistant's), with
the example under test left out of that criterion's examples in the prompt: otherwise the
judge would be shown the answer. Examples typed UNREVIEWED are skipped, as the judge prompt
skips them.

Per judge and criterion the result is a confusion matrix: TPR on PASS / BORDERLINE_PASS, TNR on
FAIL / BORDERLINE_FAIL, accuracy on NA, with n.

The cannot-apply rule. A judge cannot apply a criterion when
  - it answers any PASS, FAIL or NA example wrongly, or its output for one is unreadable
    (ERROR): those are the clear cases, and a judge that misses a clear case is not measuring
    the criterion; or
  - its TPR or its TNR is below 0.5 (borderline examples count here): on that side it does
    worse than a coin.
A borderline example answered wrongly is allowed on its own: borderline cases are where
careful people disagree too.

A self-test costs a baseline's judging of about one conversation per example, so it runs
before a baseline is paid for. Its folder, `eval/calibration/<UTC stamp>-<hash8>/`, works like a
baseline run's: manifest.json, run.lock, calls.jsonl (the checkpoint: one record per answered
example), progress.json and summary.json. The hash covers the rubric, the judges, the system
message and the judge instructions; the newest folder with the same hash is resumed (a
finished one makes no calls)."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ... import __version__
from ...core.evaluation import runs
from ...core.format import money, pct
from ...core.text.textsafe import clean, clean_line

if TYPE_CHECKING:  # setup imports the heavier part of the baseline: only for annotations
    from .setup import Inputs

CALIBRATION = Path("eval") / "calibration"
PROGRESS_EVERY = 0.5  # seconds
CLEAR_TYPES = ("PASS", "FAIL", "NA")
MIN_RATE = 0.5
RULE = ("a judge cannot apply a criterion when it gets any PASS, FAIL or NA example wrong (or its answer is "
        "unreadable), or when its TPR or TNR is below 50%; a wrong borderline example alone is allowed")
# judge parameters that change how a request is sent, not what the judge answers
_NOT_HASHED = ("api_key", "price", "max_concurrency", "timeout")


def calibration_dir(root: Path) -> Path:
    return Path(root) / CALIBRATION


def _public(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k not in _NOT_HASHED}


def _judge_layout() -> list[dict]:
    """The judge prompt around fixed stand-in content: its digest changes with any change to the
    instructions or the layout (not only JUDGE_SYSTEM), and the rubric's own text is hashed apart."""
    from .prompts import judge_messages

    probe = {"name": "n", "question": "q?", "na_valid": True, "stats": True,
             "calibration_examples": [{"type": "PASS", "context": "c", "response": "r", "reasoning": "w"}]}
    return judge_messages("ID", probe, example_exchanges("user: u\nassistant: a\nuser: u2", "r"), "s", reference="ref")


_TURN = re.compile(r"^\s*(user|assistant)\s*:\s?", re.I)


def example_exchanges(context: str, response: str) -> list[dict]:
    """An example framed as the conversation a judge would see: a context written as turns
    ("user: …" / "assistant: …" lines, outside fenced blocks) becomes those exchanges, the
    response answering the last user turn; any other context is the one user message. (Left
    as one message, earlier turns would read as a pasted chat log to the statistics.)"""
    turns: list[list] = []
    fenced_ = False
    for line in context.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced_ = not fenced_
        m = None if fenced_ else _TURN.match(line)
        if m:
            turns.append([m.group(1).lower(), line[m.end():]])
        elif turns:
            turns[-1][1] += "\n" + line
        elif line.strip():
            return [{"user": context, "assistant": response}]  # text before any label: not written as turns
    roles = [t[0] for t in turns]
    if not turns or roles != ["user", "assistant"] * (len(roles) // 2) + ["user"]:
        return [{"user": context, "assistant": response}]
    texts = [t[1].strip() for t in turns] + [response]
    return [{"user": texts[i], "assistant": texts[i + 1]} for i in range(0, len(texts), 2)]


def hashes_for(inputs: Inputs) -> dict[str, str]:
    return {"rubric": runs.digest(inputs.rubric), "judges": runs.digest([_public(j) for j in inputs.judges]),
            "system_message": runs.digest(inputs.system_message), "judge_prompt": runs.digest(_judge_layout())}


def calibration_hash(inputs: Inputs) -> str:
    h = hashes_for(inputs)
    return runs.combined_hash(h, sorted(h)) or "sha256:unknown"


def latest_verdict(root: Path, inputs: Inputs) -> str:
    """One line for the baseline's forecast: what the latest self-test on today's rubric and
    judges said, so a baseline is not paid for with a judge that cannot apply a criterion."""
    want = calibration_hash(inputs)
    base = calibration_dir(root)
    folders = sorted((p for p in base.iterdir() if p.is_dir()), reverse=True) if base.is_dir() else []
    for p in folders:
        m = runs.read_json(p / runs.MANIFEST)
        if not isinstance(m, dict) or m.get("inputs_hash") != want:
            continue
        s = runs.read_json(p / runs.SUMMARY)
        if not isinstance(s, dict) or s.get("state") != "done":
            return f"calibration self-test {p.name} is unfinished: `ftd calibrate` resumes it"
        bad = [f"{j['model']}: {', '.join(j['cannot_apply'])}" for j in s.get("judges") or [] if j.get("cannot_apply")]
        return ("calibration self-test: judges cannot apply " + "; ".join(bad)) if bad else \
            f"calibration self-test {p.name}: every judge applies every criterion on its examples"
    return "no calibration self-test on this rubric and these judges yet: `ftd calibrate` (cheap) before paying for a baseline"


def examples_of(inputs: Inputs) -> list[tuple[str, int, dict, str]]:
    """(criterion id, index in its calibration_examples, example, expected answer), rubric order.
    The index is the position in the full list, as judge_messages' leave_out counts it."""
    from ...core.evaluation.agreement import expected_answer
    from ...core.evaluation.computed import is_computed

    out = []
    for cid, crit in inputs.criteria.items():
        if is_computed(crit):
            continue  # answered by ftd from the transcript: no judge to test
        for i, ex in enumerate(crit.get("calibration_examples") or []):
            if not isinstance(ex, dict):
                continue
            expected = expected_answer(ex.get("type"))
            if expected is not None:
                out.append((cid, i, ex, expected))
    return out


def calibration_inputs(project, settings: dict) -> Inputs:
    """What a self-test reads: the rubric, the system message and the judges. Unlike a
    baseline it needs no base model or simulator, so it can come first."""
    from ...core.artifacts.system_message import system_message
    from .setup import BaselineError, Inputs, require_readable, usable_rubric

    require_readable(project, (("rubric", "the rubric"), ("system-prompt", "the system prompt")))
    rubric = usable_rubric(project)
    inputs = Inputs(project, settings, rubric, {}, {}, {}, system_message(project) or "", 0, "per_criterion", None)
    if not inputs.judges:
        raise BaselineError("configure models.judges in ftd.yaml first "
                            "(`ftd doctor --setup` proposes roles from the keys you have)")
    return inputs


def prepare_dir(root: Path, inputs: Inputs, fresh: bool = False) -> tuple[Path, bool]:
    """(folder, resumed): the newest folder made with these inputs, else a new one."""
    want = calibration_hash(inputs)
    base = calibration_dir(root)
    if not fresh and base.is_dir():
        for p in sorted((p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True):
            m = runs.read_json(p / runs.MANIFEST)
            if isinstance(m, dict) and m.get("inputs_hash") == want:
                return p, True
    base.mkdir(parents=True, exist_ok=True)
    h8, stamp = want.split(":", 1)[-1][:8], runs.utc_stamp()
    for i in range(100):
        p = base / (f"{stamp}-{h8}" if i == 0 else f"{stamp}-{h8}-{i}")
        try:
            p.mkdir()
        except FileExistsError:
            continue
        manifest = {"id": p.name, "created": runs.now_iso(), "ftd_version": __version__, "inputs_hash": want,
                    "hashes": hashes_for(inputs), "judges": [_public(j) for j in inputs.judges],
                    "examples": len(examples_of(inputs))}
        runs.write_json_atomic(p / runs.MANIFEST, manifest)
        return p, False
    raise RuntimeError("could not create a calibration folder")


# --------------------------------------------------------------------------- the run


class Calibration:
    def __init__(self, inputs: Inputs, run_dir: Path, door, *, on_progress: Callable[[dict], None] | None = None,
                 use_cache: bool = True, max_cost: float | None = None):
        from .run_limits import CostGuard

        self.inputs, self.dir, self.door = inputs, Path(run_dir), door
        self.on_progress, self.use_cache = on_progress, use_cache
        self.records = runs.read_jsonl(self.dir / runs.CALLS)
        self.examples = examples_of(inputs)
        from .setup import judge_role

        self.roles = [judge_role(spec, j) for j, spec in enumerate(inputs.judges)]
        self.answers: dict[tuple[int, str, int], dict] = {}
        for r in self.records:
            j = r.get("judge")
            if r.get("kind") == "example" and isinstance(j, int) and j < len(self.roles) \
                    and r.get("model") == self.roles[j].model:
                self.answers[(j, str(r.get("criterion")), int(r.get("index", -1)))] = r
        self.guard = CostGuard(max_cost, self._cost() or 0.0)
        self.cp: runs.Checkpoint | None = None
        self.errors: list[str] = []
        # counted by the door, which sees every call (a re-ask too) and skips cache hits
        self._calls_before = self._door_calls()
        self.state = "running"
        self._emitted = 0.0
        self._price_cache: dict[int, Any] = {}

    def _door_calls(self) -> int:
        usage = getattr(self.door, "usage", None) or {}
        return sum(u.calls for name, u in usage.items() if name in {r.name for r in self.roles})

    @property
    def calls_made(self) -> int:
        return self._door_calls() - self._calls_before

    @property
    def total(self) -> int:
        return len(self.examples) * len(self.roles)

    def _cost(self) -> float | None:
        costs = [r.get("cost") for r in self.records if r.get("kind") == "example"]
        return None if any(c is None for c in costs) else round(sum(costs), 6)

    def progress(self) -> dict:
        return {"state": self.state, "pid": os.getpid(), "updated": runs.now_iso(), "done": len(self.answers),
                "total": self.total, "calls": self.calls_made, "cost": self._cost(), "errors": self.errors[-5:]}

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._emitted < PROGRESS_EVERY:
            return
        self._emitted = now
        p = self.progress()
        runs.write_json_atomic(self.dir / runs.PROGRESS, p, durable=False)
        if self.on_progress is not None:
            self.on_progress(p)

    async def _one(self, j: int, cid: str, index: int, ex: dict, expected: str) -> None:
        from ...core.economics.costs import price_for
        from ..llm.door import LLMError
        from . import prompts as P

        role = self.roles[j]
        exchanges = example_exchanges(str(ex.get("context") or ""), str(ex.get("response") or ""))
        msgs = P.judge_messages(cid, self.inputs.criteria[cid], exchanges, self.inputs.system_message, leave_out=index)
        price = self._price_cache.get(j)
        if price is None:
            price = self._price_cache[j] = price_for(role.spec)
        held = self.guard.reserve(price, msgs, int(role.spec.get("max_tokens") or 1024))
        cost: float | None = 0.0
        try:
            try:
                verdict, reply = await self.door.structured(role, msgs, P.Verdict, use_cache=self.use_cache)
                answer, reasoning = verdict.answer, clean(verdict.reasoning)
                if not reply.cached:
                    cost = 0.0 if price.local else (reply.input_tokens * price.input_per_token
                                                    + reply.output_tokens * price.output_per_token) if price.known else None
                usage = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens, "cached": reply.cached}
            except LLMError as exc:
                if exc.kind != "bad_output":
                    if exc.message not in self.errors:
                        self.errors.append(exc.message)
                    return  # no answer: a resume asks again
                # the door does not hand back the unreadable replies' tokens: their price is unknown
                cost = 0.0 if price.local else None
                answer, reasoning, usage = "ERROR", exc.message, {}
        finally:
            self.guard.settle(held, cost)
        rec = {"kind": "example", "judge": j, "model": role.model, "criterion": cid, "index": index,
               "type": ex.get("type"), "expected": expected, "answer": answer, "reasoning": reasoning,
               **usage, "cost": cost}
        assert self.cp is not None
        self.cp.append(rec)
        self.records.append(rec)
        self.answers[(j, cid, index)] = rec
        self._emit()

    async def run(self) -> dict:
        from .run_limits import CostStop

        lock = runs.RunLock(self.dir)
        lock.acquire()
        self.cp = runs.Checkpoint(self.dir / runs.CALLS, background=True)
        try:
            self._emit(force=True)
            jobs = [self._one(j, cid, i, ex, exp) for j in range(len(self.roles)) for cid, i, ex, exp in self.examples
                    if (j, cid, i) not in self.answers]
            results = await asyncio.gather(*jobs, return_exceptions=True)
            for r in results:
                if isinstance(r, CostStop):
                    self.state = "stopped"
                    if str(r) not in self.errors:
                        self.errors.append(str(r))
                elif isinstance(r, BaseException):
                    raise r
            if self.state == "running":
                self.state = "done" if len(self.answers) >= self.total else "failed"
        except asyncio.CancelledError:
            self.state = "cancelled"
            raise
        except Exception as exc:  # any failure is the self-test's: recorded in its summary, then raised on
            self.state = "failed"
            self.errors.append(clean(str(exc)) or type(exc).__name__)
            raise
        finally:
            self.cp.close()
            summary = self.summary()
            runs.write_json_atomic(self.dir / runs.SUMMARY, summary)
            self._emit(force=True)
            lock.release()
        return summary

    def summary(self) -> dict:
        from ...core.evaluation.computed import is_computed

        judges = []
        for j, role in enumerate(self.roles):
            rows = []
            for cid, crit in self.inputs.criteria.items():
                if is_computed(crit):
                    continue  # listed once as "computed" below
                mine = [(i, ex, exp) for c, i, ex, exp in self.examples if c == cid]
                got = [self.answers[(j, cid, i)] for i, _, _ in mine if (j, cid, i) in self.answers]
                rows.append(criterion_row(cid, crit, got, len(mine) - len(got)))
            judges.append({"judge": j, "model": role.model, "criteria": rows,
                           "cannot_apply": [r["id"] for r in rows if r["cannot_apply"]]})
        return {"run": self.dir.name, "state": self.state, "rule": RULE, "judges": judges,
                "computed": [cid for cid, crit in self.inputs.criteria.items() if is_computed(crit)],
                "calls": self.calls_made,
                "cost": self._cost(), "examples": len(self.examples), "answered": len(self.answers),
                "total": self.total, "errors": self.errors[-20:]}


def criterion_row(cid: str, crit: dict, recs: list[dict], unanswered: int) -> dict:
    from ...core.evaluation.agreement import confusion

    conf = confusion([(str(r.get("expected")), str(r.get("answer"))) for r in recs])
    wrong = [{"index": r.get("index"), "type": r.get("type"), "answer": r.get("answer")}
             for r in recs if r.get("answer") != r.get("expected")]
    why = []
    clear = [w for w in wrong if w["type"] in CLEAR_TYPES]
    if clear:
        # numbered as a person counts the rubric's list, not from 0
        of = len(crit.get("calibration_examples") or [])
        why.append(", ".join(f"{w['type']} example {w['index'] + 1} of {of} "
                             + ("unreadable" if w["answer"] == "ERROR" else f"answered {w['answer']}") for w in clear))
    for key, label in (("tpr", "TPR"), ("tnr", "TNR")):
        if conf.get(key) is not None and conf[key] < MIN_RATE:
            why.append(f"{label} {pct(conf[key])}")
    return {"id": cid, "name": str(crit.get("name") or ""), **conf, "wrong": wrong, "unanswered": unanswered,
            "cannot_apply": bool(why), "why": "; ".join(why) or None}


async def run_calibration(inputs: Inputs, door, root: Path, *, fresh: bool = False,
                          on_progress: Callable[[dict], None] | None = None, use_cache: bool = True,
                          max_cost: float | None = None) -> dict:
    run_dir, _ = prepare_dir(root, inputs, fresh)
    return await Calibration(inputs, run_dir, door, on_progress=on_progress, use_cache=use_cache,
                             max_cost=max_cost).run()


# --------------------------------------------------------------------------- output


def _rate(rate: float | None, n: int | None) -> str:
    if rate is None or not n:
        return "–"
    return f"{round(rate * n)}/{n}"


def summary_lines(s: dict) -> list[str]:
    out = [f"Calibration {s.get('run')}: {s.get('state')} ({s.get('answered', 0)}/{s.get('total', 0)} answers)",
           f"  rule: {RULE}"]
    for j in s.get("judges") or []:
        out.append("")
        out.append(f"judge {clean_line(str(j['model']))}")
        bad = [c for c in j["criteria"] if c["cannot_apply"]]
        out.append("  cannot apply: " + ("; ".join(f"{c['id']} ({c['why']})" for c in bad) if bad else "none"))
        width = max([len("criterion")] + [len(c["id"]) for c in j["criteria"]])
        out.append(f"  {'criterion':<{width}}  {'n':>3}  {'TPR':>5}  {'TNR':>5}  {'NA acc.':>7}")
        for c in j["criteria"]:
            mark = "  ✗" if c["cannot_apply"] else ""
            notes = ([f"{c['errors']} unreadable"] if c.get("errors") else []) \
                + ([f"{c['unanswered']} unanswered"] if c.get("unanswered") else [])
            extra = f"  ({', '.join(notes)})" if notes else ""
            out.append(f"  {c['id']:<{width}}  {c.get('n', 0):>3}  {_rate(c.get('tpr'), c.get('n_yes')):>5}  "
                       f"{_rate(c.get('tnr'), c.get('n_no')):>5}  {_rate(c.get('na_accuracy'), c.get('n_na')):>7}"
                       f"{mark}{extra}")
    if s.get("computed"):
        out.append("")
        out.append("computed (answered by ftd from the transcript, no judge to test): "
                   + ", ".join(clean_line(str(c)) for c in s["computed"]))
    for e in (s.get("errors") or [])[-3:]:
        out.append(f"  error: {clean_line(str(e))}")
    if s.get("answered", 0) < s.get("total", 0):
        out.append("  unfinished: run again to resume")
    cost = s.get("cost")
    out.append(f"calls {s.get('calls', 0)}, cost {money(cost)}")
    return out
