"""Is a simulated user's message a real break of character?

Excluding a good conversation biases a baseline silently (a gate built for pasted-injection
scenarios ends "untested"), so this check is precision first. A phrase alone decides nothing:
where it stands decides. Text the user pasted or quoted — lines after "here's what the bot
said:", `>` lines, fenced blocks, chat exports and logs with timestamps, "quoted" spans — is
masked before any rule runs, because the user is reporting it, not saying it. On what is left
(the message's own prose) a finding is either

  ``fault``  a break no real user writes (the simulator says it is an AI, refuses the role,
             comments on the simulation, leaks its prompt scaffolding, writes the assistant's
             reply): the conversation is excluded;
  ``unsure`` it might be a break ("I can't continue this conversation", an "Assistant:" line
             near a mention of a chat log): kept, unless the optional second opinion says the
             message is out of character.

Pure: no model, no I/O. ``benchmarks/sim_fault_accuracy.py`` measures it on the labelled
corpus in ``tests/data/sim_faults.yaml``.

Here: every rule over the message's own prose, and the first certain fault (``detect``). The
rules live in sim_phrases.py, sim_edges.py and sim_second_set.py; pasted text is blanked by
sim_pasted.py; a finding is described in sim_findings.py."""

from __future__ import annotations

import re
from typing import Sequence

from .sim_edges import _aside_findings, _preamble_findings, _scaffold_findings
from .sim_findings import DETAILS, FAULT, REPEAT_MIN_WORDS, UNSURE, Finding, _finding, _line_of, _norm
from .sim_pasted import _PREAMBLE, own_prose
from .sim_phrases import (_AI_CONTEXT, _APOLOGY, _ASSISTANT_PHRASES, _BREAK_CHAR, _BREAK_SOON, _CANT_CONTINUE, _META,
                          _POLICY, _REFUSAL, _REFUSE_DIRECT, _SCAFFOLD, _SELF_AI_STRONG, _SELF_AI_WEAK, _SIM_WORDS,
                          _STAGE, _STAGE_NAME, _label_findings)
from .sim_second_set import _ME_IN, _second_set_findings


def _rule_findings(text: str, prose: str) -> list[Finding]:
    out: list[Finding] = []
    for m in _SCAFFOLD.finditer(prose):
        out.append(_finding("sim_scaffolding", FAULT, text, m.start(), m.end()))
    for m in _PREAMBLE.finditer(prose):
        out.append(_finding("sim_meta", FAULT, text, m.start(), m.end(), "a preamble before the message"))
    for m in _META.finditer(prose):
        out.append(_finding("sim_meta", FAULT, text, m.start(), m.end()))
    for m in _STAGE.finditer(prose):
        out.append(_finding("sim_meta", FAULT, text, m.start(), m.end(), "a stage direction"))
    for m in _STAGE_NAME.finditer(prose):
        out.append(_finding("sim_meta", UNSURE, text, m.start(), m.end(), "what may be a stage direction"))
    for m in _SELF_AI_STRONG.finditer(prose):
        out.append(_finding("sim_said_ai", FAULT, text, m.start(), m.end()))
    for m in _SELF_AI_WEAK.finditer(prose):
        sentence = prose[max(0, m.start() - 80): m.end() + 120]
        before = prose[max(0, m.start() - 25): m.start()].lower()
        joking = re.search(r"\b(?:like|as if|basically|lol|lmao|feel|kidding|joke|literally|practically|robot)\b", before)
        sure = _AI_CONTEXT.search(sentence) and not joking
        out.append(_finding("sim_said_ai", FAULT if sure else UNSURE, text, m.start(), m.end()))
    signal = bool(_APOLOGY.search(prose) or _POLICY.search(prose))
    for m in _REFUSAL.finditer(prose):
        # "I can't keep playing this character" may be a person; "... this scenario / role-play" is not
        sure = signal or _SIM_WORDS.search(m.group(0))
        out.append(_finding("sim_refusal", FAULT if sure else UNSURE, text, m.start(), m.end()))
    for m in _REFUSE_DIRECT.finditer(prose):
        # "I'm not comfortable role-playing a customer for our staff training" is a person's own life
        own = _ME_IN.search(re.split(r"[.!?\n]", prose[m.end():], maxsplit=1)[0])
        out.append(_finding("sim_refusal", FAULT if (signal or _SIM_WORDS.search(prose)) and not own else UNSURE,
                            text, m.start(), m.end()))
    for m in _BREAK_CHAR.finditer(prose):
        strong = signal or re.search(r"\bOOC\b", m.group(0)) or _BREAK_SOON.search(prose) \
            or re.search(r"\b(?:simulat\w*|role-?play|scenario|the user|the student)\b", prose, re.I)
        out.append(_finding("sim_refusal" if signal or _BREAK_SOON.search(prose) else "sim_meta",
                            FAULT if strong else UNSURE, text, m.start(), m.end()))
    for m in _CANT_CONTINUE.finditer(prose):
        out.append(_finding("sim_refusal", UNSURE, text, m.start(), m.end(), "it may be the person leaving"))
    for m in _ASSISTANT_PHRASES.finditer(prose):
        out.append(_finding("sim_wrote_assistant", UNSURE, text, m.start(), m.end(), "a phrase an assistant would write"))
    out += _aside_findings(text, prose) + _preamble_findings(text, prose) + _scaffold_findings(text, prose)
    out += _label_findings(text, prose) + _second_set_findings(text, prose)
    return out


def detect(text: str, previous: Sequence[str] = ()) -> Finding | None:
    """The first certain fault in ``text`` (by position), else the first unsure finding, else None."""
    body = text or ""
    if not body.strip():
        return Finding("sim_empty", FAULT, DETAILS["sim_empty"], "", (0, 0))
    prose = own_prose(body)
    found = _rule_findings(body, prose)
    faults = sorted((f for f in found if f.is_fault), key=lambda f: f.span)
    if faults:
        return faults[0]
    norm = _norm(body)
    if len(norm.split()) >= REPEAT_MIN_WORDS and any(norm == _norm(p) for p in previous):
        a, b = _line_of(body, 0, min(len(body), 1))
        return Finding("sim_repeated", FAULT, DETAILS["sim_repeated"], body[a:b], (a, b))
    unsure = sorted(found, key=lambda f: f.span)
    return unsure[0] if unsure else None


# ---------------------------------------------------------------- the simulator's own label

_USER_LABEL = re.compile(r"^\s*(?:\*\*)?(?:user|you|me|message|customer|student|client)(?:\*\*)?\s*:(?:\*\*)?\s*", re.I)
_FIELD_LINE = re.compile(r"^\s*[A-Za-z][\w /#.-]{0,30}:\s*\S")


def clean_user_message(text: str) -> str:
    """Drop a leading speaker label the simulator sometimes adds ("User: …"). A label the user
    writes is kept: a field list ("Client: Acme Ltd\\nInvoice: INV-0142"), or a chat export
    ("me: …\\nthem: …") whose later lines carry labels too."""
    body = text.strip()
    m = _USER_LABEL.match(body)
    if not m:
        return body
    later = [ln for ln in body.split("\n")[1:] if ln.strip()]
    if any(_FIELD_LINE.match(ln) for ln in later[:6]):
        return body
    return body[m.end():].strip()


__all__ = ["detect", "clean_user_message"]
