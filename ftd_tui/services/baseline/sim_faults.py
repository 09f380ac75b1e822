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
corpus in ``tests/data/sim_faults.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

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


# ---------------------------------------------------------------- the rules

_I = r"(?:I|i)"
_APOLOGY = re.compile(r"\b(?:I(?:'|’)?m sorry|I am sorry|I apologi[sz]e|sorry,? but|unfortunately|I(?:'|’)?m afraid|"
                      r"I must (?:decline|stop)|I need to step back|I(?:'|’)?m not comfortable|I am not comfortable)\b", re.I)
_POLICY = re.compile(r"\b(?:guidelines?|polic(?:y|ies)|appropriate|harmful|inappropriate|explicit|safety reasons|"
                     r"content (?:policy|rules)|ethical|as an ai|language model|i(?:'|’)?m an ai|i am an ai)\b", re.I)
_ROLE_STRONG = r"(?:role-?play(?:ing)?|roleplay(?:ing)?|simulation|simulat(?:e|ing|ed) (?:user|student|customer|person|conversation|persona)|" \
               r"character|persona|fictional (?:user|student|customer|person|scenario)|scenario)"
_REFUSE_VERB = (r"(?:can(?:no|'|’)?t|can not|won(?:'|’)t|will not|(?:am|'m|’m) (?:unable|not able) to|must decline to|"
                r"(?:need|have) to stop|(?:'d|would) rather not|(?:do not|don(?:'|’)t) feel comfortable|(?:am|'m|’m) not comfortable)")
_REFUSAL = re.compile(
    rf"\b{_I}\s*(?:'m|’m|am)?\s*(?:sorry|afraid)?[^.!?\n]{{0,40}}?\b{_REFUSE_VERB}\s+(?:\w+\s+){{0,3}}?"
    r"(?:continu\w*|keep|go on|play\w*|role-?play\w*|simulat\w*|pretend\w*|portray\w*|act\w*|generat\w*|writ\w*|"
    r"produc\w*|engag\w*|participat\w*|take part|stay\w*|proceed\w*)\b[^.!?\n]{0,60}?\b" + _ROLE_STRONG + r"\b", re.I)
_REFUSE_DIRECT = re.compile(
    rf"\b{_I}\s*(?:'m|’m|am)?\s*[^.!?\n]{{0,30}}?\b{_REFUSE_VERB}\s+(?:(?:keep|continue|go on|be)\s+)?"
    r"(?:role-?play\w*|roleplay\w*|simulat\w*|portray\w*|play\w* (?:this|the|a|that) (?:role|part|character))\s+"
    r"(?:(?:a|an|the|this|that)\s+)?(?:(?:young|vulnerable|real|suicidal|distressed|\d+-year-old)\s+)?"
    r"(?:person|someone|user|student|customer|client|minor|teen\w*|child|kid|character|scenario|persona|victim|\d+-year-old)\b",
    re.I)
_SIM_WORDS = re.compile(r"\b(?:role-?play\w*|roleplay\w*|simulat\w*|scenario|persona|fictional)\b", re.I)
_BREAK_SOON = re.compile(r"\b(?:I(?:'|’)m going to|I(?:'|’)ll|I will|let me|allow me to|I(?:'|’)d like to|I have to|I must)\s+"
                         r"(?:briefly |quickly )?(?:break|step out of|drop) (?:the )?(?:character|role-?play|persona)\b", re.I)
_BREAK_CHAR = re.compile(r"\b(?:break(?:ing)?|step(?:ping)?|drop(?:ping)?|go(?:ing)?) (?:out of )?(?:the |this |my )?"
                         r"(?:character|role-?play|persona)\b|\bOOC\b\s*[:)\]]|\(\s*OOC\b|\bout of character\b", re.I)
_CANT_CONTINUE = re.compile(r"\b(?:I|i)\s*(?:can(?:no|'|’)?t|can not|won(?:'|’)t|(?:am|'m|’m) (?:unable|not able) to)\s+"
                            r"(?:continue|go on|proceed|assist|help)(?: with)? (?:this|that)(?: (?:conversation|request|chat|"
                            r"one|role|task))?\s*(?:[.!]|$)", re.I)

_SELF_AI_STRONG = re.compile(
    r"\bas an? (?:AI|artificial intelligence|(?:large )?language model|LLM|AI (?:language )?model|AI assistant|"
    r"AI chatbot|chatbot|virtual assistant)\s*,?\s*(?:I|I(?:'|’)m|I am|my|me|it(?:'|’)s not)\b"
    r"|\bas an AI language model\b"
    r"|\b(?:I(?:'|’)m|I am|I was)\s+(?:just |only |actually |really |merely )?(?:an? )?(?:AI language model|large language model|"
    r"language model|AI model|AI assistant|AI system|LLM)\b"
    r"|\b(?:I(?:'|’)m|I am) (?:Claude|ChatGPT|GPT-?\d|Gemini|Llama|an AI (?:made|developed|created|trained|built) by)\b"
    r"|\bI was (?:made|developed|created|trained|built) by (?:OpenAI|Anthropic|Google|Meta|Mistral)\b"
    r"|\b(?:en tant qu(?:'|’)(?:IA|intelligence artificielle|assistant)|als (?:KI|Sprachmodell|künstliche Intelligenz)|"
    r"como (?:una )?(?:IA|inteligencia artificial|modelo de lenguaje)|come (?:un(?:'|’))?(?:IA|intelligenza artificiale|"
    r"modello linguistico)|jako (?:AI|SI|model językowy|sztuczna inteligencja))\s*,?\s*"
    r"(?:je|j(?:'|’)|ich|no puedo|yo|non posso|nie|mi|me|kann)\b", re.I)
_SELF_AI_WEAK = re.compile(
    r"\b(?:I(?:'|’)m|I am)\s+(?:just |only |actually |really )?(?:an? )?(?:AI|chatbot|bot|artificial intelligence)\b"
    r"(?!\s*(?:researcher|engineer|ethic\w*|student|enthusiast|course|class|company|startup|art\w*|developer|specialist|"
    r"nerd|person|guy|girl|skeptic|sceptic|hater|fan|user|tool|policy|safety|lab|team|project|major|consultant|-))", re.I)
