"""Baseline scenarios (spec §7): stratified cells drawn from the taxonomy, gate scenarios matched
to the subtopics that can trigger them, when a gate's trigger surfaces, and a scenario's key.

Everything here is a pure function of its inputs and explicit integer seeds (seeded.py), so a
scenario list drawn today is drawn again identically on another machine. Malformed parts of the
taxonomy or the rubric are skipped, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from ..artifacts.taxonomy import EDGE_TOPIC, RESERVED, option_description, option_weight, turn_ranges
from .personas import _human
from .seeded import _SALT_CELL, _SALT_DRAW, _SALT_REDRAW, _SALT_TRIGGER, _pick, _pick_distinct, _rng, _weight

DEFAULT_TURN_RANGE = (6, 12)
KEY_FIELDS = ("cell", "gate", "persona_seed", "target_exchanges", "situation", "topic_seeds")
# When a gate scenario's trigger should surface (spec §4, the simulator's stage guidance: early is
# the first quarter of the exchanges, late the last quarter, middle between)
TRIGGERS = ("early", "middle", "late")
MAX_REDRAWS = 3  # a cell the scenario writer finds incoherent is redrawn at most this many times


# --------------------------------------------------------------------------- the taxonomy, tolerantly


@dataclass
class _Topic:
    name: str
    weight: float
    subtopics: list[str]


def _body(taxonomy: Any) -> dict:
    if not isinstance(taxonomy, dict):
        return {}
    body = taxonomy.get("taxonomy")
    if isinstance(body, dict):
        return body
    return taxonomy if "topics" in taxonomy else {}


def _topics(body: dict) -> list[_Topic]:
    out: list[_Topic] = []
    seen: set[str] = set()
    raw = body.get("topics")
    for t in raw if isinstance(raw, list) else []:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"].strip():
            continue
        w = _weight(t.get("weight"))
        if w is None or t["name"] in seen:
            continue
        subs = t.get("subtopics")
        subs = [s for s in subs if isinstance(s, str) and s.strip()] if isinstance(subs, list) else []
        seen.add(t["name"])
        out.append(_Topic(t["name"], w, list(dict.fromkeys(subs))))
    if out and sum(t.weight for t in out) <= 0:
        for t in out:
            t.weight = 1.0
    return out


def _dimensions(body: dict) -> dict[str, tuple[list[str], list[float]]]:
    """Dimension -> (options, weights), usable parts only. ``topic`` and ``subtopic`` would
    collide with the cell's own keys, so a dimension by those names is skipped."""
    out = {}
    for name, opts in body.items():
        if name in RESERVED or not isinstance(name, str) or name in ("topic", "subtopic") or not isinstance(opts, dict):
            continue
        pairs = [(str(o), w) for o, w in ((o, _weight(option_weight(w))) for o, w in opts.items()) if w is not None]
        if pairs:
            out[name] = ([o for o, _ in pairs], [w for _, w in pairs])
    return out


def _turn_range(taxonomy: Any, cell: dict) -> tuple[int, int]:
    ranges = {k: r for k, r in turn_ranges(taxonomy).items() if 1 <= r[0] <= r[1]}
    body = _body(taxonomy)
    by = body.get("turn_ranges_by", taxonomy.get("turn_ranges_by") if isinstance(taxonomy, dict) else None)
    if isinstance(by, str) and isinstance(cell.get(by), str) and cell[by] in ranges:
        return ranges[cell[by]]
    return ranges.get("default", DEFAULT_TURN_RANGE)


# --------------------------------------------------------------------------- matching gates to subtopics

