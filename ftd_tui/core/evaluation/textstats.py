"""Text statistics ftd computes for judges and computed criteria (pure: no I/O, no model).

Three stable names, imported elsewhere: ``words``, ``split_pasted``, ``question_sentences``.

What counts, so that a number shown as "computed by ftd" says what it measures:

* ``words(text)``: runs of letters/digits (``don't``, ``e-mail``, ``3.5`` and ``x²`` are one word each);
  punctuation, emoji and markdown markup are not words. Scripts written without spaces count one word
  per character: Chinese hanzi, Japanese kana/kanji (the usual word-processor convention). Thai and
  Lao, also written without spaces, are counted per space-separated run (an undercount).
* ``split_pasted(text)``: returns ``(own, pasted)``, the lines a person wrote themselves and the lines
  they pasted. Pasted lines are: fenced blocks (``` or ~~~, an unclosed fence runs to the end);
  ``>`` quoted lines; log or stack-trace blocks (a ``Traceback`` header and its indented frames and
  final exception line, Java/JS ``at …(…)`` frames, ``Caused by:``, and runs of two or more lines that
  start with a timestamp, a log level or ``SomeError:``); table blocks (two or more consecutive lines
  with two or more ``|``); chat exports (paragraphs that start with a role label such as
  ``User:``, ``[3] ASSISTANT:``, ``[10:32] Agent:``, ``You said:``, when the text has two such labels or
  a numbered/timestamped one, plus the paragraphs between the first and last labelled one).
  Everything else is the person's own text. Lines keep their order within each part.
* ``question_sentences(text)``: the number of question sentences in the text's own part (pasted
  and quoted blocks are not counted, nor inline ``code``). A question sentence ends in a run of
  question/exclamation marks that holds at least one question mark (``?``, ``??``, ``?!``, ``!?``,
  ``？``, ``؟``, ``‽``, ``⁇``, ``⁈``, ``⁉``, Greek ``;`` U+037E): one run is one sentence. A ``?`` is not a
  sentence end when a letter or digit follows it directly (``?q=1`` in a URL, ``a?b``), when it is a
  placeholder in maths (``2 + ? = 5``, ``x = ?``, the ``(?)`` of uncertainty: an operator or opening
  bracket before it, or an operator/closing bracket after it), or when it ends a quotation embedded in
  a sentence that goes on in lower case (``she asked "why?" and left``). ``e.g.?`` and ``...?`` are
  one question each; French spacing (``ça va ?``) and Spanish ``¿…?`` count once.
"""
from __future__ import annotations

import re

__all__ = ["words", "split_pasted", "question_sentences"]

# Scripts without spaces between words: one word per character (kana, CJK ideographs).
_NO_SPACE_CHAR = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# A word: letters/digits, joined by an apostrophe, hyphen, dot or comma between two of them.
_WORD = re.compile(r"[^\W_]+(?:['’\-.,][^\W_]+)*")


def words(text: str) -> int:
    """Words in ``text`` (see the module docstring for what counts)."""
    text = text or ""
    cjk = len(_NO_SPACE_CHAR.findall(text))
    return cjk + len(_WORD.findall(_NO_SPACE_CHAR.sub(" ", text)))


# --- pasted content -------------------------------------------------------------------------------

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_QUOTE = re.compile(r"^\s*>")
_TRACEBACK = re.compile(r"^\s*Traceback \(most recent call last\):")
_FRAME = re.compile(r"^\s+(at\s+\S.*\(.*\)|at\s+\S+:\d+|File \".*\", line \d+|\.\.\. \d+ more)\s*$")
_CAUSED = re.compile(r"^\s*Caused by: ")
_EXC_LINE = re.compile(r"^[\w.$]*(Error|Exception|Warning|Fault|Interrupt|Exit)\b:?")
_LOG_LINE = re.compile(
    r"^\s*(\[?\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}"          # 2024-05-01 12:03 / [2024-05-01T12:03
    r"|\[?\d{1,2}:\d{2}:\d{2}"                            # 12:03:44
    r"|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"          # syslog: May  1 12:03:44
    r"|\[?(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|SEVERE)\]?[\s:]"
    r"|[\w.$]*(Error|Exception):)")