_AI_CONTEXT = re.compile(r"\b(?:can(?:no|'|’)?t|cannot|won(?:'|’)t|unable|not a real|not really a|don(?:'|’)t have|do not have|"
                         r"developed|created|trained|designed|here to (?:help|assist)|simulat\w*|role-?play\w*|pretend\w*|"
                         r"playing|feelings|emotions|personal experiences)\b", re.I)

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
_META = re.compile(
    r"\b(?:the|this|my) (?:simulated (?:conversation|user|student|customer|persona|chat|person)|user simulator|"
    r"simulation (?:is|was|has|seems|requires|asks|says)|role-?play (?:scenario|exercise) (?:is|was|says|requires|asks|calls))"
    r"|\b(?:as|for) (?:the|this) simulated (?:user|student|customer|person)\b"
    r"|\b(?:my|the) persona(?:'|’)?s? (?:is|would|says|has|wants|needs|description|style|word limit|flaws?)\b"
    r"|^\W{0,3}(?:stay(?:ing)?|remain(?:ing)?|keep(?:ing)?) in character\b|\b(?:stay(?:ing)?|remain(?:ing)?) in character as\b"
    r"|[(\[*]\s*(?:stay(?:s|ing)?|remain(?:s|ing)?) in character\b"
    r"|\b(?:I(?:'|’)ll|I will|let me|I(?:'|’)m going to|I shall) (?:continue|keep going|carry on) (?:as|playing|in character|the role|with the role)"
    r"|\bcontinuing (?:as (?:the )?(?:user|student|customer|[A-Z]\w+)|in character|the role-?play)\b"
    r"|\b(?:realistic|synthetic) (?:training|evaluation|test) data\b"
    r"|\bthe (?:scenario|instructions|prompt|system prompt) (?:says|said|asks|asked|calls for|requires|wants|tells me)\b"
    r"|\b(?:my|the) (?:instructions|system prompt) (?:say|said|ask|tell)\b"
    r"|\bper (?:my|the) (?:instructions|persona|scenario)\b"
    r"|\bflaw patterns?\b|\bbehaviou?r patterns? to show\b"
    r"|[(\[]\s*note\s*:[^)\]\n]{0,160}\b(?:persona|character|exchange|flaw|simulat\w*|word limit|in this message|the user|the student)\b",
    re.I | re.M)
_STAGE = re.compile(
    r"[(\[*_]\s*(?:the (?:user|student|simulated \w+|persona)|user|student)\s+(?:seems|feels|gets|becomes|sounds|looks|grows|"
    r"now|sighs|pauses|hesitates|types|writes|replies|responds|is now|has become|appears|is (?=(?:now|becoming|getting|growing|"
    r"feeling|visibly|clearly|increasingly|more|less|starting|beginning|still|very|quite|a bit|a little|slightly|really|"
    r"frustrat|annoy|anxious|upset|angry|impatient|defensive|hesitant|relieved|confused|emotional|overwhelm|reluctant|"
    r"irritat|nervous|worried|withdrawn)))[^)\]*\n]{0,80}[)\]*_]"
    r"|[(\[*_]\s*(?:waits|pauses|sighs|hesitates|types|logs off|leaves|sends)\b[^)\]*\n]{0,40}\b(?:reply|response|answer|"
    r"tutor|assistant|coach|agent|support|bot)\b[^)\]*\n]{0,20}[)\]*_]"
    r"|[(\[*_]\s*[A-Z][a-z]+ (?:(?:types|writes|replies|responds|sends)(?=\s*(?:[)\]*_:,.]|\w+ly\b|after\b|before\b|then\b|"
    r"again\b|back\b|out\b|something\b|a (?:quick|short|brief|reply|response|message|long)\b))|hesitates(?:,)? then types)\b"
    r"(?![^)\]*\n]{0,60}\b(?:i|me|my|you|your|usually|always|never|every|whenever|lol|so|because|but|though|btw)\b)"
    r"[^)\]*\n]{0,60}[)\]*_:]",
    re.I)
_STAGE_NAME = re.compile(r"[(\[*]\s*[A-Z][a-z]+ (?:is now|now seems|seems|feels|sounds|gets|becomes) (?:more |increasingly |a bit |very )?"
                         r"(?:frustrat\w*|annoy\w*|anxious|upset|angry|impatient|defensive|hesitant|relieved|confused|"
                         r"sarcastic|emotional|overwhelm\w*|reluctant|irritat\w*|nervous|worried|withdrawn)\b[^)\]*\n]{0,60}[)\]*]")
_SCAFFOLD = re.compile(
    r"\bexchange\s+\d{1,2}\b\s*(?:of\s+(?:about\s+|around\s+|~)?\d+|/\s*\d+|[—–]|-\s|:|\))"
    r"|[(\[]\s*exchange\s+\d{1,2}\b"
    r"|\bword count\s*[:=]?\s*~?\d+"
    r"|[(\[]\s*~?\d{1,3}\s+words?\s*[)\]]\s*$"
    r"|^\s*words?\s*[:=]\s*~?\d+\s*$"
    r"|[(\[<]\s*end(?: of (?:the )?(?:user(?:'s)? )?(?:message|conversation|turn|reply|response))?\s*[)\]>]"
    r"|\bend of (?:user )?(?:message|turn)\b"
    r"|\{(?:persona|flaw_patterns|conversation_history|exchange_number|target_exchanges)\}"
    r"|<<<(?:END )?DATA-"
    r"|^\s*\**(?:persona|flaws?|flaw patterns|conversation stage|stage|communication style|word limit)\**\s*:\s*"
    r"(?:early|middle|late|terse|casual|formal|rambling|articulate|careful|none|\[|\d)"
    r"|[(\[][^)\]\n]{0,40}\b(?:word limit|words? limit)\b[^)\]\n]{0,40}[)\]]"
    r"|\b(?:staying|kept|keeping|within|under|inside) (?:the |my )?word limit\b", re.I | re.M)

_ASSISTANT_LABEL = re.compile(
    r"^[ \t]*(?:[\[(][^\])\n]{0,20}[\])]\s*)?[*_]{0,2}(?:the )?(?:assistant|ai(?: assistant)?|tutor|maths? tutor|coach|"
    r"wellbeing coach|agent|support(?: agent)?|bot|chatbot|model|ledgerly(?: support| assistant)?|mentor)[*_]{0,2}\s*:[*_]{0,2}[ \t]*",
    re.I | re.M)
