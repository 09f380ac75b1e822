"""What the simulator-fault check finds: a kind, how sure (fault or unsure), a detail, and the exact
excerpt of the message around the match; and what of the message the checkpoint keeps."""

from __future__ import annotations

import re
from dataclasses import dataclass

FAULT, UNSURE = "fault", "unsure"
MESSAGE_CAP = 4000  # characters of the triggering message kept in the checkpoint
EXCERPT_CAP = 400
REPEAT_MIN_WORDS = 6  # "idk", "ok thanks" twice is a person; a long message word for word is a loop

DETAILS = {
    "sim_empty": "the simulator sent an empty message",
    "sim_refusal": "the simulator refused to play the role",
    "sim_said_ai": "the simulator said it is an AI",
    "sim_meta": "the simulator commented on the simulation instead of writing the user's message",
    "sim_scaffolding": "the simulator leaked its prompt scaffolding",
    "sim_wrote_assistant": "the simulator wrote the assistant's side of the conversation",
    "sim_repeated": "the simulator repeated an earlier message word for word",
    # no rule matched; the critic, asked about every message (eval.fault_second_opinion: every), said so
    "sim_out_of_character": "the critic judged the message out of character",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    certainty: str  # FAULT or UNSURE
    detail: str
    excerpt: str  # exactly text[span[0]:span[1]]
    span: tuple[int, int]

    @property
    def is_fault(self) -> bool:
        return self.certainty == FAULT

    def record(self, exchange: int, text: str) -> dict:
        """What the checkpoint keeps: the finding and the whole message (capped, visibly)."""
        return {"kind": self.kind, "exchange": exchange, "detail": self.detail, "certainty": self.certainty,
                "excerpt": self.excerpt, "span": list(self.span), "message": cap(text)}


def cap(text: str, limit: int = MESSAGE_CAP) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line_of(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the line(s) holding [start, end), trimmed, cut around the match if long."""
    a = text.rfind("\n", 0, start) + 1
    b = text.find("\n", end)
    b = len(text) if b < 0 else b
    while a < start and text[a].isspace():
        a += 1
    while b > end and text[b - 1].isspace():
        b -= 1
    if b - a > EXCERPT_CAP:
        a = max(a, start - EXCERPT_CAP // 3)
        b = min(b, max(end, a + EXCERPT_CAP))
    return a, b


def _finding(kind: str, certainty: str, text: str, m_start: int, m_end: int, why: str = "") -> Finding:
    a, b = _line_of(text, m_start, m_end)
    detail = DETAILS[kind] + (f" ({why})" if why else "")
    return Finding(kind, certainty, detail, text[a:b], (a, b))


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()
