"""Computed criteria: a rubric criterion with ``check:`` is answered by ftd from the transcript,
with no model call (spec §4 Rubric). Pure: no I/O, no model; the judges never see these.

``answer(check, exchanges) -> (answer, evidence, first_failing_exchange)``; exchanges are
numbered from 1, as the judges and the report number them. The kinds:

- ``length_ratio {max, share=0}``: per exchange, assistant words ÷ the user's OWN words (pasted
  blocks — fenced code, quoted lines, logs, tables, chat exports — are left out of the user's
  count and reported beside it). NO when more than ``share`` of the measured exchanges are over
  ``max``. An exchange where the user wrote no words of their own has no ratio and is left out
  (said in the evidence); with no measurable exchange at all the answer is NA (which counts as NO
  when the criterion's ``na_valid`` is false).
- ``questions_per_reply {max}``: question SENTENCES per assistant reply (textstats: "??" is one,
  a "?" in a URL or inside a quotation that goes on is none, pasted/quoted blocks are left out).
  NO when any reply asks more than ``max``.
- ``phrases {list}``: NO when any assistant reply contains a listed phrase: case-insensitive,
  whitespace-tolerant, straight and curly apostrophes alike, and word-boundary aware (a phrase
  starting or ending with a letter or digit must start or end a word: "sorry" is not found in
  "sorrynotsorry").
- ``regex {pattern, match=absent}``: ``absent`` (default): NO when any reply matches;
  ``present``: NO when any reply does not match (for "every reply must …" formats).

A regex is project data, and Python's backtracking engine can take exponential or high
polynomial time on a hostile pattern. Two guards: ``regex_problem`` refuses, at ``ftd check``
(RUB024), the shapes that blow up — backreferences, a repeat inside an unbounded repeat (or
the reverse), alternatives inside an unbounded repeat, more than one unbounded wildcard
repeat (``.*a.*b`` is cubic under search) — unless made possessive / atomic; and each reply is
searched at most ``REGEX_CHARS`` characters deep (said in the evidence when a reply was longer).
"""

from __future__ import annotations

import re
from typing import Any

KINDS = ("length_ratio", "questions_per_reply", "phrases", "regex")
REGEX_CHARS = 20_000  # per reply; replies are far shorter under any sane reply limit
EXCERPT = 40  # characters of context shown either side of a found phrase


def _get(check: Any, name: str, default: Any = None) -> Any:
    if isinstance(check, dict):
        return check.get(name, default)
    value = getattr(check, name, default)
    return default if value is None else value


def is_computed(criterion: Any) -> bool:
    """A criterion (a rubric mapping or a Criterion model) answered by ftd, not by judges."""
    check = criterion.get("check") if isinstance(criterion, dict) else getattr(criterion, "check", None)
    return check is not None


def answer(check: Any, exchanges: list[dict]) -> tuple[str, str, int | None]:
    """(YES | NO | NA, evidence text, first failing exchange or None)."""
    kind = _get(check, "kind")
    if kind == "length_ratio":
        return _length_ratio(float(_get(check, "max")), float(_get(check, "share", 0.0) or 0.0), exchanges)
    if kind == "questions_per_reply":
        return _questions(int(_get(check, "max")), exchanges)
    if kind == "phrases":
        return _phrases([str(p) for p in _get(check, "list", [])], exchanges)
    if kind == "regex":
        return _regex(str(_get(check, "pattern")), str(_get(check, "match", "absent") or "absent"), exchanges)
    raise ValueError(f"unknown check kind {kind!r}")  # the rubric's checks refuse it first (RUB023)


def _num(x: float) -> str:
    return f"{x:g}"