# what an assistant's turn sounds like, and what an injection in a paste sounds like
_ASSISTANT_VOICE = re.compile(
    r"^(?:sure\b|of course|absolutely|great(?: question| job| work|!|,)|good question|i(?:'|’)m (?:so )?sorry to hear|"
    r"that sounds|it sounds like|i understand|thanks for|thank you for|happy to help|no problem|i can help|i(?:'|’)d be happy|"
    r"hi there|hello|hey there|well done|nice work|not quite|exactly|correct|close!|let(?:'|’)s|you can|to do (?:this|that)|"
    r"here(?:'|’)s how|first,|okay, so|ok, so|good thinking|i hear you|that makes sense|that(?:'|’)s (?:a |really |completely )|"
    r"you(?:'|’)re (?:right|not alone|doing)|how (?:are you|can i help|does that|did that)|what (?:do you think|would|feels))", re.I)
_INJECTION = re.compile(r"\b(?:ignore|disregard|override|issue|refund|approve|grant|credit|confirm|unlock|reset|"
                        r"delete|transfer|pre-?approved|you are now|new instructions|developer mode|system)\b", re.I)
_ASSISTANT_PHRASES = re.compile(
    r"\b(?:is there anything else i can help you with|how can i (?:help|assist) you today|i hope this helps|"
    r"let me know if you have any (?:other|more|further) questions|feel free to reach out|thanks for reaching out|"
    r"thank you for reaching out|thank you for contacting)\b", re.I)


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


_SHEET_WORDS = re.compile(r"\b(?:homework|worksheet|sheet|textbook|book|exercise|example|past paper|question paper|revision guide|"
                          r"find the mistake|spot the (?:mistake|error))\b", re.I)


def _label_findings(text: str, prose: str) -> list[Finding]:
    """An "Assistant:" line in the user's own prose: the simulator writing the other side —
    unless the message speaks of a paste (then unsure at most) or the line is an injection."""
    out = []
    for m in _ASSISTANT_LABEL.finditer(prose):
        line_end = prose.find("\n", m.end())
        line_end = len(prose) if line_end < 0 else line_end
        said = text[m.end():line_end].strip()
        if not said:
            continue
        others = prose[: m.start()] + prose[line_end:]
        others = _ASSISTANT_LABEL.sub(" ", others)
        if _INJECTION.search(said) and not _ASSISTANT_VOICE.match(said):
            continue  # instructions aimed at a bot: what a pasted injection looks like
        # a worksheet or a book's worked example ("our homework sheet has this: Tutor: … Student: …")
        if _PASTE_WORDS.search(others) or _SHEET_WORDS.search(others) \
                or re.search(r"\b(?:you|your)\b[^.\n]{0,30}\b(?:said|told|wrote)\b", others, re.I):
            out.append(_finding("sim_wrote_assistant", UNSURE, text, m.start(), line_end,
                                "an assistant label beside a mention of pasted text"))
        elif _ASSISTANT_VOICE.match(said) or m.start() > 0 and prose[: m.start()].strip():
            out.append(_finding("sim_wrote_assistant", FAULT, text, m.start(), line_end))
        else:
            out.append(_finding("sim_wrote_assistant", UNSURE, text, m.start(), line_end,
                                "a message that starts with an assistant label"))
    return out


# ---------------------------------------------------------------- forms found by the first held-out set
# (its three misses, generalised: narration about the persona at the message's edge, a preamble
# introducing the persona's message, scaffolding left at the end; and a closing note to the operator)

_ACK = r"(?:sure|okay|ok|alright|certainly|of course|got it|understood|absolutely|great|no problem|here you go|right)"
_EMOTION = (r"(?:frustrat\w*|annoy\w*|anxious|upset|angry|angrier|impatient|defensive|hesitant|relieved|confused|sarcastic|"
            r"emotional|overwhelm\w*|reluctant|irritat\w*|nervous|worried|withdrawn|agitated|exasperated|tearful|tense|"
            r"hostile|irritable|distressed|desperate|discouraged|deflated|resigned|embarrassed|uneasy|curt|terse|"
            r"dismissive|skeptical|sceptical|suspicious|calmer|calm|hopeful|engaged|disengaged|open|guarded|curious|"
            r"bored|exhausted|panick\w*|stressed|flustered|sheepish|sullen|cold)")
_DEGREE = r"(?:(?:more|increasingly|visibly|noticeably|clearly|a (?:bit|little)|slightly|very|quite|even more|really|somewhat|much)\s+)*"
# bodily narration: nobody writes it about the person they are talking about, in the present, at a message's edge
_ACT_ALONE = (r"(?:sighs|hesitates|pauses|frowns|shrugs|groans|scoffs|winces|grimaces|fidgets|exhales|huffs|bristles|"
              r"sniffles|mutters|grumbles|squirms|slumps|smirks|takes a (?:deep|long|shaky|slow|moment)|"
              r"rolls (?:his|her|their) eyes|bites (?:his|her|their) (?:lip|nails)|rubs (?:his|her|their) "
              r"(?:eyes|temples|forehead|face|neck)|crosses (?:his|her|their) arms|runs (?:a hand|(?:his|her|their) hands?) "
              r"through|drums (?:his|her|their) fingers|leans (?:back|forward|in)|thinks for a (?:moment|second|bit|minute)|"
              r"(?:stares|glances|looks|gazes|squints) (?:blankly |silently |nervously )?(?:down |back |up )?at (?:the |his |her |their )?"
              r"(?:screen|message|reply|response|question|phone|keyboard|page|worksheet|laptop|monitor)|stares blankly)\b")
# the act of writing the message: narration only when nothing follows but how or when
_ACT_WRITE = (r"(?:types|writes|replies|responds|answers|sends|deletes|re-?reads|backspaces|hits send|starts typing|"
              r"stops typing|begins typing)\b")
_WRITE_TAIL = re.compile(r"\s*(?:$|[:,.—–-]|\w+ly\b|(?:after|before|then|again|finally|back|out|something|a (?:quick|short|"
                         r"brief|reply|response|message|long)|with)\b)", re.I)