_STOP = {
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "with", "by", "from", "as", "is", "are",
    "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "any", "anything", "if", "when",
    "does", "do", "did", "has", "have", "had", "not", "no", "never", "every", "each", "all", "their", "they",
    "them", "themselves", "user", "users", "assistant", "tutor", "reply", "replies", "conversation", "without",
    "rather", "than", "then", "there", "what", "which", "who", "whom", "such", "into", "about", "after", "before",
    "once", "but", "can", "could", "would", "should", "will", "may", "might", "own", "other", "others",
    "some", "more", "most", "less", "where", "how", "why", "e", "g", "eg", "ie", "etc", "being", "so", "also",
    "until", "over", "out", "one", "ones", "he", "she", "his", "her", "you", "your", "we", "our", "i", "me",
}
# One pass, longest suffix first, so that "disclose", "discloses" and "disclosure" meet.
_SUFFIXES = tuple(sorted(("ations", "ation", "ments", "ment", "ings", "ing", "ness", "ities", "ity", "ally", "ures",
                          "ure", "als", "al", "ful", "ies", "ied", "ed", "es", "ly", "s", "e"), key=len, reverse=True))
# A few edge-case families a gate's wording often names only indirectly ("risk of harm"
# means crisis). A shared family counts half as much as a shared word.
_FAMILIES = [
    {"crisi", "suicid", "harm", "risk", "danger", "emergency", "distress", "kill", "overdos", "unsafe"},
    {"minor", "child", "teen", "youth", "underag", "13", "14", "15", "16", "17", "18", "age"},
    {"abus", "violenc", "threat", "threaten", "control", "coerciv", "unsafe", "harm"},
    {"hostil", "insult", "jailbreak", "provocation", "provok", "test", "angry"},
    {"scope", "advic", "legal", "tax", "medic", "diagnos", "therapi", "prescrib"},
    {"inject", "instruction", "instruct", "past", "prompt", "command"},
    {"groom", "privat", "secre", "contact", "adult", "pos"},
]


def _stem(word: str) -> str:
    w = word.lower()
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


def _words(text: str) -> set[str]:
    return {_stem(w) for w in re.split(r"[^0-9a-zA-Z]+", text) if w and w.lower() not in _STOP}


def _family_match(a: str, b: str) -> bool:
    return any(a in f and b in f for f in _FAMILIES)


def _overlap(subtopic: str, gate_words: dict[str, float]) -> float:
    score = 0.0
    for w in _words(subtopic):
        if w in gate_words:
            score += gate_words[w]
        else:
            family = [g for g in gate_words if _family_match(w, g)]
            if family:
                score += 0.5 * max(gate_words[g] for g in family)
    return score


def _criterion_text(cid: str, c: Any) -> str:
    c = c if isinstance(c, dict) else {}
    return " ".join([cid] + [c[k] for k in ("name", "question", "description") if isinstance(c.get(k), str)])


def _gate_words(gate: str, rubric: dict) -> dict[str, float]:
    """The gate's words, each weighted by how rare it is across the rubric's criteria: a word
    every criterion uses ("student", "reply") says nothing about which situation triggers
    this gate."""
    crit = rubric.get("criteria") if isinstance(rubric.get("criteria"), dict) else {}
    docs = [_words(_criterion_text(str(k), c)) for k, c in crit.items()]
    if gate not in crit:
        docs.append(_words(gate))
    n = len(docs)
    out = {}
    for w in _words(_criterion_text(gate, crit.get(gate))):
        df = max(1, sum(1 for d in docs if w in d))
        out[w] = math.log((n + 1) / (df + 1)) / math.log((n + 1) / 2) if n > 1 else 1.0
    return {w: x for w, x in out.items() if x > 0}


def _gate_subtopics(gate: str, rubric: dict, topics: list[_Topic]) -> list[tuple[str, str | None]]:
    """(topic, subtopic) candidates that should trigger ``gate``, best first. Edge cases are
    preferred; a gate whose wording matches no edge subtopic is tried against the other topics
    (a "maths is correct" gate belongs on maths), and an empty list means no match anywhere."""
    words = _gate_words(gate, rubric)
    edge = [t for t in topics if t.name == EDGE_TOPIC]
    for pool in (edge, [t for t in topics if t.name != EDGE_TOPIC]):
        scored = []
        for t in pool:
            for s in t.subtopics:
                score = _overlap(s, words)
                if score > 0:
                    scored.append((-score, -score / max(1, len(_words(s))), len(scored), t.name, s))
        if scored:
            scored.sort()
            best = -scored[0][0]
            # weak matches beside a strong one are noise: keep those at least a third as good
            return [(name, s) for neg, _, _, name, s in scored if -neg >= best / 3]
    return []


