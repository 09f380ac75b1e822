"""The simulator's message screened during a conversation: the fast check (sim_faults.detect) and,
with eval.fault_second_opinion on, the critic's second opinion on what the fast check is unsure of
(or on every message). A part of Runner (runner.py), which holds the state."""

from __future__ import annotations

from ...core.text.textsafe import clean
from ..llm.door import LLMError
from . import prompts as P
from .conversations import Conv


class SimScreening:
    """Runner's screening of simulator messages (a mixin: the state is Runner's)."""

    async def _sim_fault(self, c: Conv, n: int, user: str) -> tuple[dict | None, dict | None]:
        """(fault, flag) for the simulator's message n. A certain fault excludes the conversation;
        an unsure finding is kept (precision first: an exclusion biases the result silently),
        unless eval.fault_second_opinion is on and the critic says the message is out of character."""
        from .sim_faults import detect
        from .sim_findings import DETAILS, FAULT, UNSURE, Finding, cap

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