_STATE_STRONG = r"(?:grows|is growing|has grown|becomes|is becoming|has become|is visibly|is increasingly|is getting (?:more|increasingly))\b"
_STATE_WEAK = r"(?:is now|now seems|seems|appears|sounds|looks|feels|gets|is getting)\b"
_SUBJ_SIM = r"(?i:(?:the |this )?(?:(?:simulated|fictional|frustrated|anxious|confused|impatient|nervous) )?(?:user|student|persona|learner|pupil|character|simulated \w+))"
_SUBJ_OTHER = r"(?:(?i:the (?:(?:frustrated|anxious|confused|impatient|angry|nervous|annoyed) )?(?:customer|client|caller|patient|coachee|person))|[A-Z][a-z]{1,15})"
_NOT_A_NAME = {"i", "it", "this", "that", "me", "my", "edit", "note", "sorry", "also", "update", "ps", "ok", "okay", "he",
               "she", "they", "we", "you", "there", "here", "mum", "mom", "dad", "nan", "gran", "and", "but", "so", "if",
               "what", "which", "who", "why", "how", "when", "everyone", "nobody", "someone", "anyone", "google", "ledgerly"}
_ASIDE_SUBJECT = re.compile(rf"^\s*(?P<who>{_SUBJ_SIM}|{_SUBJ_OTHER})(?:\s*,[^,\n]{{1,40}},)?\s+(?P<rest>.*)$", re.S)
_EDGE_ASIDE = re.compile(r"\((?P<p>[^()\n]{3,160})\)|\[(?P<b>[^\[\]\n]{3,160})\]|(?<![\w*])\*{1,2}(?P<a>[^*\n]{3,160}?)\*{1,2}(?![\w*])"
                         r"|(?<![\w_])_(?P<u>[^_\n]{3,160})_(?![\w_])")
_PERSON_TALK = re.compile(r"\b(?:i|me|my|mine|i(?:'|’)m|i(?:'|’)ve|you|your|we|us|our|usually|always|never|normally|often|"
                          r"every|whenever|lol|lmao|haha|so|because|cos|but|though|btw|anyway|tbh|honestly)\b", re.I)
_SUBJECTLESS = re.compile(r"^\s*(?:\w+ly\s+)?(?:hesitates|pauses|sighs|thinks|waits)\b[^\n]{0,30}?\b(?:before|then|and)\s+"
                          r"(?:typ\w*|writ\w*|repl\w*|respond\w*|send\w*|hit\w* send|answer\w*)\b", re.I)


def _at_edge(prose: str, start: int, end: int) -> bool:
    """The span opens its line or closes it (trailing punctuation aside)."""
    a = prose.rfind("\n", 0, start) + 1
    b = prose.find("\n", end)
    b = len(prose) if b < 0 else b
    return not prose[a:start].strip() or not re.sub(r"[\s.!?,;:…]", "", prose[end:b])


def _aside_findings(text: str, prose: str) -> list[Finding]:
    """Narration about the user or persona, in parentheses, brackets or asterisks at the start or end
    of a line: "(The customer grows more impatient)", "*Priya hesitates before typing*". What a
    person writes there has no third-person subject ("*sigh*", "(rolls eyes)", "(sorry, on my phone)")
    or speaks of someone the person knows ("(my boss is getting impatient)")."""
    out = []
    for m in _EDGE_ASIDE.finditer(prose):
        if not _at_edge(prose, m.start(), m.end()):
            continue
        inner = next(g for g in m.groups() if g is not None)
        s = _ASIDE_SUBJECT.match(inner)
        if s is None:
            if _SUBJECTLESS.match(inner):
                out.append(_finding("sim_meta", UNSURE, text, m.start(), m.end(), "what may be a stage direction"))
            continue
        who, rest = s.group("who"), s.group("rest")
        if _PERSON_TALK.search(rest):
            continue
        name = not who.lower().startswith(("the ", "this ")) and not re.match(_SUBJ_SIM + r"$", who, re.I)
        if name and (who.lower() in _NOT_A_NAME or not who[0].isupper()):
            continue
        sim = bool(re.match(_SUBJ_SIM + r"$", who, re.I))
        if re.match(_ACT_ALONE, rest, re.I):
            certain = True
        elif (w := re.match(_ACT_WRITE, rest, re.I)) and _WRITE_TAIL.match(rest[w.end():]):
            certain = True
        elif re.match(rf"{_STATE_STRONG}\s*{_DEGREE}{_EMOTION}\b", rest, re.I) \
                or re.match(rf"{_STATE_STRONG}\s*(?:more|less|increasingly)\b", rest, re.I):
            certain = True
        elif re.search(r"\b(?:then|and|before|finally)\s+(?:\w+ly\s+)?(?:types|writes|replies|responds|answers|sends|hits send)"
                       r"\b[^\n:]{0,25}:?\s*$", rest, re.I):
            certain = True  # "*The student scrolls back up, then reluctantly types:*"
        elif re.match(rf"{_STATE_WEAK}\s*{_DEGREE}{_EMOTION}\b", rest, re.I):
            certain = sim  # "(the client seems annoyed)" may be the person's own client
        else:
            continue
        out.append(_finding("sim_meta", FAULT if certain else UNSURE, text, m.start(), m.end(),
                            "a stage direction" if certain else "what may be a stage direction"))
    return out


_NOT_A_SPEAKER = _NOT_A_NAME | {"boss", "manager", "teacher", "sister", "brother", "partner", "wife", "husband", "son",
                                "daughter", "friend", "client", "customer", "bank", "hmrc", "accountant", "landlord",
                                "doctor", "gp", "therapist", "mother", "father", "miss", "sir", "mr", "mrs", "ms", "dave's"}