def _length_ratio(limit: float, share: float, exchanges: list[dict]) -> tuple[str, str, int | None]:
    from .textstats import split_pasted, words  # the judges' statistics count the same way
    rows, over, measured, unmeasured = [], [], 0, []
    for i, ex in enumerate(exchanges, 1):
        own, pasted = split_pasted(str(ex.get("user") or ""))
        u, p, a = words(own), words(pasted), words(str(ex.get("assistant") or ""))
        pasted_note = f" (+{p} pasted, not counted)" if p else ""
        if u == 0:
            unmeasured.append(i)
            rows.append(f"{i}: assistant {a} / user 0 own words{pasted_note}: no ratio")
            continue
        measured += 1
        ratio = a / u
        is_over = a > limit * u  # exact: integers against the limit, no rounded ratio compared
        if is_over:
            over.append(i)
        rows.append(f"{i}: {a}/{u}{pasted_note} = {ratio:.2f}x" + (" OVER" if is_over else ""))
    head = (f"computed by ftd: assistant words ÷ the user's own words per exchange (pasted blocks left out of "
            f"the user's count), limit {_num(limit)}x, at most {_num(100 * share)}% of exchanges over. ")
    body = "; ".join(rows)
    if not measured:
        return "NA", head + body + ". No exchange where the user wrote words of their own: nothing to measure.", None
    allowed = share * measured
    verdict = "NO" if len(over) > allowed + 1e-9 else "YES"
    tail = (f". {len(over)} of {measured} measured exchanges over {_num(limit)}x"
            + (f" ({', '.join(map(str, over))})" if over else "")
            + (f"; {len(unmeasured)} without own words left out" if unmeasured else "")
            + (f": more than the {_num(100 * share)}% allowed" if verdict == "NO" else "") + f" → {verdict}")
    return verdict, head + body + tail, (over[0] if verdict == "NO" else None)


def _questions(limit: int, exchanges: list[dict]) -> tuple[str, str, int | None]:
    from .textstats import question_sentences
    counts = [question_sentences(str(ex.get("assistant") or "")) for ex in exchanges]
    over = [i for i, q in enumerate(counts, 1) if q > limit]
    head = (f"computed by ftd: question sentences per assistant reply (sentences, not question marks; pasted and "
            f"quoted blocks left out), at most {limit} each. ")
    body = "; ".join(f"{i}: {q}" + (" OVER" if q > limit else "") for i, q in enumerate(counts, 1))
    if not exchanges:
        return "NA", head + "No assistant reply.", None
    verdict = "NO" if over else "YES"
    tail = (f". Over in exchange(s) {', '.join(map(str, over))}" if over else ". No reply over") + f" → {verdict}"
    return verdict, head + body + tail, (over[0] if over else None)


def phrase_pattern(phrase: str) -> re.Pattern:
    """One phrase as a case-insensitive pattern, word-boundary aware at word-character ends."""
    parts = [re.sub(r"['’]", "['’]", re.escape(w)) for w in phrase.split()]
    body = r"\s+".join(parts)
    start = r"(?<!\w)" if phrase.strip()[:1].isalnum() else ""
    end = r"(?!\w)" if phrase.strip()[-1:].isalnum() else ""
    return re.compile(start + body + end, re.IGNORECASE)


def _excerpt(text: str, start: int, end: int) -> str:
    a, b = max(0, start - EXCERPT), min(len(text), end + EXCERPT)
    snippet = " ".join(text[a:b].split())
    return ("…" if a else "") + snippet + ("…" if b < len(text) else "")


def _phrases(phrases: list[str], exchanges: list[dict]) -> tuple[str, str, int | None]:
    pats = [(p, phrase_pattern(p)) for p in phrases if p.strip()]
    found = []
    for i, ex in enumerate(exchanges, 1):
        reply = str(ex.get("assistant") or "")
        for p, pat in pats:
            m = pat.search(reply)
            if m:
                found.append((i, p, _excerpt(reply, m.start(), m.end())))
    head = f"computed by ftd: assistant replies searched for {len(pats)} phrase(s) (case-insensitive, whole words). "
    if not exchanges:
        return "NA", head + "No assistant reply.", None
    if not found:
        return "YES", head + f"None found in {len(exchanges)} replies → YES", None
    shown = "; ".join(f"exchange {i}: \"{p}\" in \"{x}\"" for i, p, x in found[:12])
    more = f"; and {len(found) - 12} more" if len(found) > 12 else ""
    return "NO", head + f"Found: {shown}{more} → NO", found[0][0]


def _search(pattern: str):
    """The compiled pattern and its search: the ``regex`` package (tiktoken's dependency) when
    present, for its timeout backstop; Python's ``re`` otherwise. ftd check already refused the
    shapes that blow up; the timeout covers what a static check cannot see."""
    try:
        import regex  # type: ignore[import-not-found]

        compiled = regex.compile(pattern)
        return lambda text: compiled.search(text, timeout=1.0)
    except ImportError:
        compiled_re = re.compile(pattern)
        return compiled_re.search


