"""The baseline run: situations → multi-turn conversations → judgments → report.

Every finished call is a checkpoint record before anything depends on it, so a run killed at
any moment redoes only unfinished work. Conversations and judging overlap: a conversation's
judging starts the moment its last exchange lands, and the door's per-backend semaphore is
the only throttle (the benchmark holds this to within a few percent of a bare asyncio loop)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable

from ...core.economics.costs import price_for
from ...core.evaluation import runs
from ...core.text.textsafe import clean
from ..llm.door import BEFORE_SEND, REQUESTS, Door, LLMError, Role
from . import prompts as P
from .conversations import Conv, Conversations
from .judging import Judging
from .reporting import Reporting
from .run_limits import CostGuard, CostStop, JudgesUnusable
from .setup import Inputs, smoke_selection
from .sim_screening import SimScreening


class Runner(Conversations, SimScreening, Judging, Reporting):
    """One baseline run in its folder: the state, the checkpointed call, set-up and the run itself.
    The stages are its parts: conversations.py, sim_screening.py, judging.py, reporting.py."""

    def __init__(self, inputs: Inputs, run_dir: Path, door: Door, *, smoke: bool = False, max_cost: float | None = None,
                 on_progress: Callable[[dict], None] | None = None, use_cache: bool = True, judge_repeats: int = 1):
        self.inputs, self.dir, self.door = inputs, Path(run_dir), door
        self.smoke, self.max_cost, self.use_cache = smoke, max_cost, use_cache
        self.on_progress = on_progress
        self.manifest = runs.read_json(self.dir / runs.MANIFEST) or {}
        self.judge_repeats = max(1, int(judge_repeats or 1))
        self.smoke = smoke or bool((self.manifest.get("settings") or {}).get("smoke"))
        # sampling differs per run and is stable on resume; a run made --against another shares its seed
        self.seed = int(self.manifest.get("sample_seed") or int.from_bytes(self.dir.name.encode()[-4:], "big"))
        self.records = runs.read_jsonl(self.dir / runs.CALLS)
        self.cp: runs.Checkpoint | None = None
        self.convs: dict[str, Conv] = {}
        self.answers: dict[tuple[str, int, str], dict] = {}
        # (conv, criterion) -> a computed criterion's answer: ftd's own, no judge asked, so it is
        # kept apart from self.answers (ERROR shares, early stops and repeats count judges only)
        self.computed: dict[tuple[str, str], dict] = {}
        self.user_messages: dict[tuple[str, int], dict] = {}  # (conv, n) -> the simulator's checkpointed message
        self.opinions: dict[tuple[str, int], dict] = {}  # (conv, n) -> the critic's fault_opinion record
        self.judged: dict[str, list[dict]] = {}  # conv id -> judgment records
        self.errors: list[str] = []
        self.unusable: list[dict] = []  # judges over eval.max_judge_errors (the run then fails)
        self.calls_made = 0  # requests this process sent to a server (retries, re-asks, failures included)
        self.answered = 0  # calls that came back with a usable answer (not from the cache)
        self.failed = 0  # calls that ended in an error (an ERROR verdict included)
        self.state = "running"
        self.stage_totals = {"scenarios": 0, "exchanges": 0, "judgments": 0}
        self.stage_done = {"scenarios": 0, "exchanges": 0, "judgments": 0}
        spent = sum(r.get("cost") or 0.0 for r in self.records if isinstance(r.get("cost"), (int, float)))
        self.guard = CostGuard(max_cost, spent)
        self._dirty = True
        self._prices: dict[str, Any] = {}
        self._roles: dict[Any, Role] = {}
        self._fresh: dict[int, list[int]] = {}  # judge -> [ERROR answers, answers] made by this process
        self._stop: JudgesUnusable | None = None  # set once: every later call is refused before sending

    # ------------------------------------------------------------ checkpoint
    def _record(self, rec: dict) -> None:
        assert self.cp is not None
        self.cp.append(rec)
        self.records.append(rec)
        self._dirty = True

    def _price(self, role: Role):
        key = role.name
        if key not in self._prices:
            self._prices[key] = price_for(role.spec)
        return self._prices[key]

    async def _call(self, role: Role, messages: list[dict], *, structured=None, max_out: int | None = None,
                    sample_index: int = 0, use_cache: bool | None = None) -> tuple[Any, dict]:
        if self._stop is not None:
            raise self._stop  # nothing more is sent once the judges are known to be unusable
        tally = [0]  # every request the door sends for this call: retries and the structured re-ask too

        def gate() -> None:  # checked again once a slot is free (calls queue long before they send),
            if self._stop is not None:  # and before a re-ask: an unusable judge's re-asks are mostly waste
                raise LLMError("cancelled", str(self._stop))

        cache = self.use_cache if use_cache is None else use_cache
        price = self._price(role)
        held = self.guard.reserve(price, messages, max_out or int(role.spec.get("max_tokens") or 1024))
        cost: float | None = None
        token, gate_token = REQUESTS.set(tally), BEFORE_SEND.set(gate)
        try:
            if structured is not None:
                value, reply = await self.door.structured(role, messages, structured, use_cache=cache)
            else:
                reply = await self.door.complete(role, messages, sample_index=sample_index, use_cache=cache)
                value = reply
            if not reply.cached:
                self.answered += 1
                cost = 0.0 if price.local else (reply.input_tokens * price.input_per_token +
                                                reply.output_tokens * price.output_per_token) if price.known else None
            else:
                cost = 0.0
            usage = {"role": role.name, "model": role.model, "input_tokens": reply.input_tokens,
                     "output_tokens": reply.output_tokens, "cost": cost, "cached": reply.cached, "local": price.local,
                     "requests": tally[0]}
            return value, usage
        except LLMError as exc:
            stopped = exc.kind == "cancelled" and self._stop is not None
            if tally[0] or not stopped:  # refused before its first request: not a call, not a failure
                self.failed += 1
                self._record_failure(role, exc, tally[0], price)  # asked, stopped before the re-ask
            if stopped:
                raise self._stop from None
            raise
        finally:
            REQUESTS.reset(token)
            BEFORE_SEND.reset(gate_token)
            self.calls_made += tally[0]
            self.guard.settle(held, cost)

    def _record_failure(self, role: Role, exc: LLMError, requests: int, price) -> None:
        """A call that ended without a usable answer still made requests (and the model may have
        been paid for an unreadable one): the checkpoint keeps them, so every count is complete.
        A call refused before sending (no key, not approved) made none and is not recorded."""
        if not requests:
            return
        # no reply at all costs nothing; a reply that came back unreadable or cut was generated
        cost = 0.0 if price.local or exc.kind in ("rate_limited", "server", "unreachable", "bad_request") else None
        self._record({"kind": "failed", "role": role.name, "model": role.model, "error": exc.kind,
                      "message": clean(exc.message)[:300], "cost": cost,
                      "usage": [{"role": role.name, "model": role.model, "requests": requests, "cost": cost,
                                 "failed": True, "local": price.local}]})

    # ------------------------------------------------------------ set-up
    def _scenarios(self) -> list[dict]:
        frozen = runs.read_json(self.dir / "scenarios.json")
        if isinstance(frozen, list):
            return frozen
        from .setup import load_or_draw

        scen, _, _ = load_or_draw(self.inputs, None, False)
        return smoke_selection(scen) if self.smoke else scen

    def _restore(self, scenarios: list[dict]) -> None:
        from ...core.evaluation.personas import persona_from_seed

        situations = {r["scenario"]: r for r in self.records if r.get("kind") == "situation"}
        for s in scenarios:
            rec = situations.get(s["id"]) or {}
            if not s.get("situation") and rec.get("text"):
                s["situation"] = rec["text"]
                # a redrawn cell, a reference: what the scenario writer gave with the situation
                s.update({k: rec[k] for k in ("cell", "target_exchanges", "reference", "redrawn", "incoherent") if k in rec})
            self.convs[s["id"]] = Conv(s, persona_from_seed(self.inputs.personas, int(s.get("persona_seed") or 0)))
        for r in self.records:
            if r.get("kind") == "exchange" and r.get("conv") in self.convs:
                c = self.convs[r["conv"]]
                if r.get("fault"):
                    c.fault = r["fault"]
                if r.get("user") is not None and r.get("assistant") is not None and r.get("n") == len(c.exchanges) + 1:
                    c.exchanges.append({"user": r["user"], "assistant": r["assistant"], "user_flaws": r.get("user_flaws") or []})
            elif r.get("kind") == "fault_opinion" and r.get("conv") in self.convs:
                self.opinions[(r["conv"], int(r.get("n") or 0))] = r
            elif r.get("kind") == "user_message" and r.get("conv") in self.convs:
                self.user_messages[(r["conv"], int(r.get("n") or 0))] = r
            elif r.get("kind") == "answer":
                self.answers[(r["conv"], int(r["judge"]), r["criterion"])] = r
            elif r.get("kind") == "computed":
                self.computed[(r["conv"], r["criterion"])] = r
        for c in self.convs.values():
            if c.fault:
                c.status = "excluded"
            elif len(c.exchanges) >= self._target(c):
                c.status = "complete"

    def _target(self, c: Conv) -> int:
        return max(1, int(c.scenario.get("target_exchanges") or 1))

    # ------------------------------------------------------------ the run
    async def run(self) -> dict:
        from ...core.artifacts.rubric import Rubric
        from ...core.economics.overview import counter_for

        self._rubric = Rubric.model_validate(self.inputs.rubric)
        try:
            self._counter = counter_for(self.inputs.project)
        except Exception:  # no tokenizer at all: truncation checks are skipped, and said so
            self._counter = None
        lock = runs.RunLock(self.dir)
        lock.acquire()
        self.cp = runs.Checkpoint(self.dir / runs.CALLS, background=True)
        ticker = None
        try:
            scenarios = self._scenarios()
            self._restore(scenarios)
            for c in self.convs.values():  # transcripts are derived: rebuild any a crash left stale
                if c.exchanges or c.fault:
                    self._write_transcript(c)
            self.stage_totals["scenarios"] = len(scenarios)
            self.stage_done["scenarios"] = sum(1 for s in scenarios if s.get("situation"))
            self.stage_totals["exchanges"] = sum(len(c.exchanges) if c.fault else self._target(c) for c in self.convs.values())
            self.stage_done["exchanges"] = sum(len(c.exchanges) for c in self.convs.values())
            n_j = len(self.inputs.judges)
            from ...core.evaluation.computed import is_computed

            self.stage_totals["judgments"] = sum(
                sum(1 for cid in P.asked(self.inputs.criteria, self._target(c)) if not is_computed(self.inputs.criteria[cid]))
                * n_j for c in self.convs.values() if not c.fault)  # computed criteria are no judge's question
            self.stage_done["judgments"] = len(self.answers)
            self._emit()
            ticker = asyncio.create_task(self._ticker())
            await self._all(scenarios)
            if self.judge_repeats > 1:
                await self._repeats()
            self.state = "done" if not self.errors or self._finished() else "failed"
            self._check_judges()
        except CostStop as exc:
            self.state = "stopped"
            self.errors.append(str(exc))
        except JudgesUnusable as exc:
            self.errors.append(str(exc))
            self._check_judges()  # the judge is over the limit on every answer it gave: "failed"
            self.state = "failed"
        except asyncio.CancelledError:
            self.state = "cancelled"
            raise
        except Exception as exc:  # anything else, a bug included: the run says "failed" and why, then re-raises
            self.state = "failed"
            self.errors.append(clean(str(exc)) or type(exc).__name__)
            raise
        finally:
            if ticker is not None:
                ticker.cancel()
            summary = self._finish()
            self._emit()
            self.cp.close()
            lock.release()
        return summary

    def _finished(self) -> bool:
        return all(c.status == "excluded" or c.id in self.judged for c in self.convs.values())

    async def _all(self, scenarios: list[dict]) -> None:
        async def scenario_then_conv(s: dict) -> None:
            c = self.convs[s["id"]]
            if not s.get("situation"):
                await self._situation(s)
                c.scenario = s
            if c.status in ("pending", "running") and c.fault is None:
                try:
                    await self._conversation(c)
                except LLMError as exc:
                    c.status = "failed"
                    self.errors.append(f"conversation {c.id}: {exc.message}")
                    return
            if c.status == "complete":
                await self._judge_conv(c)

        # the frozen list is written once every situation exists, so a resume sees the same scenarios
        results = await asyncio.gather(*(self._guarded(scenario_then_conv, s) for s in scenarios), return_exceptions=True)
        if not (self.dir / "scenarios.json").exists() and all(s.get("situation") for s in scenarios):
            runs.write_json_atomic(self.dir / "scenarios.json", scenarios)
        for r in results:
            if isinstance(r, (CostStop, JudgesUnusable)):
                raise r
            if isinstance(r, BaseException) and not isinstance(r, LLMError):
                raise r

    async def _guarded(self, fn, s):
        try:
            await fn(s)
        except LLMError as exc:
            self.errors.append(exc.message)


async def run_baseline(inputs: Inputs, run_dir: Path, door: Door, **kw) -> dict:
    runner = Runner(inputs, run_dir, door, **kw)
    summary = await runner.run()
    return summary


def elapsed() -> Callable[[], float]:
    t = time.monotonic()
    return lambda: time.monotonic() - t


__all__ = ["Runner", "run_baseline"]