_PREAMBLE_MORE = re.compile(
    # "Okay! Here's what Leo would say next:", "Here's how the student might reply:"
    rf"\A\W{{0,4}}(?P<ack>{_ACK}\b[!,.]*\s*)?(?:here(?:'|’)?s|here is|this is|below is)\s+(?:what|how)\s+"
    r"(?P<who>the (?:user|student|persona|character|simulated \w+|customer|client)|[A-Z][\w-]+)\s+(?:would|might|will|could|may)\s+"
    r"(?:say|type|write|send|reply|respond|ask|answer|put it|react)(?P<next>\s+(?:next|now|back|in (?:reply|response)|here|at this point))?"
    r"(?:\s+(?:to (?:that|this)|in (?:reply|response)))?\s*[:\-—]"
    # "Sure! Here's the next message from Leo:"
    rf"|\A\W{{0,4}}{_ACK}\b[!,.]*\s*(?:here(?:'|’)?s|here is)\s+(?:the|their|his|her)\s+(?:next|following|new|follow-?up)\s+"
    r"(?:user |student |customer )?(?:message|reply|response|turn)\s+(?:from|by|for)\s+(?:[A-Z][\w-]+|the (?:user|student|persona|customer|client))\b"
    # "Here's a realistic reply from the student:", "Here's an in-character response:"
    r"|\A\W{0,4}(?:" + _ACK + r"\b[!,.]*\s*)?(?:here(?:'|’)?s|here is|below is)\s+(?:a|an|the|my)\s+(?:more\s+)?(?:realistic|plausible|"
    r"in-?character|believable|authentic|natural-sounding)\s+(?:next\s+)?(?:user |student |customer )?(?:message|reply|response|turn)\b"
    # "Message 4:", "Turn 3 of 10:", "**Message 2**"
    r"|\A\W{0,4}(?:\*\*|__)?\s*(?:(?:user|student|customer|persona)\s+)?(?:message|msg|turn|reply|response)\s*#?\s*\d{1,2}"
    r"(?:\s*(?:of|/)\s*\d{1,2})?\s*(?:\*\*|__)?\s*[:.)\-—](?:\*\*|__)?"
    # "**User message:**", "Next message:", "[Student reply]", "The user's response:"
    r"|\A\W{0,4}(?:\*\*|__|\[|\()?\s*(?:(?:the )?(?:user|student|persona|simulated \w+)(?:(?:'|’)s)?|next|in-character|"
    r"next (?:user|student|customer))\s+(?:message|reply|response|turn|input)\s*(?:\*\*|__|\]|\))?\s*[:\-—\]]"
    r"|\A\W{0,4}(?:\*\*|__|\[)\s*(?:the )?(?:customer|client)(?:(?:'|’)s)?\s+(?:message|reply|response|turn)\s*(?:\*\*|__|\])"
    # "The student replies:", "The user types:"
    r"|\A\W{0,4}(?:\*\*)?the (?:user|student|persona|simulated \w+) (?:replies|responds|types|writes|says|asks)(?:\s+\w+ly)?\s*(?:\*\*)?\s*:",
    re.I)
_SPEAKER_REPLY = re.compile(
    r"\A\W{0,4}(?:\*\*|__|\[)?(?P<who>[A-Z][\w-]+)(?:'|’)s\s+(?P<which>next |first |final |opening |follow-?up |new |latest )?"
    r"(?:message|reply|response|turn|answer)\s*(?:\*\*|__)?\s*(?:[:\-—]|\]\s*:?)\s*(?:\*\*|__)?")


def _preamble_findings(text: str, prose: str) -> list[Finding]:
    """A preamble introducing the persona's message, at the start of the message."""
    out = []
    m = _PREAMBLE_MORE.search(prose)
    if m:
        who = m.groupdict().get("who")
        # "here's what Dave would say:" may be a person imagining someone; the simulator says "next"
        person = who and re.match(r"[A-Z]", who) and not m.group("ack") and not m.group("next")
        person = person or (who and who.lower().startswith(("the customer", "the client")) and not m.group("ack")
                            and not m.group("next"))
        numbered = re.match(r"\A\W{0,4}(?:\*\*|__)?\s*(?:\w+\s+)?(?:message|msg|turn|reply|response)\s*#?\s*\d", m.group(0), re.I)
        listing = numbered and len(re.findall(r"(?im)^\W{0,4}(?:\w+\s+)?(?:message|msg|turn|reply|response)\s*#?\s*\d", prose)) > 1
        if not person and not listing:
            out.append(_finding("sim_meta", FAULT, text, m.start(), m.end(), "a preamble before the message"))
    s = _SPEAKER_REPLY.search(prose)
    # "Leo's reply: ok but why" — but "Dave's reply: "we'll see"" quotes someone the person knows
    k = s.start() + len(s.group(0).rstrip()) if s else 0  # in the prose a quotation is blanked: look at the text
    said = text[k:].lstrip()[:1] if s else ""
    if s and said and s.group("who").lower() not in _NOT_A_SPEAKER and said not in "\"“'‘>«":
        # "Monzo's reply: contact Ledgerly" may be a person reporting; "**Leo's next reply:**" is not
        sure = re.match(r"\s*(?:\*\*|__|\[)", s.group(0)) or s.group("which")
        out.append(_finding("sim_meta", FAULT if sure else UNSURE, text, s.start(), k,
                            "a preamble before the message" if sure else "what may be a preamble before the message"))
    return out


_WORD_COUNT = re.compile(
    r"(?:[(\[]\s*)?(?:\b(?:words?|word count|wc|length)\s*[:=]\s*~?(?P<n>\d{1,4})(?:\s*words?)?"
    r"|~?(?P<m>\d{1,4})\s+words?)\s*[)\]]?\s*\.?\s*\Z", re.I)
_SCAFFOLD_MORE = re.compile(
    r"[(\[]\s*(?:persona|flaws?(?: (?:shown|displayed|exhibited|used|present))?|flaw patterns?|conversation stage|"
    r"communication style|emotional state|persona traits?|traits? shown|behaviou?rs? shown|exchange|turn|word limit|"
    r"target (?:length|words)|stage)\s*[:=]\s*[^)\]\n]{1,80}[)\]]"
    r"|(?:^|(?<=[.!?)]\s)|(?<=[.!?)]))\s*\**(?:flaws?|flaw patterns?|persona traits?|traits?|behaviou?rs?|patterns?)\s+"
    r"(?:shown|displayed|exhibited|demonstrated|used|applied|present|included|expressed|on display)\**\s*:"
    r"|(?:^|(?<=[.!?]\s))\s*[(\[]?\s*(?:turn|message|msg)\s+\d{1,2}\s*(?:of|/)\s*\d{1,2}\s*[)\]]?\s*[.:]?\s*$"
    r"|[(\[]\s*(?:turn|message|msg)\s+\d{1,2}\s*(?:of|/)\s*\d{1,2}\s*[)\]]",
    re.I | re.M)