# --------------------------------------------------------------------------- multi-topic criteria

# not "questions": "at most two questions" is about a reply, not about the conversation's topics
_TOPICISH = r"(?:topics?|issues?|concerns?|problems?|subjects?|threads?|worr(?:y|ies))"
_MULTI_TOPIC = re.compile(
    r"\bmulti[-_ ]?(?:topic|issue|concern|subject)s?\b"
    rf"|\b(?:several|multiple|two|many|more\s+than\s+one|various|different|separate)\s+(?:\w+\s+)?{_TOPICISH}"
    rf"|\b(?:second|new|another|next|further|additional|later|unrelated)\s+(?:\w+\s+)?{_TOPICISH}"
    r"|\btopic\s*[-_ ]?(?:shifts?|switch(?:es|ing)?|changes?|drift)"
    r"|\b(?:shifts?|switch(?:es|ed|ing)?|changes?|moves?|jumps?)\s+(?:\w+\s+){0,2}(?:topics?|subjects?)\b"
    r"|\bbetween\s+(?:\w+\s+)?topics\b",
    re.I,
)


def is_multi_topic(criterion: dict) -> bool:
    """Does the criterion judge how a conversation handles more than one topic? Such criteria
    are NA on single-topic conversations, so their scenarios need topics to raise later."""
    if not isinstance(criterion, dict):
        return False
    text = " ".join(criterion[k] for k in ("name", "question") if isinstance(criterion.get(k), str))
    return bool(_MULTI_TOPIC.search(text))


def _needs_topic_seeds(rubric: dict) -> bool:
    crit = rubric.get("criteria") if isinstance(rubric, dict) else None
    return isinstance(crit, dict) and any(is_multi_topic(c) for c in crit.values())


# --------------------------------------------------------------------------- drawing


def _apportion(slots: int, shares: list[float]) -> list[int]:
    """Largest-remainder (Hamilton) apportionment; ties go to the earlier entry."""
    total = sum(shares)
    if slots <= 0 or total <= 0:
        return [0] * len(shares)
    quotas = [slots * s / total for s in shares]
    counts = [math.floor(q) for q in quotas]
    order = sorted(range(len(shares)), key=lambda i: (-(quotas[i] - counts[i]), -shares[i], i))
    for i in order[: slots - sum(counts)]:
        counts[i] += 1
    return counts


def _topic_counts(topics: list[_Topic], n: int, already: dict[str, int]) -> list[int]:
    """How many of the ``n - sum(already)`` stratified scenarios each topic gets.

    Topics the gate scenarios already cover need no extra slot for coverage. The rest is
    apportioned over each topic's shortfall against its weighted share of all ``n``, so the
    gate scenarios (mostly edge cases) count towards edge_cases' share instead of inflating it.
    """
    remaining = n - sum(already.values())
    counts = [0] * len(topics)
    if remaining <= 0 or not topics:
        return counts
    uncovered = [i for i, t in enumerate(topics) if already.get(t.name, 0) == 0]
    uncovered.sort(key=lambda i: (-topics[i].weight, i))
    for i in uncovered[:remaining]:
        counts[i] = 1
    remaining -= sum(counts)
    if remaining <= 0:
        return counts
    total_w = sum(t.weight for t in topics)
    have = [already.get(t.name, 0) + counts[i] for i, t in enumerate(topics)]
    deficits = [max(0.0, n * t.weight / total_w - have[i]) for i, t in enumerate(topics)]
    if sum(deficits) <= 0:
        deficits = [t.weight for t in topics]
    for i, extra in enumerate(_apportion(remaining, deficits)):
        counts[i] += extra
    return counts


def _interleave(topics: list[_Topic], counts: list[int]) -> list[_Topic]:
    """Round-robin by topic so that any prefix of the list (a smoke run) spans the topics."""
    left = list(counts)
    out = []
    while any(left):
        for i, t in enumerate(topics):
            if left[i]:
                out.append(t)
                left[i] -= 1
    return out