_TABLE_LINE = re.compile(r"^[^|\n]*\|[^|\n]*\|")
_ROLE = r"(user|assistant|ai|bot|chatbot|chatgpt|claude|gpt|system|human|agent|customer|support|me|you|model)"
_CHAT_LABEL = re.compile(
    r"^\s*(?:\[?\d{1,4}\]?[.)]?\s*|\[\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AP]M)?\]\s*|\d{1,2}:\d{2}\s+)?"
    rf"(?:\*\*)?{_ROLE}(?:\*\*)?(?:\s+said)?\s*(?:\*\*)?:", re.IGNORECASE)
_STRONG_LABEL = re.compile(r"^\s*(\[?\d{1,4}\]|\[\d{1,2}:\d{2}|\d{1,2}:\d{2}\s)")


def _mark_fences_and_quotes(lines: list[str], pasted: list[bool]) -> None:
    fence = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence is not None:
            pasted[i] = True
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):].strip():
                fence = None
        elif m:
            fence, pasted[i] = m.group(1), True
        elif _QUOTE.match(line):
            pasted[i] = True


def _mark_logs(lines: list[str], pasted: list[bool]) -> None:
    i = 0
    while i < len(lines):
        if pasted[i]:
            i += 1
            continue
        line = lines[i]
        if _TRACEBACK.match(line) or _FRAME.match(line) or _CAUSED.match(line):
            # A stack trace: the header, its indented frames, and the exception line after them.
            j = i
            while j < len(lines) and not pasted[j] and (
                    j == i or lines[j].startswith((" ", "\t")) or _FRAME.match(lines[j]) or _CAUSED.match(lines[j])):
                j += 1
            if j < len(lines) and not pasted[j] and _EXC_LINE.match(lines[j].strip()):
                j += 1
            for k in range(i, j):
                pasted[k] = True
            # The exception line just before Java frames belongs to the trace too.
            if i > 0 and not pasted[i - 1] and _EXC_LINE.match(lines[i - 1].strip()):
                pasted[i - 1] = True
            i = j
            continue
        if _LOG_LINE.match(line):
            j = i
            while j < len(lines) and not pasted[j] and (
                    _LOG_LINE.match(lines[j]) or (j > i and lines[j].startswith((" ", "\t")) and lines[j].strip())):
                j += 1
            if sum(1 for k in range(i, j) if _LOG_LINE.match(lines[k])) >= 2:
                for k in range(i, j):
                    pasted[k] = True
                i = j
            else:
                i += 1  # a lone log-like line is the person's own words ("Error: it won't save")
            continue
        i += 1


def _mark_tables(lines: list[str], pasted: list[bool]) -> None:
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and not pasted[j] and _TABLE_LINE.match(lines[j]):
            j += 1
        if j - i >= 2:
            for k in range(i, j):
                pasted[k] = True
        i = max(j, i + 1)


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    out, start = [], None
    for i, line in enumerate(lines + [""]):
        if line.strip() and start is None:
            start = i
        elif not line.strip() and start is not None:
            out.append((start, i))
            start = None
    return out


def _mark_chat_exports(lines: list[str], pasted: list[bool]) -> None:
    labelled = [i for i, line in enumerate(lines) if not pasted[i] and _CHAT_LABEL.match(line)]
    if not labelled or (len(labelled) < 2 and not _STRONG_LABEL.match(lines[labelled[0]])):
        return
    paras = [(a, b) for a, b in _paragraphs(lines)]
    first, last = labelled[0], labelled[-1]
    for a, b in paras:
        # A paragraph that holds a label belongs to the export from that label on; paragraphs
        # between the first and the last labelled one are the export's multi-paragraph replies.
        starts = [i for i in labelled if a <= i < b]
        if starts:
            for k in range(starts[0], b):
                pasted[k] = True
        elif first < a and b <= last:
            for k in range(a, b):
                pasted[k] = True


