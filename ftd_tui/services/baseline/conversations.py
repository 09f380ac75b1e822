"""Stages 1 and 2 of the baseline run: a situation per scenario (the scenario writer may redraw an
incoherent cell), then each conversation, exchange by exchange: the simulator's message (checkpointed
before the base model is asked), the fault check on it, the base model's reply and its own faults
(cut, empty, a truncated prompt). A part of Runner (runner.py), which holds the state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.evaluation import runs
from ...core.project.storage import save_atomic
from ...core.text.textsafe import clean
from ...core.user.providers import provider_of
from ..llm.door import LLMError, Role
from . import prompts as P
from .setup import num_ctx_for

TRUNCATION_SLACK = {True: (0.98, 8), False: (0.70, 0)}  # exact counts: 2% + 8 tokens; approximate: 30%


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


class Conversations:
    """Runner's situations and conversations (a mixin: the state is Runner's)."""

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
        from ...core.evaluation.cells import MAX_REDRAWS, redraw_cell

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


def _sum_cost(usages: list[dict]) -> float | None:
    costs = [u.get("cost") for u in usages]
    return None if any(c is None for c in costs) else sum(costs)