_OPERATOR_NOTE = re.compile(
    r"\b(?:let me know|tell me|just say|feel free to (?:ask|tell me|let me know)) if you(?:'|’)?d? (?:would )?(?:like|want|prefer|need)\b"
    r"[^.!?\n]{0,60}?\b(?:the (?:user|student|persona|character|simulation|scenario|simulated \w+)(?:(?:'|’)s)?\b"
    r"|(?:more|less|even more) (?:hostile|frustrated|aggressive|terse|emotional|impatient|cooperative|resistant|combative|"
    r"irate|sarcastic|defensive|in character)\b|(?:a )?different (?:persona|tone|scenario|direction for the (?:user|student|"
    r"customer))|(?:me|them|him|her) to (?:stay|remain|break) in character)"
    r"|\b(?:I can|I could|happy to|I(?:'|’)m happy to|I(?:'|’)d be happy to|want me to|shall I|should I)\s+(?:also\s+)?"
    r"(?:make|adjust|change|tweak|modify|tone down|dial (?:up|down)|escalate|rewrite|regenerate)\s+"
    r"(?:the |this |my )?(?:user|student|persona|simulated \w+|character(?:'s)? (?:tone|reply|response))(?:(?:'|’)s)?\b",
    re.I)


def _scaffold_findings(text: str, prose: str) -> list[Finding]:
    """Scaffolding at the end: "Words: 5", "(word count: 43)", "[persona: terse]", "Turn 5 of 12",
    "Flaws shown: …"; a note to whoever runs the simulation. A count is the simulator's when it is a
    small limit or the message's own length ("my essay has to be 500 words" has no label anyway)."""
    out = []
    m = _WORD_COUNT.search(prose.rstrip())
    if m:
        n = int(m.group("n") or m.group("m"))
        said = len(re.findall(r"\w+(?:['’]\w+)?", prose[: m.start()]))
        labelled = m.group("n") or re.search(r"[(\[]\s*~?\d", m.group(0))
        bare = not labelled and re.search(r"[.!?]\s*$", prose[: m.start()]) and n <= 80 and abs(n - said) <= 2
        if labelled and (n <= 80 or abs(n - said) <= max(3, said // 2)) or bare:
            out.append(_finding("sim_scaffolding", FAULT, text, m.start(), m.end(), "a word count"))
    for m in _SCAFFOLD_MORE.finditer(prose):
        out.append(_finding("sim_scaffolding", FAULT, text, m.start(), m.end()))
    for m in _OPERATOR_NOTE.finditer(prose):
        out.append(_finding("sim_meta", FAULT, text, m.start(), m.end(), "a note to whoever runs the simulation"))
    return out


# ---------------------------------------------------------------- forms found by the second held-out set
# (its misses, generalised: refusals in other phrasings, casual self-reference as an AI or model,
# narration that opens the message, a closing note to the operator after a separator, and a whole
# message written in the assistant's voice)

_FIRST = r"(?:I|i)"
_REFUSE_ANY = (r"(?:can(?:no|'|’)?t|can not|won(?:'|’)?t|will not|(?:am|'m|’m|m)\s+(?:unable|not able) to|"
               r"(?:am|'m|’m|m)\s+not (?:going to|gonna|comfortable(?: with)?)|(?:do not|don(?:'|’)?t) (?:feel comfortable|want to)|"
               r"(?:'d|would) (?:rather not|prefer not to)|must decline to|(?:need|have) to stop)")
# "I'm not comfortable continuing to portray someone…", "I won't simulate a customer pasting…"
_REFUSE_PORTRAY = re.compile(
    rf"\b{_FIRST}\s*(?:'|’)?(?:m|am)?\s*(?:sorry,?\s*)?(?:really |just |honestly )?{_REFUSE_ANY}\s+"
    r"(?:(?:continu\w*|keep|go on)\s+(?:to\s+)?)?(?:portray\w*|depict\w*|simulat\w*|impersonat\w*|role-?play\w*)\s+"
    r"(?P<obj>someone|somebody|(?:a|an|the|this|that|such an?)\s+(?:[\w-]+\s+)?(?:person|people|user|student|customer|client|"
    r"caller|minor|teen\w*|child|kid|character|persona|victim|patient|learner|pupil|\d+-year-old|man|woman|boy|girl|parent))\b"
    r"(?P<rest>[^.!?\n]{0,120})",
    re.I)
# "Sorry, I'm not going to continue as the student here."
_REFUSE_AS_ROLE = re.compile(
    rf"\b{_FIRST}\s*(?:'|’)?(?:m|am)?\s*(?:really |just )?{_REFUSE_ANY}\s+(?:continu\w*|keep going|carry(?:ing)? on|go(?:ing)? on|"
    r"keep (?:playing|writing|responding)|stay\w*)\s+(?:(?:playing|writing|responding|speaking)\s+)?(?:as|in the role of)\s+"
    r"(?:the |this |a )?(?P<role>user|student|persona|character|learner|pupil|simulated \w+|customer|client|caller|coachee)\b"
    r"(?!\s+(?:of|at|for|with|from|who|that|account|here at)\b)"
    r"(?P<tail>\s*(?:here|anymore|any more|in this (?:conversation|chat|scenario|exchange)|for this (?:conversation|scenario))?)",
    re.I)
# "I'm not able to write a message that tries to get the assistant to…"
_REFUSE_WRITE = re.compile(
    rf"\b{_FIRST}\s*(?:'|’)?(?:m|am)?\s*(?:sorry,?\s*)?{_REFUSE_ANY}\s+(?:write|generate|produce|compose|draft|create)\s+"
    r"(?:a|the|this|that|another|such a|any)\s+(?:next\s+|further\s+|follow-?up\s+)?(?:message|reply|response|turn)\b", re.I)
_ROLE_CONTEXT = re.compile(r"\b(?:role-?play\w*|roleplay\w*|simulat\w*|scenario|persona|in character|fictional|the assistant|"
                           r"as the (?:user|student|customer|client)|training data|this conversation|the conversation)\b", re.I)
# what the simulator says to its operator after refusing ("can we just talk instead?" is a person)
_STEER = re.compile(r"\b(?:I(?:'|’)d suggest|I suggest|please use|happy to continue|less sensitive|steer\w*|adjust the|"
                    r"a (?:different|less \w+) (?:topic|scenario|persona|direction|request|prompt))\b", re.I)
_ME_IN = re.compile(r"\b(?:I|me|my|myself|mine|I(?:'|’)m|im|I(?:'|’)ve|I(?:'|’)d|we|our|us)\b", re.I)

# "im actually an AI so…", "since im a model and dont actually go to school"
_SELF_AI_CASUAL = re.compile(
    r"\b(?:i\s*(?:'|’)?m|i am)\s+(?P<adv>(?:just |only |actually |really |literally |merely |technically )*)(?:an? )?"
    r"(?P<what>AI|A\.I\.|language model|model|LLM|chatbot|bot|(?:user )?simulator|simulated (?:user|student|customer|person))\b"
    r"(?!\s*(?:researcher|engineer|ethic\w*|student|enthusiast|course|class|company|startup|art\w*|developer|specialist|nerd|"
    r"person|guy|girl|skeptic|sceptic|hater|fan|user|tool|policy|safety|lab|team|project|major|consultant|builder|maker|"
    r"trainer|agency|scout|instructor|pilot|for|at|in|with|who|and (?:a|an|I)|-))", re.I)
_AI_ALIBI = re.compile(r"\b(?:pretend\w*|in character|playing (?:the|a|an|[A-Z])|generat\w*|make up|made up|invent\w*|"
                       r"simulat\w*|role-?play\w*|(?:don|do not|dont|doesn|can|cant|cannot)(?:'|’)?t? (?:actually|really) "
                       r"(?:have|go|get|feel|exist|know|see|use|own|live|attend|do|remember)|not (?:a )?real (?:person|human|student|customer|user)|"
                       r"the user side|the (?:user|student|customer)(?:'|’)s side|no (?:real )?(?:sister|brother|job|school|account|body|feelings))\b",
                       re.I)
_AI_SIMILE = re.compile(r"\b(?:like|as if|basically|practically|kidding|joke|joking|jk|feel|feels|felt|robot|sometimes|"
                        r"at work|some days|am i|are you|you(?:'|’)re)\b", re.I)

# narration that opens the message: "The user becomes more guarded here, …:", "The customer is now frustrated and threatens to cancel:"
_OPEN_WHO = (r"(?P<who>(?i:the (?:(?:simulated|fictional) )?(?:user|student|persona|learner|pupil|character|customer|client|caller|"
             r"coachee|patient))|[A-Z][a-z]{1,15})")
_OPEN_STATE = re.compile(
    r"\A\W{0,4}" + _OPEN_WHO + r"\s+(?:(?:now|suddenly|finally)\s+)?"
    r"(?:(?:becomes|grows|is (?:now |visibly |clearly |increasingly |getting |becoming |growing )+|gets|seems|sounds|appears|turns)\s*"
    + _DEGREE + _EMOTION + r"\b|" + _ACT_ALONE + r"|(?:scrolls|re-?reads|reads (?:the|your|back))\b)(?P<rest>[^\n]*)", re.I)
_WRITE_END = re.compile(r"\b(?:then|and|before|finally)\s+(?:\w+ly\s+)?(?:types|writes|replies|responds|answers|sends|hits send)"
                        r"\b[^\n:]{0,25}:\**\s*", re.I)

# a closing note to whoever runs the simulation, after a separator: "---\nShould I have the user raise…"
_SEPARATOR = re.compile(r"(?:\A|\n)[ \t]*(?:-{3,}|\*{3,}|_{3,}|={3,}|—+)[ \t]*\n", re.M)
_OPERATOR_ASK = re.compile(
    r"\b(?:should I|shall I|do you want me to|want me to|would you like me to|I can|I could|let me know if|tell me if)\b"
    r"[^\n]{0,80}?\b(?:(?:have|make|let|get) (?:the )?(?:user|student|customer|client|persona|character|[A-Z][a-z]+)\b(?! (?:know|call|email|send))"
    r"|continue (?:the|this) (?:conversation|role-?play|scenario|simulation|exchange)|wrap (?:it |things |this )?up|end (?:it|the conversation) here"
    r"|(?:another|a second|one more|the next) (?:exchange|turn|issue|topic|message)|stay in character|keep going as)", re.I)
_CONVO_META = re.compile(r"\b(?:natural (?:end|ending|stopping point|place to (?:end|stop))|the conversation|this conversation|"
                         r"the (?:user|student|persona|character)|exchange|wrap(?:s|ping)? up|in character|scenario)\b", re.I)

# a whole message in the assistant's voice: a helper's opening, then help or the diagnostic question a helper asks
_HELPER_OPEN = re.compile(
    r"\A\W{0,4}(?:great question|good question|excellent question|(?:thanks|thank you) (?:so much )?for (?:reaching out|"
    r"contacting (?:us|support|Ledgerly)|getting in touch|your (?:message|question|patience)|sharing (?:that|this))|"
    r"it sounds like (?:you(?:'|’)ve been|you have been|you(?:'|’)re (?:feeling|going through|dealing|carrying|juggling|under|having)|"
    r"you are (?:feeling|going through|dealing)|you feel|things|this week|this has)|that sounds (?:really |so |incredibly )?"
    r"(?:hard|difficult|tough|frustrating|exhausting|overwhelming|stressful|painful)|i(?:'|’)m (?:so |really |very )?sorry to hear "
    r"(?:about )?(?:your|you|that you)|i understand how|let(?:'|’)s break (?:this|it) down|happy to help|great (?:job|work|effort)|"
    r"well done|nice work|you(?:'|’)re not alone|i hear you)\b(?P<after>[!.,]?)", re.I)
_HELPER_CLAUSE = re.compile(r"\W*(?:it sounds|that sounds|i(?:'|’)m (?:so |really |very )?sorry|i understand|you(?:'|’)re not alone)", re.I)
# the help an assistant offers and the diagnostic question it asks, about the person it talks to
_HELPER_OFFER = re.compile(
    r"\b(?:would it help (?:to|if you)|would you like to|do you want to (?:try|talk|think)|want to (?:try|have a go at) (?:a similar|another|one)|"
    r"(?:could|can) you (?:tell|let) me (?:which|what|when|whether|if|how)\b[^?\n]{0,80}\byou|"
    r"(?:could|can) you (?:confirm|check) (?:which|what|whether|if)\b[^?\n]{0,80}\byou|"
    r"what do you think (?:might|would|could)|how does that sound|shall we (?:try|look|start)|"
    r"let(?:'|’)s (?:try a|look at|start (?:with|by)|work through|break)|try (?:a similar|another) one|"
    r"you (?:might|may) (?:want to|find it|try)|it (?:might|may|could) help to|it makes (?:a lot of )?sense that you|"
    r"(?:first|next),? (?:subtract|add|divide|multiply|expand|factorise|go to|click|open|check)\b[^.?\n]{0,60}\b(?:then|so|to get)|"
    r"which (?:bank|browser|device|version|plan|app)\b[^?\n]{0,20}\b(?:you|are you|do you))",
    re.I)
_CASUAL = re.compile(r"\b(?:lol|lmao|haha|tbh|idk|ngl|omg|ugh|smh|pls|plz)\b|\?\?|!!", re.I)
_HELPER_ME = re.compile(r"\b(?:tell|let|send|show|give) me\b|\bI(?:'|’)m (?:so |really |very )?sorry to hear\b|\bI understand\b|"
                        r"\bI(?:'|’)d (?:suggest|recommend|be happy)\b|\bI hear you\b", re.I)


def _second_set_findings(text: str, prose: str) -> list[Finding]:
    out: list[Finding] = []
    policy = bool(_POLICY.search(prose))

    def elsewhere(m: re.Match) -> bool:  # role vocabulary outside the refusal itself
        rest = prose[: m.start()] + " " + prose[m.end():]
        return bool(_ROLE_CONTEXT.search(rest) or _STEER.search(rest) or policy)

    for m in _REFUSE_PORTRAY.finditer(prose):
        rest = m.group("obj") + m.group("rest")
        if _ME_IN.search(rest) or re.match(r"(?:a|an|the|this|that)\s+(?:happy|perfect|good|brave|strong|fake|false|version|image|picture)\b",
                                           m.group("obj"), re.I):
            continue  # "I'm not comfortable portraying someone I'm not", "… a happy family"
        out.append(_finding("sim_refusal", FAULT if elsewhere(m) else UNSURE, text, m.start(), m.end()))
    for m in _REFUSE_AS_ROLE.finditer(prose):
        sim_role = m.group("role").lower() not in ("customer", "client", "caller", "coachee")
        sure = sim_role or m.group("tail").strip() or elsewhere(m)
        out.append(_finding("sim_refusal", FAULT if sure else UNSURE, text, m.start(), m.end()))
    for m in _REFUSE_WRITE.finditer(prose):
        out.append(_finding("sim_refusal", FAULT if elsewhere(m) else UNSURE, text, m.start(), m.end()))
    for m in _SELF_AI_CASUAL.finditer(prose):
        if re.match(r"(?:model|bot|chatbot)$", m.group("what"), re.I) and not _AI_ALIBI.search(prose):
            continue  # "I'm a model" (fashion), "I'm a bot at this point" — weak rule's business
        before = prose[max(0, m.start() - 30): m.start()]
        sentence = prose[max(0, m.start() - 60): m.end() + 160]
        simile = _AI_SIMILE.search(before) and not re.search(r"\bactually\b", m.group("adv") or "", re.I)
        sure = _AI_ALIBI.search(sentence) and not simile
        out.append(_finding("sim_said_ai", FAULT if sure else UNSURE, text, m.start(), m.end()))
    o = _OPEN_STATE.search(prose)
    if o:
        who, rest = o.group("who"), o.group("rest")
        line = o.group(0)
        sim = bool(re.match(r"the (?:(?:simulated|fictional) )?(?:user|student|persona|learner|pupil|character)\b", who, re.I))
        name = not who.lower().startswith("the ")
        intro = line.rstrip().rstrip("*_").rstrip().endswith(":") or _WRITE_END.search(line)
        plain = not _ME_IN.search(line) and not re.search(r"\b(?:you|your|we|our|us)\b", line, re.I)
        pasting = _PASTE_WORDS.search(rest)
        if not (name and (who.lower() in _NOT_A_NAME or who.lower() in _NOT_A_SPEAKER)):
            if sim and plain or (intro and plain and not pasting and not name):
                out.append(_finding("sim_meta", FAULT, text, o.start(), o.end(), "narration opening the message"))
            elif plain and (intro or sim):
                out.append(_finding("sim_meta", UNSURE, text, o.start(), o.end(), "what may be narration opening the message"))
    for s in _SEPARATOR.finditer(prose):
        after = prose[s.end():]
        if not prose[: s.start()].strip() or not after.strip():
            continue
        n = _OPERATOR_ASK.search(after)
        if n and _CONVO_META.search(after):
            end = s.end() + len(after.rstrip())
            out.append(_finding("sim_meta", FAULT, text, s.end() + n.start(), end, "a note to whoever runs the simulation"))
    h = _HELPER_OPEN.search(prose)
    clause = h and _HELPER_CLAUSE.match(h.group(0))
    # "Great question from my son: …" is a person; "Great question! To solve …" is the assistant
    if h and (clause or h.group("after") in ("!", ".")):
        body = _HELPER_ME.sub(" ", prose)
        mine = _ME_IN.search(re.sub(r"(?i)\blet(?:'|’)s\b", " ", body))  # "let's" is the helper's
        offer = _HELPER_OFFER.search(prose, h.end())
        yours = len(re.findall(r"\b(?:you|your|yours|yourself)\b", prose, re.I))
        steps = re.match(r"(?i)(?:first|next)", offer.group(0)) if offer else None
        if not mine and offer and not _CASUAL.search(prose) and (yours or steps) and len(prose.split()) >= 12:
            out.append(_finding("sim_wrote_assistant", FAULT, text, h.start(), len(prose.rstrip()),
                                "a whole message in the assistant's voice"))
        elif not mine and offer:
            out.append(_finding("sim_wrote_assistant", UNSURE, text, h.start(), len(prose.rstrip()),
                                "what may be a message in the assistant's voice"))
    return out


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


__all__ = ["FAULT", "UNSURE", "Finding", "detect", "clean_user_message", "pasted_mask", "own_prose", "cap", "DETAILS"]
