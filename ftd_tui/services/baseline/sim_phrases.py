"""The phrase checks of the simulator-fault check: refusals, saying it is an AI, comments on the
simulation, stage directions, prompt scaffolding, and the assistant's side written by the simulator
("Assistant:" lines). Each is a regular expression run over the message's own prose."""

from __future__ import annotations

import re

from .sim_findings import FAULT, UNSURE, Finding, _finding
from .sim_pasted import _PASTE_WORDS

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
