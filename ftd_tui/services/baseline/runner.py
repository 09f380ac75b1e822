"""The baseline run: situations → multi-turn conversations → judgments → report.

Every finished call is a checkpoint record before anything depends on it, so a run killed at
any moment redoes only unfinished work. Conversations and judging overlap: a conversation's
judging starts the moment its last exchange lands, and the door's per-backend semaphore is
the only throttle (the benchmark holds this to within a few percent of a bare asyncio loop)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ...core.evaluation import runs, stats
from ...core.economics.costs import price_for
from ...core.project.storage import save_atomic
from ...core.user.providers import provider_of
from ...core.text.textsafe import clean, json_text
from ..llm.door import BEFORE_SEND, REQUESTS, Door, LLMError, Role
from . import prompts as P
from .setup import BaselineError, Inputs, judge_role, num_ctx_for, smoke_selection

PROGRESS_EVERY = 0.5  # seconds
REPEAT_SAMPLE = 24  # (conversation, criterion) pairs re-asked per judge for --judge-repeats
TRUNCATION_SLACK = {True: (0.98, 8), False: (0.70, 0)}  # exact counts: 2% + 8 tokens; approximate: 30%


class CostStop(Exception):
    pass


class JudgesUnusable(Exception):
    """A judge keeps answering ERROR: every further question would be paid for and scored as a
    failed check, so the run stops spending (what was answered is kept for a resume)."""


# A judge is stopped early once this process has asked it this many questions and the 95% Wilson
# interval of its ERROR share lies wholly above eval.max_judge_errors: not a bad streak, a judge
# that cannot answer. Fewer answers decide nothing early; the end-of-run check still applies.
EARLY_STOP_MIN = 12


@dataclass
class Conv:
    scenario: dict
    persona: Any
    exchanges: list[dict] = field(default_factory=list)
    fault: dict | None = None
    status: str = "pending"  # pending, running, complete, excluded, failed

    @property
    def id(self) -> str:
        return str(self.scenario["id"])


class CostGuard:
    """--max-cost: spent + the worst case of every call in flight must stay under the cap."""

    def __init__(self, cap: float | None, spent: float):
        self.cap, self.spent, self.reserved = cap, spent, 0.0
        self.stopped = False

    def reserve(self, price, messages: list[dict], max_out: int) -> float:
        if self.cap is None or price.local or not price.known:
            return 0.0
        chars = sum(len(m.get("content") or "") for m in messages)
        worst = (chars / 3) * price.input_per_token + max_out * price.output_per_token  # ~3 chars a token: generous
        if self.spent + self.reserved + worst > self.cap:
            self.stopped = True
            raise CostStop(f"--max-cost {self.cap:g}: spent ${self.spent:.4f}, ${self.reserved:.4f} in flight; "
                           "the next call could pass the cap")
        self.reserved += worst
        return worst

    def settle(self, reserved: float, cost: float | None) -> None:
        self.reserved -= reserved
        self.spent += cost or 0.0


class Runner:
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
        from ...core.evaluation.scenarios import persona_from_seed

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

    # ------------------------------------------------------------ stage 1: situations
    async def _situation(self, s: dict) -> None:
        domain = str(self.inputs.settings.get("domain") or "")
        desc = str(self.inputs.settings.get("description") or "")
        gate = self.inputs.criteria.get(str(s.get("gate"))) if s.get("gate") else None
        persona = self.convs[s["id"]].persona
        try:
            role = self.door.role("critic")
        except LLMError:
            role = self.door.role("user_sim")  # no critic: the simulator writes situations too
        from ...core.evaluation.scenarios import MAX_REDRAWS, redraw_cell

        ev = self.inputs.settings.get("eval") if isinstance(self.inputs.settings.get("eval"), dict) else {}
        refs = ev.get("references") is True
        file_target = self._file_target(s)
        redrawn = list(s.get("redrawn") or []) if isinstance(s.get("redrawn"), list) else []
        # redraws a killed run already paid for are replayed, not asked again
        done = sorted((r for r in self.records if r.get("kind") == "redraw" and r.get("scenario") == s["id"]),
                      key=lambda r: int(r.get("attempt") or 0))
        for r in done:
            redrawn.append({"from": r["from"], "reason": r["reason"]})
            file_target = self._redrawn_to(s, r["to"], int(r["target_exchanges"]))
        attempt = len(done)
        while True:
            msgs = P.situation_messages(s, domain, desc, gate, persona.text(), taxonomy=self.inputs.taxonomy,
                                        references=refs)
            value, usage = await self._call(role, msgs, structured=P.Situation)
            reason = clean(value.reason or "").strip()[:300] or "no reason given"
            if value.coherent or attempt >= MAX_REDRAWS:
                break
            # incoherent: redraw the cell (seeded by the persona seed and the attempt), record why
            attempt += 1
            cell, target = redraw_cell(self.inputs.taxonomy, dict(s, target_exchanges=file_target), attempt,
                                       self.inputs.max_exchanges)
            self._record({"kind": "redraw", "scenario": s["id"], "attempt": attempt, "from": dict(s["cell"]), "to": cell,
                          "target_exchanges": target, "reason": reason, "usage": [usage], "cost": usage.get("cost")})
            redrawn.append({"from": dict(s["cell"]), "reason": reason})
            file_target = self._redrawn_to(s, cell, target)
        text = clean(value.situation).strip()
        s["situation"] = text
        fields: dict[str, Any] = {"situation": text}
        if refs and value.reference and clean(value.reference).strip():
            fields["reference"] = s["reference"] = clean(value.reference).strip()
        if redrawn:
            s["redrawn"] = redrawn
            fields.update(cell=s["cell"], target_exchanges=file_target, redrawn=redrawn)
        if not value.coherent:
            fields["incoherent"] = s["incoherent"] = reason
            self.errors.append(f"warning: scenario {s['id']}: the scenario writer still finds its cell incoherent after "
                               f"{attempt} redraws ({reason}); kept the last draw")
        extras = {k: s[k] for k in ("cell", "target_exchanges", "reference", "redrawn", "incoherent") if k in fields}
        self._record({"kind": "situation", "scenario": s["id"], "text": text, **extras, **usage})
        self._save_situation(s["id"], text, fields)
        self.stage_done["scenarios"] += 1

    def _file_target(self, s: dict) -> int:
        """The scenario's length as eval/scenarios.yaml has it (a smoke run's copy is capped)."""
        if not self.smoke:
            return int(s.get("target_exchanges") or 1)
        from ...core.evaluation.scenarios import read_scenarios

        try:
            text = (self.inputs.project.root / runs.SCENARIOS_FILE).read_text(encoding="utf-8")
            full = next((x for x in read_scenarios(text)[0] if x["id"] == s["id"]), None)
        except (OSError, UnicodeDecodeError):
            full = None
        return int((full or s).get("target_exchanges") or 1)

    def _redrawn_to(self, s: dict, cell: dict, target: int) -> int:
        """Apply a redrawn cell to the run's scenario (its length capped in a smoke run); the
        length for eval/scenarios.yaml is returned."""
        from .setup import SMOKE_EXCHANGES

        before = self._target(self.convs[s["id"]]) if s["id"] in self.convs else int(s.get("target_exchanges") or 1)
        s["cell"] = dict(cell)
        s["target_exchanges"] = min(SMOKE_EXCHANGES, target) if self.smoke else target
        self.stage_totals["exchanges"] += int(s["target_exchanges"]) - before
        return target

    def _save_situation(self, sid: str, text: str, fields: dict | None = None) -> None:
        """Into eval/scenarios.yaml too (exact edits), so the next run reuses it: the situation,
        and the reference, redrawn cell and its record when the scenario writer gave them."""
        from ...core.evaluation.scenarios import set_fields

        path = self.inputs.project.root / runs.SCENARIOS_FILE
        try:
            old = path.read_text(encoding="utf-8")
            new = set_fields(old, sid, fields or {"situation": text})
            if new != old:
                save_atomic(path, new.encode("utf-8"), create=True)
        except Exception as exc:  # the file was edited or removed meanwhile: the run keeps its own copy
            self.errors.append(f"could not write the situation of {sid} into {runs.SCENARIOS_FILE}: {exc}")

    # ------------------------------------------------------------ stage 2: conversations
    def _base_role(self) -> Role:
        if "base" in self._roles:
            return self._roles["base"]
        spec = dict(self.door.role("base").spec)
        spec["max_tokens"] = self.inputs.reply_limit
        provider = provider_of(str(spec["model"]))
        if provider == "ollama_chat" and "reasoning_effort" not in spec:
            spec["reasoning_effort"] = "none"  # litellm turns this into Ollama's think: false
        ctx = num_ctx_for(self.inputs.settings, self.inputs.reply_limit)
        if ctx is not None:
            spec["num_ctx"] = ctx
        if provider == "hosted_vllm":
            body = dict(spec.get("extra_body") or {})
            body.setdefault("chat_template_kwargs", {"enable_thinking": False})
            spec["extra_body"] = body
        return Role("base", spec)

    def _our_count(self, messages: list[dict]) -> int | None:
        counter = self._counter
        if counter is None:
            return None
        return int(sum(counter.count(m["content"]) for m in messages) + counter.per_message_overhead * len(messages)
                   + counter.fixed_overhead)

    async def _conversation(self, c: Conv) -> None:
        target = self._target(c)
        sim = self.door.role("user_sim")
        base = self._base_role()
        c.status = "running"
        while len(c.exchanges) < target and c.fault is None:
            n = len(c.exchanges) + 1
            flaws = [] if self.smoke else c.persona.flaws_for_message(n)
            msgs = P.simulator_request(self.inputs, c.scenario, c.persona, c.exchanges, n, target, flaws)
            user = await self._user_message(c, n, sim, msgs, flaws)
            fault, flag = await self._sim_fault(c, n, user)
            # the simulator's call is accounted in its own user_message record
            rec = {"kind": "exchange", "conv": c.id, "n": n, "user": user, "assistant": None, "user_flaws": flaws,
                   "usage": [], "user_checkpointed": True}
            if flag is not None:
                rec["flag"] = flag  # unsure and kept: listed in the summary
            if fault is None:
                bmsgs = P.base_messages(self.inputs.system_message, c.exchanges, user)
                answer, b_usage = await self._call(base, bmsgs, max_out=self.inputs.reply_limit, sample_index=self.seed)
                rec["usage"].append(b_usage)
                ours = self._our_count(bmsgs)
                rec.update(assistant=answer.text.strip(), finish_reason=answer.finish_reason,
                           prompt_tokens_server=answer.input_tokens or None, prompt_tokens_ours=ours,
                           counts_exact=bool(self._counter and self._counter.exact))
                fault = self._base_fault(answer, ours)
            if isinstance(fault, dict):  # a simulator fault: the finding and the whole message
                rec["fault"] = fault
            elif fault is not None:
                rec["fault"] = {"kind": fault[0], "exchange": n, "detail": clean(fault[1])[:300]}
            rec["cost"] = _sum_cost(rec["usage"])
            self._record(rec)
            if fault is not None:
                c.fault, c.status = rec["fault"], "excluded"
                # the remaining exchanges will never happen: take them off the total
                self.stage_totals["exchanges"] -= target - n
            else:
                c.exchanges.append({"user": user, "assistant": rec["assistant"], "user_flaws": flaws})
                self.stage_done["exchanges"] += 1
            self._write_transcript(c)
        if c.fault is None:
            c.status = "complete"

    async def _sim_fault(self, c: Conv, n: int, user: str) -> tuple[dict | None, dict | None]:
        """(fault, flag) for the simulator's message n. A certain fault excludes the conversation;
        an unsure finding is kept (precision first: an exclusion biases the result silently),
        unless eval.fault_second_opinion is on and the critic says the message is out of character."""
        from .sim_faults import DETAILS, FAULT, UNSURE, Finding, cap, detect

        found = detect(user, [e["user"] for e in c.exchanges])
        if found is None:
            if self._opinion_mode() != "every":
                return None, None
            # no rule matched, and the critic reads every message: a break is the whole message
            found = Finding("sim_out_of_character", UNSURE, "no rule of the fast check matched", "", (0, 0))
            opinion = await self._fault_opinion(c, n, user, found)
            if opinion is None or opinion["in_character"]:
                return None, None
            whole = Finding("sim_out_of_character", FAULT, f"{DETAILS['sim_out_of_character']}: {opinion['reason']}"[:600],
                            user.strip(), (len(user) - len(user.lstrip()), len(user.rstrip())))
            rec = whole.record(n, clean(user))
            # the excerpt is the whole message here: capped like the message the checkpoint keeps
            return {**rec, "excerpt": cap(clean(rec["excerpt"])), "decided_by": "second_opinion",
                    "opinion": {"in_character": False, "reason": opinion["reason"]}}, None
        rec = found.record(n, clean(user))
        rec["excerpt"] = clean(rec["excerpt"])
        if found.is_fault:
            return rec, None
        if not self._second_opinion_on():
            return None, rec
        opinion = await self._fault_opinion(c, n, user, found)
        if opinion is None:  # the critic could not answer: kept, and said so
            return None, {**rec, "opinion": "unavailable"}
        rec["opinion"] = {"in_character": opinion["in_character"], "reason": opinion["reason"]}
        if opinion["in_character"]:
            return None, rec
        rec["decided_by"] = "second_opinion"
        rec["detail"] = f"{found.detail}; the critic: {opinion['reason']}"[:600]
        return rec, None

    def _opinion_mode(self) -> str | None:
        """eval.fault_second_opinion: None (off), "unsure" (true) or "every"."""
        ev = self.inputs.settings.get("eval") if isinstance(self.inputs.settings.get("eval"), dict) else {}
        value = ev.get("fault_second_opinion")
        return "unsure" if value is True else "every" if value == "every" else None

    def _second_opinion_on(self) -> bool:
        return self._opinion_mode() is not None

    async def _fault_opinion(self, c: Conv, n: int, user: str, found) -> dict | None:
        """The critic's "is this message written in character?", asked once per message: the answer
        is its own checkpoint record, so a resume reads it instead of asking again."""
        kept = self.opinions.get((c.id, n))
        if kept is not None:
            return kept
        try:
            role = self.door.role("critic")
        except LLMError:
            return None  # no critic configured: nothing to ask
        domain = f"{self.inputs.settings.get('domain') or ''}\n{self.inputs.settings.get('description') or ''}".strip()
        msgs = P.fault_opinion_messages(user, domain, found.detail, found.excerpt)
        try:
            value, usage = await self._call(role, msgs, structured=P.FaultOpinion)
        except LLMError as exc:
            if exc.kind == "cancelled":
                raise
            self.errors.append(f"second opinion on {c.id} exchange {n}: {exc.message}")
            return None
        rec = {"kind": "fault_opinion", "conv": c.id, "n": n, "in_character": bool(value.in_character),
               "reason": clean(value.reason)[:600], "finding": found.kind, "excerpt": clean(found.excerpt),
               "usage": [usage], "cost": usage.get("cost")}
        self._record(rec)
        self.opinions[(c.id, n)] = rec
        return rec

    async def _user_message(self, c: Conv, n: int, sim: Role, msgs: list[dict], flaws: list[str]) -> str:
        """The simulator's message n, checkpointed the moment it arrives (before the base model is
        asked), so a run killed while the base model answers never asks the simulator again, with
        or without the cache. The checkpoint's prefix is this conversation's own, so it still fits."""
        kept = self.user_messages.get((c.id, n))
        if kept is not None and isinstance(kept.get("user"), str):
            return kept["user"]
        reply, usage = await self._call(sim, msgs, sample_index=self.seed)
        user = P.clean_user_message(reply.text)
        rec = {"kind": "user_message", "conv": c.id, "n": n, "user": user, "user_flaws": flaws, "usage": [usage],
               "cost": usage.get("cost")}
        self._record(rec)
        self.user_messages[(c.id, n)] = rec
        return user

    def _base_fault(self, answer, ours: int | None) -> tuple[str, str] | None:
        if answer.finish_reason == "length":
            return "reply_cut", f"the reply hit the {self.inputs.reply_limit}-token limit"
        if not answer.text.strip():
            return "base_empty", "the base model sent an empty reply"
        server = answer.input_tokens
        if ours and server:
            ratio, slack = TRUNCATION_SLACK[bool(self._counter and self._counter.exact)]
            if server < ours * ratio - slack:
                return "input_truncated", (f"the server counted {server} prompt tokens where ftd counts {ours}: "
                                           "it dropped part of the conversation (raise num_ctx / the server's context)")
        return None

    def _write_transcript(self, c: Conv) -> None:
        p = c.persona
        data = {"id": c.id, "persona": {"seed": p.seed, "text": p.text(), "style": p.style, "flawless": p.flawless},
                "scenario": c.scenario, "target_exchanges": self._target(c),
                "exchanges": c.exchanges, "status": c.status if c.status != "running" else
                ("complete" if len(c.exchanges) >= self._target(c) else "running"),
                "fault": c.fault}
        runs.write_json_atomic(self.dir / runs.TRANSCRIPTS / f"{c.id}.json", data, durable=False)

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

    # ------------------------------------------------------------ progress
    def progress(self) -> dict:
        combined = [r[-1] for r in self.judged.values() if r]
        return {"state": self.state, "pid": __import__("os").getpid(), "updated": runs.now_iso(),
                "stages": {k: {"done": self.stage_done[k], "total": self.stage_totals[k]} for k in self.stage_done},
                "tally": {"judged": len(combined), "passed": sum(1 for r in combined if r.get("pass"))},
                "calls": self.calls_made, "cost": self._cost_so_far(), "errors": self.errors[-5:],
                "error": self.errors[-1] if self.state in ("failed",) and self.errors else None}

    def _cost_so_far(self) -> float | None:
        costs = [r.get("cost") for r in self.records
                 if r.get("kind") in ("situation", "redraw", "user_message", "exchange", "answer", "failed",
                                          "fault_opinion")]
        return None if any(c is None for c in costs) else round(sum(costs), 6)

    def _emit(self) -> None:
        p = self.progress()
        runs.write_json_atomic(self.dir / runs.PROGRESS, p, durable=False)
        self._dirty = False
        if self.on_progress is not None:
            self.on_progress(p)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            if self._dirty:
                self._emit()

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
        except Exception as exc:
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

    def _max_judge_errors(self) -> float:
        from ...core.evaluation.report import MAX_JUDGE_ERRORS

        ev = self.inputs.settings.get("eval") if isinstance(self.inputs.settings.get("eval"), dict) else {}
        limit = ev.get("max_judge_errors")
        return float(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) and 0 <= limit <= 1 \
            else MAX_JUDGE_ERRORS

    def _check_judges(self) -> None:
        """A judge that answered ERROR too often makes the run fail: its ERRORs score as failed
        checks, and a pass rate built on them is a verdict nobody measured."""
        from ...core.evaluation.report import unusable_judges

        bad = unusable_judges(list(self.answers.values()), [str(j.get("model")) for j in self.inputs.judges],
                              self._max_judge_errors())
        self.unusable = bad
        if bad:
            self.state = "failed"
            self.errors.append("judges unusable: " + "; ".join(
                f"{u['model']} answered ERROR on {u['errors']} of {u['answers']} questions" for u in bad))

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

    def _finish(self) -> dict:
        from ...core.evaluation.report import summarize

        transcripts = []
        for c in self.convs.values():
            status = "excluded" if c.fault else ("complete" if c.status == "complete" else "incomplete")
            transcripts.append({"id": c.id, "scenario": c.scenario, "exchanges": c.exchanges, "status": status,
                                "fault": c.fault})
        judgments = [r for recs in self.judged.values() for r in recs]
        summary = summarize(self._rubric, self.manifest, [c.scenario for c in self.convs.values()], transcripts,
                            judgments, self.usage())
        summary.setdefault("settings", {})["warnings"] = self.manifest.get("warnings") or []
        from ...core.evaluation.run_analysis import analyse

        names = {cid: str(c.get("name", "")) for cid, c in self.inputs.criteria.items()}
        summary.update(analyse(self.dir, names))
        summary["state"] = self.state
        if self.unusable:
            from ...core.evaluation.report import fail_for_judges

            fail_for_judges(summary, self.unusable, self._max_judge_errors())
        # calls: every request this process sent (retries, re-asks, failed calls included), the
        # number a server's log shows; answered / failed count the calls behind them
        summary["calls"] = self.calls_made
        summary["requests"] = {"sent": self.calls_made, "answered": self.answered, "failed": self.failed}
        summary["errors"] = self.errors[-20:]
        summary["unfinished"] = [c.id for c in self.convs.values() if not c.fault and c.id not in self.judged]
        summary["fault_check"] = self._fault_check()
        runs.write_json_atomic(self.dir / runs.SUMMARY, summary)
        return summary

    def _fault_check(self) -> dict:
        """How simulator messages were screened: whether the second opinion was on, how many it was
        asked about and how many it excluded, and every unsure message that was kept."""
        flagged = [{"conv": r["conv"], **{k: r["flag"].get(k) for k in ("exchange", "kind", "excerpt", "opinion")}}
                   for r in self.records if r.get("kind") == "exchange" and isinstance(r.get("flag"), dict)]
        by_opinion = [c.id for c in self.convs.values() if c.fault and c.fault.get("decided_by") == "second_opinion"]
        return {"second_opinion": self._second_opinion_on(), "second_opinion_on": self._opinion_mode(),
                "asked": sum(1 for r in self.records if r.get("kind") == "fault_opinion"),
                "excluded_by_opinion": len(by_opinion), "flagged_kept": flagged}

    def usage(self) -> dict:
        """Per role, over every process that worked on this run (from the checkpoint)."""
        out: dict[str, dict] = {}
        for r in self.records:
            if r.get("reused_from"):
                continue  # paid for in the run it came from
            for u in r.get("usage") or ([r] if r.get("kind") == "situation" else []):
                role = str(u.get("role") or "?")
                if role.startswith("judges["):
                    role = f"judge {u.get('model')}"
                row = out.setdefault(role, {"calls": 0, "requests": 0, "failed": 0, "input_tokens": 0, "output_tokens": 0,
                                            "cost": 0.0, "local": True})
                row["local"] = row["local"] and bool(u.get("local"))
                # calls: answered, not from the cache; requests: all that reached a server (a record
                # written before requests were counted stands for one)
                if u.get("failed"):
                    row["failed"] += 1
                elif not u.get("cached"):
                    row["calls"] += 1
                row["requests"] += int(u["requests"]) if isinstance(u.get("requests"), int) else (0 if u.get("cached") else 1)
                row["input_tokens"] += int(u.get("input_tokens") or 0)
                row["output_tokens"] += int(u.get("output_tokens") or 0)
                if row["cost"] is not None:
                    row["cost"] = None if u.get("cost") is None else row["cost"] + u["cost"]
        return out


def _sum_cost(usages: list[dict]) -> float | None:
    costs = [u.get("cost") for u in usages]
    return None if any(c is None for c in costs) else sum(costs)


def report_path(root: Path) -> Path:
    return Path(root) / "base-model-eval-results.md"


def write_report(root: Path, summary: dict) -> Path:
    """Regenerate the report's generated parts; the decision and the user's prose are kept."""
    from ...core.evaluation.report import update_report

    path = report_path(root)
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    new = update_report(old, summary)
    if new != old:
        save_atomic(path, new.encode("utf-8"), create=True)
    return path


async def run_baseline(inputs: Inputs, run_dir: Path, door: Door, **kw) -> dict:
    runner = Runner(inputs, run_dir, door, **kw)
    summary = await runner.run()
    return summary


def elapsed() -> Callable[[], float]:
    t = time.monotonic()
    return lambda: time.monotonic() - t


__all__ = ["Runner", "run_baseline", "write_report", "BaselineError", "CostStop", "JudgesUnusable"]