def draw_scenarios(taxonomy: dict, rubric: dict, n: int, min_per_gate: int, seed_start: int,
                   max_exchanges: int | None) -> list[dict]:
    """``n`` scenarios: ``min_per_gate`` built to trigger each safety gate first, then the rest
    stratified over topics. When the gate scenarios alone outnumber ``n``, the list grows to
    hold them all: a gate with no triggering scenario would be reported "untested", which is
    worse than a longer run. Malformed parts of either file are skipped, never fatal."""
    rubric = rubric if isinstance(rubric, dict) else {}
    body = _body(taxonomy)
    topics = _topics(body)
    dims = _dimensions(body)
    gates_raw = rubric.get("safety_gates")
    gates = list(dict.fromkeys(g for g in gates_raw if isinstance(g, str) and g)) if isinstance(gates_raw, list) else []
    per_gate = max(0, int(min_per_gate or 0))
    n = max(0, int(n or 0))
    seeds = _needs_topic_seeds(rubric)
    draw = _rng(_SALT_DRAW, seed_start)
    by_name = {t.name: t for t in topics}
    edge = by_name.get(EDGE_TOPIC)

    planned: list[tuple[_Topic | None, str | None, str | None]] = []  # topic, subtopic or None to draw, gate
    for gate in gates:
        candidates = _gate_subtopics(gate, rubric, topics)
        for k in range(per_gate):
            if candidates:
                name, sub = candidates[k % len(candidates)]
                planned.append((by_name[name], sub, gate))
            elif edge is not None:
                planned.append((edge, None, gate))
            elif topics:
                planned.append((_pick(draw, topics, [t.weight for t in topics]), None, gate))
            else:
                planned.append((None, None, gate))
    n = max(n, len(planned))
    already: dict[str, int] = {}
    for t, _, _ in planned:
        if t is not None:
            already[t.name] = already.get(t.name, 0) + 1
    counts = _topic_counts(topics, n, already)
    planned += [(t, None, None) for t in _interleave(topics, counts)]
    while len(planned) < n:  # no usable topics at all
        planned.append((None, None, None))

    width = max(2, len(str(len(planned))))
    out = []
    for i, (topic, sub, gate) in enumerate(planned):
        seed = seed_start + i
        rng = _rng(_SALT_CELL, seed)
        if topic is not None and sub is None and topic.subtopics:
            sub = topic.subtopics[rng.randrange(len(topic.subtopics))]
        cell: dict[str, Any] = {"topic": topic.name if topic else None, "subtopic": sub}
        for name, (options, weights) in dims.items():
            cell[name] = _pick(rng, options, weights)
        lo, hi = _turn_range(taxonomy, cell)
        if max_exchanges is not None:
            cap = max(1, int(max_exchanges))
            lo, hi = min(lo, cap), min(hi, cap)
        target = rng.randint(lo, hi)
        topic_seeds: list[str] = []
        if seeds:
            others = [t for t in topics if t.name not in (EDGE_TOPIC, cell["topic"]) and t.subtopics]
            chosen = _pick_distinct(rng, others, [t.weight for t in others], 2)
            if len(chosen) == 1 and len(chosen[0].subtopics) > 1:
                topic_seeds = _pick_distinct(rng, chosen[0].subtopics, [1.0] * len(chosen[0].subtopics), 2)
            else:
                topic_seeds = [t.subtopics[rng.randrange(len(t.subtopics))] for t in chosen]
        scenario = {"id": f"s{i + 1:0{width}d}", "cell": cell, "gate": gate, "persona_seed": seed,
                    "target_exchanges": target, "situation": None, "topic_seeds": topic_seeds}
        if gate is not None:
            scenario["trigger"] = draw_trigger(seed)
        out.append(scenario)
    return out


def draw_trigger(seed: int) -> str:
    """When a gate scenario's trigger surfaces: early, middle or late, uniformly and seeded.
    A gate tested only in the first message would miss the late, indirect disclosures that
    matter most; one tested only at the end would miss how the assistant opens."""
    return TRIGGERS[_rng(_SALT_TRIGGER, seed).randrange(len(TRIGGERS))]


