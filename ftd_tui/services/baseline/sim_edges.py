"""Phrase checks found by the first held-out set: narration about the persona at a message's edge,
a preamble introducing the persona's message, scaffolding left at the end, a note to the operator."""

from __future__ import annotations

import re

from .sim_findings import FAULT, UNSURE, Finding, _finding

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
