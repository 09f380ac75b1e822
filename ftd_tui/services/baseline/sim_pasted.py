"""Text the user pasted or quoted, blanked before any rule runs: lines after "here's what the bot
said:", `>` lines, fenced blocks, chat exports and logs with timestamps, "quoted" spans. The user
is reporting that text, not saying it; blanking keeps the length, so every span stays exact."""

from __future__ import annotations

import re

# ---------------------------------------------------------------- what the user pasted or quoted

_FENCE = re.compile(r"^\s*(```|~~~)")
_QUOTED_LINE = re.compile(r"^\s*>")
_TIME = re.compile(r"(?:\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b)", re.I)
_ANY_LABEL = re.compile(r"^\s*[\[(]?[^\n:]{0,24}?[\])]?\s*\**[A-Za-z][\w .'-]{0,24}\**\s*:\s*\S")
# words that say a nearby block is something the user copied from elsewhere
_PASTE_WORDS = re.compile(
    r"\b(?:past(?:e|ed|ing)|copied|copy|screenshot|transcript|chat ?logs?|logs?|export(?:ed)?|ticket|thread|e-?mail|"
    r"forward(?:ed)?|fwd|said|says|say|told|wrote|writes|replied|answered|responded|sent|got|received|reads?|shows?|"
    r"showed|popped up|bot|chatbot|other (?:ai|assistant|app|tool)|chatgpt|gpt|earlier|yesterday|last (?:time|week|night)|"
    r"history|above|below|csv|file|notes?|field|row|import|output|error|message i|conversation (?:with|from)|convo)\b",
    re.I)
_INTRO = re.compile(r":\s*$")


_PREAMBLE = re.compile(
    r"^\W{0,4}(?:(?:sure|okay|ok|alright|certainly|of course|got it|understood|absolutely|great|no problem)\b[!,.]*\s*)?"
    r"(?:here(?:'|’)?s|here is|here are|below is|this is)\s+(?:"
    r"my (?:next|first|final|last|follow-?up|opening|new) (?:user )?(?:message|reply|response|turn)"
    r"|my (?:message|reply|response|turn)s? as\b"
    r"|the (?:next|first|final|opening|follow-?up) (?:user |student |customer )?(?:message|reply|response|turn)"
    # "here's the next message from my boss:" is a paste
    r"(?!\s+(?:from|by|of|off|that|which|in|on|to|i|she|he|they|we|you|my|her|his|their|our)\b)"
    r"|the (?:user|student|customer|client|persona)(?:'|’)s (?:next |first |final )?(?:message|reply|response|turn)"
    r"|(?:the |my )?(?:message|reply|response) as (?:[A-Z][\w-]+|the (?:user|student|customer|client))"
    r"|(?:the |my )?(?:message|reply|response) from the (?:user|student|persona)\b"  # "the reply from Barclays:" is a paste
    r"|[A-Z][\w-]+(?:'|’)s (?:next|first|final|opening) (?:message|reply|response))"
    r"|^\W{0,4}(?:sure|okay|ok|alright|certainly|of course)\b[!,.]*\s*(?:here(?:'|’)?s|here is)\s+[A-Z][\w-]+(?:'|’)s "
    r"(?:message|reply|response)"
    r"|^\s*[\[(*_]+\s*(?:as|in character as|playing|speaking as|responding as)\s+[A-Z][\w-]+\b"
    r"|^\s*(?:\*\*)?(?:(?:next )?(?:user|student|customer) )?(?:message|reply|response) as [A-Z][\w-]+(?:\*\*)?\s*:"
    r"|^\s*\**(?:in character|staying in character)\**\s*[:\-—]", re.I | re.M)


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def _paragraphs(lines: list[tuple[int, int]], text: str) -> list[list[int]]:
    paras, cur = [], []
    for i, (a, b) in enumerate(lines):
        if text[a:b].strip():
            cur.append(i)
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    return paras


def _looks_pasted(idx: list[int], lines, text: str) -> bool:
    """A log, chat export or ticket: timestamps, or label lines with times, or a table."""
    rows = [text[a:b] for a, b in (lines[i] for i in idx)]
    times = sum(1 for r in rows if _TIME.search(r))
    labels = sum(1 for r in rows if _ANY_LABEL.match(r))
    pipes = sum(1 for r in rows if r.count("|") >= 2 or r.count(",") >= 3 or r.count("\t") >= 2)
    return times >= 1 and (labels >= 1 or len(rows) >= 2) or pipes >= 2


def pasted_mask(text: str) -> list[bool]:
    """True for every character the user pasted or quoted rather than wrote."""
    mask = [False] * len(text)
    lines = _lines(text)

    def cover(i: int) -> None:
        a, b = lines[i]
        for k in range(a, b):
            mask[k] = True

    in_fence = False
    for i, (a, b) in enumerate(lines):
        line = text[a:b]
        if _FENCE.match(line):
            cover(i)
            in_fence = not in_fence
        elif in_fence or _QUOTED_LINE.match(line):
            cover(i)
    paras = _paragraphs(lines, text)
    for p, idx in enumerate(paras):
        if _looks_pasted(idx, lines, text):
            for i in idx:
                cover(i)
    # an introducer ("here's what the bot said:", "the log:") covers what follows: the rest of its
    # own paragraph, the next paragraph, and any later ones that still look like a paste
    for p, idx in enumerate(paras):
        for j, i in enumerate(idx):
            a, b = lines[i]
            if mask[a:b] and all(mask[a:b]):
                continue
            line = text[a:b]
            if not _INTRO.search(line) or not _PASTE_WORDS.search(line) and len(line.split()) > 12:
                continue
            if _PREAMBLE.search(line):  # "here's my next message as Jordan:" is a break, not a paste
                continue
            rest = idx[j + 1:]
            for k in rest:
                cover(k)
            if not rest and p + 1 < len(paras):
                for k in paras[p + 1]:
                    cover(k)
                for later in paras[p + 2:]:
                    if not _looks_pasted(later, lines, text) and not any(_ANY_LABEL.match(text[slice(*lines[k])]) for k in later):
                        break
                    for k in later:
                        cover(k)
            break
    # "quoted" spans inside a line: the user repeating what someone said (a whole message in
    # quotes is the simulator's habit, not a quotation)
    whole = text.strip()
    wrapped = len(whole) > 1 and whole[0] in "\"“" and whole[-1] in "\"”" and whole.count('"') + whole.count("“") <= 2
    if not wrapped:
        for m in re.finditer(r"\"[^\"\n]{3,}\"|“[^”]{3,}”|«[^»]{3,}»|„[^“”]{3,}[“”]", text):
            for k in range(m.start(), m.end()):
                mask[k] = True
    return mask


def own_prose(text: str, mask: list[bool] | None = None) -> str:
    """The text with pasted characters blanked (same length, so spans stay exact)."""
    mask = pasted_mask(text) if mask is None else mask
    return "".join(" " if m and ch != "\n" else ch for ch, m in zip(text, mask))
