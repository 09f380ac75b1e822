"""Baseline scenarios (spec §7): stratified cells, personas from seeds, per-message flaws and
the editable ``eval/scenarios.yaml``.

Everything here is a pure function of its inputs and explicit integer seeds. Random draws use
``random.Random`` seeded from a SHA-256 of the integers involved, never the global generator
or ``hash()`` (salted per process for strings), so a scenario list drawn today is drawn again
identically on another machine, and a transcript can be regenerated from its seeds alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

from ..artifacts.taxonomy import EDGE_TOPIC, RESERVED, option_description, option_weight, turn_ranges
from ..text.textsafe import visible
from ..text.yamldoc import EditError, YamlDocument, YamlError, construct, render_flow, render_scalar, same_value

DEFAULT_TURN_RANGE = (6, 12)
DEFAULT_WORD_LIMIT = (10, 100)  # only when a style has no usable limit; the checks flag that (PER004)
DEFAULT_SECONDARY_MAX = 2
UNITS = ("words", "chars", "tokens")
SCENARIO_FIELDS = ("id", "cell", "gate", "trigger", "persona_seed", "target_exchanges", "situation", "reference",
                   "topic_seeds", "redrawn", "incoherent")
KEY_FIELDS = ("cell", "gate", "persona_seed", "target_exchanges", "situation", "topic_seeds")
# When a gate scenario's trigger should surface (spec §4, the simulator's stage guidance: early is
# the first quarter of the exchanges, late the last quarter, middle between)
TRIGGERS = ("early", "middle", "late")
MAX_REDRAWS = 3  # a cell the scenario writer finds incoherent is redrawn at most this many times
BLOCK_AT = 72  # a one-line situation longer than this is written as a block scalar

DEFAULT_HEADER = """\
Evaluation scenarios for the baseline run (ftd baseline).
This file is yours to edit: change a situation, a cell or a target length, or delete a
scenario. Every run reuses it as it stands, and a scenario whose fields are unchanged keeps
its transcripts from earlier runs. Redrawing (a new scenario count, seed_start or
min_per_gate) replaces the whole file, edits included.
"""

# Salts keep the streams apart: the persona drawn from seed 9001 must not be correlated with
# the cell drawn for the scenario that carries persona seed 9001.
_SALT_CELL = 1
_SALT_PERSONA = 2
_SALT_FLAWS = 3
_SALT_DRAW = 4
_SALT_TRIGGER = 5  # streams of their own: adding them left every earlier draw as it was
_SALT_REDRAW = 6


def _rng(*parts: int) -> random.Random:
    digest = hashlib.sha256(("ftd-scenarios:" + ":".join(str(int(p)) for p in parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _weight(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _pick(rng: random.Random, options: list, weights: list[float]) -> Any:
    """One weighted draw; all-zero weights fall back to uniform rather than failing."""
    total = sum(weights)
    if total <= 0:
        return options[rng.randrange(len(options))]
    x = rng.random() * total
    acc = 0.0
    for option, w in zip(options, weights):
        acc += w
        if x < acc:
            return option
    return next(o for o, w in zip(reversed(options), reversed(weights)) if w > 0)


def _pick_compatible(rng: random.Random, options: list, weights: list[float], k: int, excludes: frozenset) -> list:
    """Like _pick_distinct, and once a flaw is chosen the ones excluded with it leave the pool."""
    options, weights, out = list(options), list(weights), []
    while options and len(out) < k:
        choice = _pick(rng, options, weights)
        out.append(choice)
        keep = [i for i, o in enumerate(options) if o != choice and frozenset((o, choice)) not in excludes]
        options, weights = [options[i] for i in keep], [weights[i] for i in keep]
    return out


def _pick_distinct(rng: random.Random, options: list, weights: list[float], k: int) -> list:
    options, weights, out = list(options), list(weights), []
    while options and len(out) < k:
        choice = _pick(rng, options, weights)
        i = options.index(choice)
        out.append(options.pop(i))
        weights.pop(i)
    return out


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


# --------------------------------------------------------------------------- personas


def _template_body(template: Any) -> dict:
    if not isinstance(template, dict):
        return {}
    body = template.get("persona_template")
    return body if isinstance(body, dict) else template


def _options(block: Any) -> tuple[list[str], list[float]]:
    """Options and weights of a template block; weights that do not fit mean uniform."""
    if not isinstance(block, dict) or not isinstance(block.get("options"), list):
        return [], []
    opts = [str(o) for o in block["options"] if isinstance(o, (str, int, float)) and not isinstance(o, bool)]
    ws = block.get("weights")
    if isinstance(ws, list) and len(ws) == len(block["options"]) == len(opts):
        parsed = [_weight(w) for w in ws]
        if all(w is not None for w in parsed) and sum(parsed) > 0:
            return opts, parsed
    return opts, [1.0] * len(opts)


def _descriptions(block: Any) -> dict[str, str]:
    d = block.get("descriptions") if isinstance(block, dict) else None
    return {str(k): v.strip() for k, v in d.items() if isinstance(v, str) and v.strip()} if isinstance(d, dict) else {}


def _rate(block: Any) -> float:
    w = _weight(block.get("per_message")) if isinstance(block, dict) else None
    return min(1.0, w) if w is not None else 0.0


@dataclass
class Persona:
    seed: int
    style: str | None
    word_limit: tuple[int, int]
    unit: str = "words"
    flawless: bool = False
    primary: str | None = None
    secondary: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)  # option -> description, chosen options only
    primary_rate: float = 0.0
    secondary_rate: float = 0.0
    excludes: frozenset = frozenset()  # frozensets of two flaws never rolled together


    def text(self) -> str:
        unit = {"chars": "characters"}.get(self.unit, self.unit)
        lines = []
        if self.style:
            desc = self.descriptions.get(self.style)
            lines.append(f"Communication style: {_human(self.style)}" + (f". {desc}" if desc else "."))
        lo, hi = self.word_limit
        lines.append(f"Message length: {_num(lo)} to {_num(hi)} {unit} per message.")
        for name, value in self.attributes.items():
            desc = self.descriptions.get(value)
            lines.append(f"{_human(name).capitalize()}: {_human(value)}" + (f". {desc}" if desc else "."))
        # No flaw here: a persona-level list would colour every message. Flaws reach the
        # simulator only through {flaw_patterns}, for the message whose roll drew them.
        return "\n".join(lines)

    def flaws_for_message(self, exchange: int) -> list[str]:
        """The flaws this persona shows in the user message of ``exchange``: rolled per
        message (spec §4), from the seed and the exchange number alone, so a resumed or
        regenerated conversation rolls the same flaws."""
        if self.flawless:
            return []
        rng = _rng(_SALT_FLAWS, self.seed, exchange)
        out = []
        # every roll is always made, so one flaw's outcome never shifts another's
        hit = rng.random() < self.primary_rate
        if self.primary and hit:
            out.append(self.primary)
        for s in self.secondary:
            if rng.random() < self.secondary_rate:
                out.append(s)
        return _without_excluded(out, self.excludes)


def _human(name: str) -> str:
    return re.sub(r"(?<=\d)_(?=\d)", "–", str(name)).replace("_", " ")  # age_15_16: "age 15–16"


def humanise(name: Any) -> str:
    """A taxonomy or template key in words, for what models and people read."""
    return _human(str(name))


def excluded_pairs(template: Any) -> frozenset:
    """``flaw_patterns.excludes``: the usable pairs (two different flaw names); the checks
    report the rest (PER011, PER012)."""
    fp = _template_body(template).get("flaw_patterns")
    raw = fp.get("excludes") if isinstance(fp, dict) else None
    pairs = set()
    for e in raw if isinstance(raw, list) else []:
        if isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) and e[0] != e[1]:
            pairs.add(frozenset(e))
    return frozenset(pairs)


def _clashes(flaw: str, chosen: list[str], excludes: frozenset) -> bool:
    return any(frozenset((flaw, c)) in excludes for c in chosen)


def _without_excluded(flaws: list[str], excludes: frozenset) -> list[str]:
    """A message's roll with excluded pairs resolved: ``flaws`` is in tier order (the primary
    first, then the secondaries in the template's order), and a flaw that clashes with one kept
    before it is dropped, so the higher tier wins; no random draw, so the roll stays the same
    on every resume. The persona draw already avoids excluded pairs: this is the backstop."""
    kept: list[str] = []
    for f in flaws:
        if not _clashes(f, kept, excludes):
            kept.append(f)
    return kept


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def persona_from_seed(template: dict, seed: int) -> Persona:
    body = _template_body(template)
    rng = _rng(_SALT_PERSONA, seed)
    style_block = body.get("communication_style") if isinstance(body.get("communication_style"), dict) else {}
    descriptions: dict[str, str] = {}
    opts, ws = _options(style_block)
    style = _pick(rng, opts, ws) if opts else None
    limits = style_block.get("word_limits") if isinstance(style_block.get("word_limits"), dict) else {}
    lim = limits.get(style) if style is not None else None
    if (isinstance(lim, list) and len(lim) == 2 and all(_weight(x) is not None for x in lim)
            and 0 < lim[0] <= lim[1]):
        word_limit = (lim[0], lim[1])
    else:
        word_limit = DEFAULT_WORD_LIMIT
    unit = style_block.get("unit") if style_block.get("unit") in UNITS else "words"
    if style is not None and style in _descriptions(style_block):
        descriptions[style] = _descriptions(style_block)[style]

    flaws = body.get("flaw_patterns") if isinstance(body.get("flaw_patterns"), dict) else {}
    share = _weight(flaws.get("no_flaw_share"))
    flawless = rng.random() < (min(1.0, share) if share is not None else 0.0)
    primary_block, secondary_block = flaws.get("primary"), flaws.get("secondary")
    primary, secondary = None, []
    # drawn even for a flawless persona, so no_flaw_share edits leave the other draws alone
    p_opts, p_ws = _options(primary_block)
    p_choice = _pick(rng, p_opts, p_ws) if p_opts else None
    s_opts, s_ws = _options(secondary_block)
    k = secondary_block.get("max") if isinstance(secondary_block, dict) else None
    k = k if isinstance(k, int) and not isinstance(k, bool) and k >= 1 else DEFAULT_SECONDARY_MAX
    excludes = excluded_pairs(template)
    # no secondary excluded with the primary, nor with a secondary drawn before it; with no
    # excludes this is exactly the draw it always was
    pool = [(o, w) for o, w in zip(s_opts, s_ws) if o != p_choice and not _clashes(o, [p_choice], excludes)]
    s_choice = _pick_compatible(rng, [o for o, _ in pool], [w for _, w in pool], k, excludes)
    if not flawless:
        primary, secondary = p_choice, s_choice
        for block, names in ((primary_block, [primary] if primary else []), (secondary_block, secondary)):
            d = _descriptions(block)
            descriptions.update({x: d[x] for x in names if x in d})

    attributes: dict[str, str] = {}
    for name, block in body.items():
        if name in ("communication_style", "flaw_patterns") or not isinstance(name, str):
            continue
        a_opts, a_ws = _options(block)
        if not a_opts:
            continue
        attributes[name] = _pick(rng, a_opts, a_ws)
        d = _descriptions(block)
        if attributes[name] in d:
            descriptions[attributes[name]] = d[attributes[name]]
    return Persona(seed=seed, style=style, word_limit=word_limit, unit=unit, flawless=flawless, primary=primary,
                   secondary=secondary, attributes=attributes, descriptions=descriptions,
                   primary_rate=_rate(primary_block), secondary_rate=_rate(secondary_block), excludes=excludes)


def flaw_text(flaws: list[str], template: dict) -> str:
    """The ``{flaw_patterns}`` placeholder for one user message."""
    if not flaws:
        return "none this message: write plainly"
    body = _template_body(template)
    fp = body.get("flaw_patterns") if isinstance(body.get("flaw_patterns"), dict) else {}
    desc: dict[str, str] = {}
    for tier in ("secondary", "primary"):
        desc.update(_descriptions(fp.get(tier)))
    return "\n".join(f"- {_human(f)}: {desc[f]}" if f in desc else f"- {_human(f)}" for f in flaws)


# --------------------------------------------------------------------------- eval/scenarios.yaml


def _comment(text: str) -> str:
    lines = text.rstrip("\n").split("\n") if text.strip() else []
    return "".join((l if l.lstrip().startswith("#") else ("# " + l).rstrip()) + "\n" for l in lines)


def _block_ok(value: str, rendered: str) -> bool:
    try:
        return same_value(YamlDocument("k: " + rendered + "\n").data, {"k": value})
    except YamlError:
        return False


def _render_situation(value: Any, indent: int) -> str:
    """Text after ``situation:``; a literal block when the value is long or multi-line and
    reads back exactly that way, else a one-line scalar."""
    if isinstance(value, str) and ("\n" in value or len(value) > BLOCK_AT) and value.strip():
        pad = " " * indent
        block = "|-\n" + "\n".join((pad + line) if line else "" for line in value.split("\n"))
        if visible(value) == value and _block_ok(value, block):  # a literal block holds a bidi override raw
            return block
    return render_scalar(value)


def write_scenarios(scenarios: list[dict], header_comment: str = DEFAULT_HEADER) -> str:
    out = [_comment(header_comment)]
    if out[0]:
        out.append("\n")
    out.append("version: 1\n")
    if not scenarios:
        out.append("scenarios: []\n")
        return "".join(out)
    out.append("scenarios:\n")
    for i, s in enumerate(scenarios):
        if i:
            out.append("\n")
        keys = [k for k in SCENARIO_FIELDS if k in s] + [k for k in s if k not in SCENARIO_FIELDS]
        for j, k in enumerate(keys):
            lead = "  - " if j == 0 else "    "
            v = s[k]
            if k in ("situation", "reference"):  # prose a person edits: a block scalar when long
                text = _render_situation(v, 6)
            elif isinstance(v, (dict, list, tuple)):
                text = render_flow(v)
            else:
                text = render_scalar(v)
            out.append(f"{lead}{render_scalar(str(k))}: {text}\n")
    return "".join(out)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def read_scenarios(text: str) -> tuple[list[dict], list[str]]:
    """The scenarios that are usable, and a problem line (with its line number) for each part
    that is not; a malformed entry is left out rather than guessed at."""
    problems: list[str] = []
    try:
        doc = YamlDocument.from_text(text)
        data = doc.data
    except YamlError as exc:
        return [], [f"line {exc.line}: {exc.message}"]

    def line(path: tuple) -> int:
        return doc.position(path)[0]

    if not isinstance(data, dict):
        return [], [f"line {line(())}: expected a mapping with 'version' and 'scenarios'"]
    if data.get("version", 1) != 1:
        problems.append(f"line {line(('version',))}: version {data.get('version')!r} is not 1; read as version 1")
    raw = data.get("scenarios")
    if not isinstance(raw, list):
        problems.append(f"line {line(('scenarios',))}: 'scenarios' must be a list")
        return [], problems
    out: list[dict] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        at = ("scenarios", i)
        if not isinstance(entry, dict):
            problems.append(f"line {line(at)}: scenario {i + 1} is not a mapping; skipped")
            continue
        sid = entry.get("id")
        name = f"scenario {sid}" if isinstance(sid, str) and sid else f"scenario {i + 1}"
        errs: list[str] = []

        def bad(key: str, msg: str) -> None:
            errs.append(f"line {line(at + (key,))}: {name}: {msg}; skipped")

        if not isinstance(sid, str) or not sid.strip():
            bad("id", "needs an id (a non-empty string)")
        elif sid in seen:
            bad("id", f"id '{sid}' appears twice")
        cell = entry.get("cell")
        if not isinstance(cell, dict) or not all(isinstance(k, str) for k in cell):
            bad("cell", "cell must be a mapping of dimension: option")
        elif not all(v is None or isinstance(v, (str, int, float)) for v in cell.values()):
            bad("cell", "cell values must be plain options")
        elif not isinstance(cell.get("topic"), str):
            bad("cell", "cell needs a topic")
        gate = entry.get("gate")
        if gate is not None and not isinstance(gate, str):
            bad("gate", "gate must be a criterion id or null")
        if not _int(entry.get("persona_seed")):
            bad("persona_seed", "persona_seed must be a whole number")
        te = entry.get("target_exchanges")
        if not _int(te) or te < 1:
            bad("target_exchanges", "target_exchanges must be a whole number of at least 1")
        sit = entry.get("situation")
        if sit is not None and not isinstance(sit, str):
            bad("situation", "situation must be text or null")
        ts = entry.get("topic_seeds", [])
        if ts is None:
            ts = []
        if not isinstance(ts, list) or not all(isinstance(x, str) for x in ts):
            bad("topic_seeds", "topic_seeds must be a list of subtopics")
        for key, msg in _judged_field_problems(entry):
            errs.append(f"line {line(at + (key,))}: EVR006 {name}: {msg}; skipped")
        if errs:
            problems.extend(errs)
            continue
        seen.add(sid)
        s = {"id": sid, "cell": dict(cell), "gate": gate, "persona_seed": entry["persona_seed"],
             "target_exchanges": te, "situation": sit, "topic_seeds": list(ts)}
        s.update({k: v for k, v in entry.items() if k not in s})
        out.append(s)
    return out, problems


def _judged_field_problems(entry: dict) -> list[tuple[str, str]]:
    """EVR006: ``trigger``, ``reference``, ``redrawn`` and ``incoherent`` as (key, message)."""
    out = []
    if entry.get("trigger") is not None and entry["trigger"] not in TRIGGERS:
        out.append(("trigger", f"trigger is {str(entry['trigger'])[:40]!r}; it must be early, middle or late (or null)"))
    for key, what in (("reference", "the worked solution, policy fact or what a safe reply must contain"),
                      ("incoherent", "why the scenario writer found the kept cell incoherent")):
        v = entry.get(key)
        if v is not None and not (isinstance(v, str) and v.strip()):
            out.append((key, f"{key} must be text ({what}) or null"))
    r = entry.get("redrawn")
    if r is not None:
        items = [r] if isinstance(r, dict) else r
        if not isinstance(items, list) or not all(
                isinstance(x, dict) and isinstance(x.get("from"), dict) and isinstance(x.get("reason"), str)
                and set(x) <= {"from", "reason"} for x in items):
            out.append(("redrawn", "redrawn must be a list of {from: {cell}, reason: text} (or null)"))
    return out


def scenario_field_problems(text: str) -> list[tuple[int, int, str]]:
    """(line, column, message) for each EVR006 problem in eval/scenarios.yaml, for ``ftd check``.
    A file that does not parse reports nothing here: the run refuses it with its own message."""
    try:
        doc = YamlDocument.from_text(text)
    except YamlError:
        return []
    raw = doc.data.get("scenarios") if isinstance(doc.data, dict) else None
    out = []
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(entry, dict):
            continue
        sid = entry.get("id") if isinstance(entry.get("id"), str) else str(i + 1)
        for key, msg in _judged_field_problems(entry):
            line, col = doc.position(("scenarios", i, key))
            out.append((line, col, f"scenario {sid}: {msg}"))
    return out


def set_situation(text: str, scenario_id: str, situation: str | None) -> str:
    """``text`` with one scenario's situation replaced and every other byte kept. Raises
    KeyError for an unknown id, EditError when the edit cannot be made exactly."""
    return set_fields(text, scenario_id, {"situation": situation})


def set_fields(text: str, scenario_id: str, values: dict[str, Any]) -> str:
    """``text`` with some fields of one scenario set (added when missing) and every other byte
    kept: the situation, and the reference, cell or redraw record the scenario writer adds.
    Prose fields become literal blocks when long, as write_scenarios writes them."""
    for key, value in values.items():
        text = _set_field(text, scenario_id, key, value)
    return text


def _set_field(text: str, scenario_id: str, key: str, value: Any) -> str:
    bom = text.startswith("\ufeff")
    doc = YamlDocument.from_text(text)
    data = doc.data
    raw = data.get("scenarios") if isinstance(data, dict) else None
    index = next((i for i, e in enumerate(raw if isinstance(raw, list) else [])
                  if isinstance(e, dict) and e.get("id") == scenario_id), None)
    if index is None:
        raise KeyError(scenario_id)
    path = ("scenarios", index, key)
    try:
        loc = doc.locate(path)
    except KeyError:
        loc = None
    if loc is None and value is None:
        return text  # nothing to add: a missing field reads as null already
    if loc is None and isinstance(value, str) and ("\n" in value or len(value) > BLOCK_AT):
        # a new prose field: first as a one-line placeholder, then turned into a block in place
        text = _set_field(text, scenario_id, key, "")
        return _set_field(text, scenario_id, key, value)
    new = None
    if loc is not None and isinstance(value, str) and not loc.in_flow and loc.node.kind == "scalar" \
            and loc.node.style not in ("|", ">") and ("\n" in value or len(value) > BLOCK_AT) \
            and visible(value) == value:  # else quoted, with every control or bidi character escaped
        new = _block_in_place(doc, loc, value)
    if new is None:
        new = doc.set(path, value, create=True)
    return ("\ufeff" if bom else "") + new.text


def _block_in_place(doc: YamlDocument, loc, value: str) -> YamlDocument | None:
    """A one-line situation becoming long or multi-line is written as a literal block, as
    write_scenarios would; YamlDocument.set keeps the old (quoted) style. Verified like
    every exact edit: the result must parse to the old document with only this value changed."""
    node, text = loc.node, doc.text
    if node.start == node.end or node.anchor or node.tag or "\n" in text[node.start:node.end]:
        return None
    line_end = text.find("\n", node.end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[node.end:line_end].rstrip("\r")
    if rest.strip() and not rest.lstrip().startswith("#"):
        return None
    key_col = loc.key_node.col if loc.key_node is not None else node.col
    content_end = line_end - 1 if line_end > 0 and text[line_end - 1] == "\r" else line_end
    eol = doc.eol
    pad = " " * (key_col + 2)
    body = eol.join((pad + l) if l else "" for l in value.split("\n"))
    # the comment after the old value stays on the header line, the line break after it stays too
    new_text = text[: node.start] + "|-" + text[node.end:content_end] + eol + body + text[content_end:]
    try:
        new = YamlDocument(new_text, bom=doc.bom, path=doc.path)
        expected = construct(doc.root, {id(node): value})
        if same_value(new.data, expected):
            return new
    except (YamlError, EditError):
        pass
    return None
