"""Phrase checks found by the second held-out set: refusals in other phrasings, casual
self-reference as an AI or model, narration that opens the message, a closing note to the operator
after a separator, and a whole message written in the assistant's voice."""

from __future__ import annotations

import re

from .sim_edges import _ACT_ALONE, _DEGREE, _EMOTION, _NOT_A_NAME, _NOT_A_SPEAKER
from .sim_findings import FAULT, UNSURE, Finding, _finding
from .sim_pasted import _PASTE_WORDS
from .sim_phrases import _POLICY

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