def split_pasted(text: str) -> tuple[str, str]:
    """``(own, pasted)``: the person's own lines and the pasted ones (see the module docstring)."""
    lines = (text or "").split("\n")
    pasted = [False] * len(lines)
    _mark_fences_and_quotes(lines, pasted)
    _mark_logs(lines, pasted)
    _mark_tables(lines, pasted)
    _mark_chat_exports(lines, pasted)
    own = "\n".join(line for line, p in zip(lines, pasted) if not p)
    paste = "\n".join(line for line, p in zip(lines, pasted) if p)
    # A removed block leaves a gap: keep at most one blank line where it stood.
    return re.sub(r"\n{3,}", "\n\n", own).strip("\n"), paste.strip("\n")


# --- question sentences ---------------------------------------------------------------------------

_QMARKS = "?？؟‽⁇⁈⁉\u037e"
_RUN = re.compile(rf"[{_QMARKS}!！]*[{_QMARKS}][{_QMARKS}!！]*")
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_OPERATORS = set("+-−*/=<>×÷^≤≥≠(")
_AFTER_OPERATORS = set("=+−/<>×÷^≤≥≠")  # not * or _: markdown emphasis closes a question (**Why?**)


def _is_question_end(s: str, start: int, end: int) -> bool:
    run = s[start:end]
    nxt = s[end] if end < len(s) else ""
    # ASCII ? glued to a following letter/digit: a URL query or an identifier, not a sentence end.
    # (Fullwidth ？ in Chinese/Japanese is followed directly by the next sentence.)
    if nxt and (nxt.isalnum() or nxt in "=&") and run[-1] in "?!":
        return False
    before, after = s[:start].rstrip(), s[end:].lstrip()
    if (before and before[-1] in _OPERATORS) or (after and after[0] in _AFTER_OPERATORS):
        return False  # a placeholder in maths: 2 + ? = 5, x = ?, the (?) of uncertainty
    # A quotation embedded in a sentence that goes on: she asked "why?" and left.
    if nxt and nxt in "\"”’»'" and re.match(r"[\"”’»']\s+[a-zà-ÿ]", s[end:]):
        return False
    return True


def question_sentences(text: str) -> int:
    """Question sentences in the own (not pasted or quoted) part of ``text``."""
    own, _ = split_pasted(text or "")
    own = _INLINE_CODE.sub(" code ", own)
    return sum(1 for m in _RUN.finditer(own) if _is_question_end(own, m.start(), m.end()))


# ------------------------------------------------------------------ which statistics a criterion gets

STAT_KINDS = ("length", "questions", "format")
# What a criterion is about, from its name and question: only these get statistics, so that
# numbers nobody asked for do not pull the judge towards counting (the rubric's `stats:` overrides).
_ABOUT = {
    "length": re.compile(r"\b(length|lengths|lengthy|long|longer|short|shorter|brief|briefer|concise|verbose|verbosity|"
                         r"wordy|words?|word counts?|ratio|terse|succinct)\b", re.I),
    "questions": re.compile(r"\b(questions|question counts?|question marks?|question sentences)\b", re.I),
    "format": re.compile(r"\b(format|formatted|formatting|markdown|headings?|headers|bold|bullets?|bullet points?|"
                         r"numbered lists?|emojis?|latex|layout)\b", re.I),
}


def stat_kinds(criterion: dict) -> tuple[str, ...]:
    """Which statistics a criterion's judge is given: all with `stats: true`, none with
    `stats: false`, else those its name and question are about (length, questions, format)."""
    flag = criterion.get("stats") if isinstance(criterion, dict) else None
    if flag is True:
        return STAT_KINDS
    if flag is False:
        return ()
    text = f"{criterion.get('name', '')} {criterion.get('question', '')}"
    return tuple(k for k in STAT_KINDS if _ABOUT[k].search(text))