def _regex(pattern: str, match: str, exchanges: list[dict]) -> tuple[str, str, int | None]:
    search = _search(pattern)
    head = (f"computed by ftd: every assistant reply {'must match' if match == 'present' else 'must not match'} "
            f"the pattern `{pattern}`. ")
    if not exchanges:
        return "NA", head + "No assistant reply.", None
    failing, notes = [], []
    for i, ex in enumerate(exchanges, 1):
        reply = str(ex.get("assistant") or "")
        if len(reply) > REGEX_CHARS:
            notes.append(f"reply {i} searched in its first {REGEX_CHARS:,} of {len(reply):,} characters")
        try:
            m = search(reply[:REGEX_CHARS])
        except TimeoutError:
            return "ERROR", head + f"The pattern took over a second on exchange {i}'s reply: simplify it.", None
        if match == "present" and m is None:
            failing.append((i, "no match"))
        elif match != "present" and m is not None:
            failing.append((i, f"matched \"{_excerpt(reply, m.start(), m.end())}\""))
    note = (" (" + "; ".join(notes) + ")") if notes else ""
    if not failing:
        return "YES", head + f"All {len(exchanges)} replies comply{note} → YES", None
    shown = "; ".join(f"exchange {i}: {why}" for i, why in failing[:12])
    return "NO", head + f"{shown}{note} → NO", failing[0][0]


# ---------------------------------------------------------------- refusing patterns that blow up


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused (does not compile, or may backtrack catastrophically), or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        at = f" at position {exc.pos}" if exc.pos is not None else ""
        return f"does not compile: {exc.msg}{at}"
    except (OverflowError, RecursionError, ValueError) as exc:
        return f"does not compile: {exc}"
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
        from re import _constants as C  # type: ignore[attr-defined]
    except ImportError:  # another Python's internals: the length cap and the timeout remain
        return None
    try:
        tree = sre_parse.parse(pattern)
    except Exception:  # compiled above, so this is unexpected: let the runtime guards decide
        return None
    wild = [0]
    why = _walk(list(tree), C, outer=None, wild=wild)
    if why is None and wild[0] > 1:
        why = (f"has {wild[0]} unbounded wildcard repeats (like .* … .*): under search that is cubic or worse in "
               "the reply's length; keep one, or make them possessive (.*+)")
    return why


def _walk(items: list, C: Any, outer: str | None, wild: list[int]) -> str | None:
    for op, av in items:
        if op in (C.GROUPREF, C.GROUPREF_EXISTS):
            return "uses a backreference (\\1, (?P=name), (?(1)…)): matching it can take exponential time"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            unbounded = hi == C.MAXREPEAT
            many = unbounded or hi > 1
            if many and outer == "unbounded" or unbounded and outer == "many":
                return ("nests a repeat inside a repeat (like (\\w+\\s)*): it can backtrack exponentially; "
                        "make the inner one possessive (\\w++) or the group atomic (?>…)")
            if unbounded and _is_wild(sub, C):
                wild[0] += 1
            inner = "unbounded" if unbounded else ("many" if many else outer)
            why = _walk(list(sub), C, inner, wild)
            if why:
                return why
        elif op == C.BRANCH:
            if outer == "unbounded":
                return ("repeats a group of alternatives (like (?:ab|a)+): it can backtrack exponentially; "
                        "make the group atomic (?>…) or the repeat possessive")
            for branch in av[1]:
                why = _walk(list(branch), C, outer, wild)
                if why:
                    return why
        elif op == C.SUBPATTERN:
            why = _walk(list(av[-1]), C, outer, wild)
            if why:
                return why
        elif op in (C.ASSERT, C.ASSERT_NOT):
            why = _walk(list(av[1]), C, outer, wild)
            if why:
                return why
        # POSSESSIVE_REPEAT and ATOMIC_GROUP never backtrack into themselves: safe as they are
    return None


def _is_wild(sub: Any, C: Any) -> bool:
    """A repeated single atom that matches almost anything: ., [^…], \\S, \\W, \\D."""
    items = list(sub)
    if len(items) != 1:
        return False
    op, av = items[0]
    if op == C.ANY or op == C.NOT_LITERAL:
        return True
    if op == C.IN:
        return any(o == C.NEGATE for o, _ in av) or any(
            o == C.CATEGORY and a in (C.CATEGORY_NOT_SPACE, C.CATEGORY_NOT_WORD, C.CATEGORY_NOT_DIGIT) for o, a in av)
    return False