def trigger_window(trigger: Any, target: int) -> tuple[int, int] | None:
    """The exchanges (1-based, inclusive) where ``trigger`` surfaces in a conversation of
    ``target`` exchanges: early is the first quarter, late the last quarter, middle between."""
    if trigger not in TRIGGERS:
        return None
    target = max(1, int(target))
    quarter = max(1, round(target / 4))
    if trigger == "early":
        lo, hi = 1, quarter
    elif trigger == "late":
        lo, hi = target - quarter + 1, target
    else:
        lo, hi = quarter + 1, target - quarter
    lo = min(max(1, lo), target)
    return lo, min(max(lo, hi), target)


def redraw_cell(taxonomy: Any, scenario: dict, attempt: int, max_exchanges: int | None) -> tuple[dict, int]:
    """A new cell for a scenario the scenario writer found incoherent: the topic and subtopic stay
    (they carry the stratification and the safety gate), every other dimension is drawn again
    from a stream of the persona seed and the attempt, so two runs redraw identically. The
    target length is drawn again only when the cell's turn range no longer holds it."""
    body = _body(taxonomy)
    old = dict(scenario.get("cell") or {})
    rng = _rng(_SALT_REDRAW, int(scenario.get("persona_seed") or 0), attempt)
    cell: dict[str, Any] = {"topic": old.get("topic"), "subtopic": old.get("subtopic")}
    for name, (options, weights) in _dimensions(body).items():
        cell[name] = _pick(rng, options, weights)
    target = int(scenario.get("target_exchanges") or 1)
    lo, hi = _turn_range(taxonomy, cell)
    if max_exchanges is not None:
        cap = max(1, int(max_exchanges))
        lo, hi = min(lo, cap), min(hi, cap)
    if not lo <= target <= hi:
        target = rng.randint(lo, hi)
    return cell, target


def _topic_entry(body: dict, name: Any) -> dict:
    raw = body.get("topics")
    return next((t for t in raw if isinstance(t, dict) and t.get("name") == name), {}) if isinstance(raw, list) else {}


def cell_lines(taxonomy: Any, cell: dict) -> list[str]:
    """The cell as a person reads it: each option's ``description`` where the taxonomy gives one,
    else its name in words — never ``key = value`` nor a raw key. The edge-case topic is not
    named at all (a real user does not come with an "edge case"); its subtopic speaks for it."""
    body = _body(taxonomy)
    out = []
    topic, sub = cell.get("topic"), cell.get("subtopic")
    if topic is not None:
        entry = _topic_entry(body, topic)
        desc = entry.get("description") if isinstance(entry.get("description"), str) and entry["description"].strip() else None
        about = [] if topic == EDGE_TOPIC else [desc.strip() if desc else _human(topic)]
        if sub:
            about.append(_human(sub) if about == [] else f"in particular {_human(sub)}")
        if about:
            out.append("What this conversation touches on for you: " + ", ".join(about) + ".")
    for name, value in cell.items():
        if name in ("topic", "subtopic") or value is None:
            continue
        dim = body.get(name) if isinstance(body.get(name), dict) else {}
        desc = option_description(dim.get(value)) if value in dim else None
        out.append(f"{_human(name).capitalize()}: {desc if desc else _human(value)}" + ("" if (desc or "").endswith(".") else "."))
    return out


def scenario_key(s: dict, *, judging: bool = False) -> str:
    """Stable across runs and machines: equal keys mean the same conversation setup, so its
    transcript can be reused. The id is left out on purpose (renumbering changes nothing), and
    so is ``redrawn`` (a record of how the cell came about, not part of it). ``trigger`` shapes
    the conversation and counts once set; a scenario without one keys as it always did.
    ``judging=True`` adds the ``reference``: only judges see it, so an edited reference means
    judging again, while the conversations (keyed without it) are reused."""
    defaults = {"gate": None, "situation": None, "topic_seeds": []}
    fields = {k: s.get(k, defaults.get(k)) for k in KEY_FIELDS}
    for k in ("trigger",) + (("reference",) if judging else ()):
        if s.get(k) is not None:
            fields[k] = s[k]
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
