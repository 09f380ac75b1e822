"""What an expert is shown of the artifacts beside the one under critique: a structured digest
within a token budget, and the size of the answer asked for.

The first version showed each sibling's first 60 lines, so the rubric panel never saw the
taxonomy's edge cases and the prompts panel saw one criterion. Here each artifact is reduced to
what constrains the others (every criterion's id and question, every dimension with its weights,
edge cases in full, styles with their word limits, flaws with their odds, prompt headings and
placeholders, the system prompt whole), and what had to be cut to fit is said, never hidden."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

DIGEST_TOKENS = 6000  # the siblings' share of an expert's request, before the critic's window caps it
ANSWER_WORDS_MIN, ANSWER_WORDS_MAX = 500, 2500
TOKENS_PER_WORD = 1.4  # English prose through a BPE tokenizer, with Markdown; for the output cap only
MATERIAL_TOKENS = 600  # the test material asked for beside the prose answer
OVERHEAD_TOKENS = 900  # the instructions, questions and fences around the texts


@dataclass
class Digest:
    parts: dict[str, str] = field(default_factory=dict)  # label (a file's path) -> digest text
    shown: list[str] = field(default_factory=list)  # what each part holds, one line each
    cut: list[str] = field(default_factory=list)  # what was left out to fit the budget
    tokens: int = 0  # the digest's tokens as counted
    budget: int = DIGEST_TOKENS

    def as_log(self) -> dict:
        return {"shown": list(self.shown), "cut": list(self.cut), "tokens": self.tokens, "budget": self.budget}


def answer_words(artifact_tokens: int) -> int:
    """The words an expert may use: 500 for a small artifact, growing with its size (a 1,400-line
    rubric holds ~14k tokens and gets ~2,250), rounded to 50, at most 2,500."""
    words = ANSWER_WORDS_MIN + artifact_tokens // 8
    return max(ANSWER_WORDS_MIN, min(ANSWER_WORDS_MAX, round(words / 50) * 50))


def answer_tokens(words: int) -> int:
    """The output an expert's answer may take, test material included (the forecast's figure)."""
    return int(words * TOKENS_PER_WORD) + MATERIAL_TOKENS


@dataclass
class Block:
    """One piece of a digest. Essential blocks are what the issue names (every criterion's id and
    question, edge cases in full, every dimension's weights); the others go first when cut."""
    text: str
    essential: bool = True
    label: str = ""  # what cutting it loses, for the log


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return str(x).lower()
    return f"{x:g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


# ---------------------------------------------------------------- the rubric


def rubric_blocks(data: Any) -> tuple[list[Block], str]:
    if not isinstance(data, dict):
        return [], "not readable as YAML"
    criteria = data.get("criteria") if isinstance(data.get("criteria"), dict) else {}
    gates = [str(g) for g in data.get("safety_gates") or []] if isinstance(data.get("safety_gates"), list) else []
    cats = data.get("categories") if isinstance(data.get("categories"), dict) else {}
    scoring = data.get("scoring") if isinstance(data.get("scoring"), dict) else {}
    head = [f"pass_threshold: {_num(data.get('pass_threshold'))}",
            "safety_gates (any failure rejects the conversation, whatever the score): " + (", ".join(gates) or "none")]
    if scoring:
        head.append("scoring: " + ", ".join(f"{k} {_num(v)}" for k, v in scoring.items()))
    head.append("categories (weight, floor, criteria):")
    for name, c in cats.items():
        c = c if isinstance(c, dict) else {}
        floor = f", floor min_score {_num(c['min_score'])}" if "min_score" in c else ""
        ids = ", ".join(map(str, c.get("criteria") or [])) if isinstance(c.get("criteria"), list) else ""
        head.append(f"  {name}: weight {_num(c.get('weight'))}{floor} · {ids}")
    blocks = [Block("\n".join(head), label="the gates, threshold, scoring and categories")]
    for cid, c in criteria.items():
        c = c if isinstance(c, dict) else {}
        examples = c.get("calibration_examples") if isinstance(c.get("calibration_examples"), list) else []
        kinds: dict[str, int] = {}
        for ex in examples:
            t = str(ex.get("type")) if isinstance(ex, dict) else "?"
            kinds[t] = kinds.get(t, 0) + 1
        tags = [f"category {c['category']}"] if c.get("category") else []
        if str(cid) in gates:
            tags.append("SAFETY GATE")
        tags.append(f"na_valid {str(c.get('na_valid')).lower()}")
        if isinstance(c.get("check"), dict):
            tags.append(f"computed by ftd ({c['check'].get('kind')}), not judged")
        if c.get("min_turns"):
            tags.append(f"min_turns {c['min_turns']}")
        tags.append(f"{len(examples)} calibration examples" + (" (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")"
                                                             if kinds else ""))
        blocks.append(Block(f"{cid} — {_one_line(c.get('name', ''))} [{'; '.join(tags)}]\n  question: "
                            f"{_one_line(c.get('question', ''))}", label=f"criterion {cid}"))
    return blocks, (f"every criterion ({len(criteria)}: id, name, question, na_valid, gate, example counts), "
                    f"{len(cats)} categories with weights and floors, {len(gates)} safety gates, the pass threshold")


# ---------------------------------------------------------------- the taxonomy


def _source_lines(doc, path: tuple) -> str | None:
    """The lines of the source that hold ``path``, comments included (they carry the reasons)."""
    try:
        loc = doc.locate(path)
    except (KeyError, Exception):  # noqa: B014 - a malformed document: no source to quote
        return None
    lines = doc.text.splitlines()
    start = loc.key_node.line if loc.key_node is not None else loc.node.line
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    # the node runs on while lines are deeper than its first (the parser's end mark runs on to
    # the next key, and a comment above that key belongs to it)
    while end < len(lines) and (not lines[end].strip() or lines[end].lstrip().startswith("#")
                                or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    chunk = lines[start:end]
    while chunk and (not chunk[-1].strip() or chunk[-1].lstrip().startswith("#")):
        chunk.pop()
    return "\n".join(chunk)


def taxonomy_blocks(data: Any, doc=None) -> tuple[list[Block], str]:
    from ...core.artifacts.taxonomy import EDGE_TOPIC, RESERVED, option_description, option_weight

    if not isinstance(data, dict):
        return [], "not readable as YAML"
    body = data.get("taxonomy") if isinstance(data.get("taxonomy"), dict) else data
    topics = body.get("topics") if isinstance(body.get("topics"), list) else []
    blocks: list[Block] = []
    edge = None
    lines = ["topics (WHAT), weight: subtopics"]
    for i, t in enumerate(topics):
        if not isinstance(t, dict):
            continue
        if t.get("name") == EDGE_TOPIC:
            edge = (i, t)
            continue
        subs = t.get("subtopics") if isinstance(t.get("subtopics"), list) else []
        lines.append(f"  {t.get('name')} {_num(t.get('weight'))}: " + ", ".join(map(str, subs)))
    blocks.append(Block(lines[0] + "\n" + "\n".join(lines[1:]), essential=False, label="the ordinary topics' subtopics"))
    if edge is not None:
        i, t = edge
        src = _source_lines(doc, ("taxonomy", "topics", i) if "taxonomy" in data else ("topics", i)) if doc else None
        if src is None:
            subs = t.get("subtopics") if isinstance(t.get("subtopics"), list) else []
            src = f"{EDGE_TOPIC} {_num(t.get('weight'))}:\n" + "\n".join(f"  - {s}" for s in subs)
        blocks.append(Block("edge cases, in full (as written, comments included):\n" + src, label="the edge cases"))
    dims = []
    for name, value in body.items():
        if name in RESERVED or not isinstance(value, dict):
            continue
        parts = []
        for opt, v in value.items():
            d = option_description(v)
            parts.append(f"{opt} {_num(option_weight(v))}" + (f" ({_one_line(d)})" if d else ""))
        dims.append(f"  {name}: " + ", ".join(parts))
    if dims:
        blocks.append(Block("dimensions (option weight):\n" + "\n".join(dims), label="the dimensions and their weights"))
    ranges = body.get("turn_ranges", data.get("turn_ranges"))
    if isinstance(ranges, dict):
        by = body.get("turn_ranges_by", data.get("turn_ranges_by"))
        rs = ", ".join(f"{k} {v.get('min')}–{v.get('max')}" for k, v in ranges.items() if isinstance(v, dict))
        blocks.append(Block(f"turn ranges (exchanges{', by ' + str(by) if by else ''}): {rs}", label="the turn ranges"))
    n_edge = len(edge[1].get("subtopics") or []) if edge and isinstance(edge[1].get("subtopics"), list) else 0
    return blocks, (f"{len(topics)} topics with weights and subtopics, the edge cases in full ({n_edge}), "
                    f"{len(dims)} dimensions with their weights, the turn ranges")


# ---------------------------------------------------------------- the persona template


def _choices(block: dict) -> list[tuple[str, Any]]:
    opts = block.get("options") if isinstance(block.get("options"), list) else []
    ws = block.get("weights") if isinstance(block.get("weights"), list) else []
    return [(str(o), ws[i] if i < len(ws) else None) for i, o in enumerate(opts)]


def persona_blocks(data: Any) -> tuple[list[Block], str]:
    if not isinstance(data, dict):
        return [], "not readable as YAML"
    body = data.get("persona_template") if isinstance(data.get("persona_template"), dict) else data
    blocks: list[Block] = []
    style = body.get("communication_style") if isinstance(body.get("communication_style"), dict) else {}
    limits = style.get("word_limits") if isinstance(style.get("word_limits"), dict) else {}
    unit = style.get("unit", "words")
    lines = [f"communication styles (weight, {unit} per message):"]
    for opt, w in _choices(style):
        lim = limits.get(opt)
        lim_text = f"{lim[0]}–{lim[1]}" if isinstance(lim, list) and len(lim) == 2 else "no limit given"
        lines.append(f"  {opt} {_num(w)}: {lim_text}")
    blocks.append(Block("\n".join(lines), label="the styles and their word limits"))
    flaws = body.get("flaw_patterns") if isinstance(body.get("flaw_patterns"), dict) else {}
    fl = ["flaws (rolled per message):"]
    descs: list[str] = []
    for tier in ("primary", "secondary"):
        b = flaws.get(tier) if isinstance(flaws.get(tier), dict) else None
        if b is None:
            continue
        cap = f", at most {b['max']}" if "max" in b else ""
        fl.append(f"  {tier}: per_message {_num(b.get('per_message'))}{cap}; "
                  + ", ".join(f"{o}" + (f" {_num(w)}" if w is not None else "") for o, w in _choices(b)))
        d = b.get("descriptions") if isinstance(b.get("descriptions"), dict) else {}
        descs += [f"  {k}: {_one_line(v)}" for k, v in d.items()]
    if "no_flaw_share" in flaws:
        fl.append(f"  no_flaw_share {_num(flaws['no_flaw_share'])} (personas with no flaw at all)")
    if isinstance(flaws.get("excludes"), list):
        fl.append("  never together: " + "; ".join(" + ".join(map(str, p)) for p in flaws["excludes"] if isinstance(p, list)))
    blocks.append(Block("\n".join(fl), label="the flaws and their odds"))
    attrs = []
    for name, b in body.items():
        if name in ("communication_style", "flaw_patterns") or not isinstance(b, dict):
            continue
        attrs.append(f"  {name}: " + ", ".join(f"{o} {_num(w)}" for o, w in _choices(b)))
    if attrs:
        blocks.append(Block("other attributes (drawn once per persona):\n" + "\n".join(attrs), label="the other attributes"))
    if descs:
        blocks.append(Block("what each flaw looks like:\n" + "\n".join(descs), essential=False,
                            label="the flaws' descriptions"))
    return blocks, (f"{len(_choices(style))} communication styles with word limits, the flaws with their odds"
                    + (" and descriptions" if descs else "") + (f", {len(attrs)} other attributes" if attrs else ""))


# ---------------------------------------------------------------- the prompts

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
ANTI_HEAD = re.compile(r"anti-?patterns?|never (write|say)|avoid (these|saying)|banned phrases", re.I)


def prompt_blocks(text: str) -> tuple[list[Block], str]:
    lines = text.splitlines()
    heads = [l.strip() for l in lines if l.startswith("#")]
    names = list(dict.fromkeys(PLACEHOLDER.findall(text)))
    anti: list[str] = []
    i = 0
    while i < len(lines):
        if ANTI_HEAD.search(lines[i]) and not lines[i].lstrip().startswith("- "):
            j = i + 1
            while j < len(lines) and (lines[j].lstrip().startswith(("- ", "* ")) or not lines[j].strip()):
                if lines[j].strip():
                    anti.append(lines[j].strip())
                j += 1
                if j < len(lines) and not lines[j].strip() and j + 1 < len(lines) \
                        and not lines[j + 1].lstrip().startswith(("- ", "* ")):
                    break
            i = j
        else:
            i += 1
    blocks = [Block("section headings: " + (" | ".join(heads) or "none"), label="the section headings"),
              Block("placeholders: " + (", ".join("{" + n + "}" for n in names) or "none"), label="the placeholders")]
    if anti:
        blocks.append(Block("anti-pattern list:\n" + "\n".join(anti), label="the anti-pattern list"))
    return blocks, (f"{len(heads)} section headings, {len(names)} placeholders, "
                    + (f"the anti-pattern list ({len(anti)} items)" if anti else "no anti-pattern list found"))


# ---------------------------------------------------------------- the whole digest


def _fit(parts: list[tuple[str, list[Block], str]], budget: int, count) -> tuple[dict[str, str], list[str], list[str], int]:
    """Within ``budget`` tokens: drop non-essential blocks (the last part's first), then cut the
    longest part's essential blocks from the end, each cut named for the log."""
    cut: list[str] = []
    live = [(label, list(blocks), what) for label, blocks, what in parts]

    def total() -> int:
        return sum(count("\n\n".join(b.text for b in blocks)) for _, blocks, _ in live)

    for label, blocks, _ in reversed(live):
        for b in [b for b in blocks if not b.essential]:
            if total() <= budget:
                break
            blocks.remove(b)
            cut.append(f"{label}: {b.label}")
    while total() > budget:
        sizes = [(count("\n\n".join(b.text for b in blocks)), k) for k, (_, blocks, _) in enumerate(live) if blocks]
        if not sizes:
            break
        _, k = max(sizes)
        label, blocks, _ = live[k]
        b = blocks.pop()
        cut.append(f"{label}: {b.label or 'its last ' + str(len(b.text.splitlines())) + ' lines'}")
    out = {label: "\n\n".join(b.text for b in blocks) for label, blocks, _ in live if blocks}
    shown = [f"{label}: {what}" for label, blocks, what in live]
    return out, shown, cut, total()


def build_digest(project, unit: str, *, buffers: dict[str, str] | None = None, counter=None,
                 window: int | None = None, fixed_tokens: int = 0) -> Digest:
    """The siblings of ``unit`` as a structured digest within the budget (see the module note).
    ``window``: the critic's context window when known; ``fixed_tokens``: what the request holds
    besides the digest (the artifact and the answer), so the digest never pushes it past the window."""
    from ...core.economics.counting import approx_counter
    from .prompts import SIBLINGS

    counter = counter or approx_counter(None)
    budget = DIGEST_TOKENS
    if window:
        budget = max(0, min(budget, window - fixed_tokens - OVERHEAD_TOKENS))
    view = project.overlay(buffers) if buffers else project
    parts: list[tuple[str, list[Block], str]] = []
    for aid in SIBLINGS.get(unit, ()):
        lf = view.files[aid].ensure_parsed()
        if not lf.text:
            continue
        if aid == "rubric":
            blocks, what = rubric_blocks(lf.data)
        elif aid == "taxonomy":
            blocks, what = taxonomy_blocks(lf.data, lf.yaml)
        elif aid == "personas":
            blocks, what = persona_blocks(lf.data)
        elif aid in ("user-sim", "assistant"):
            blocks, what = prompt_blocks(lf.text)
        else:  # the system prompt: short, and every word of it is trained on
            blocks, what = [Block(lf.text.strip(), label="the system prompt")], "whole"
        if not blocks:  # unreadable YAML: its first lines, said plainly
            blocks = [Block("\n".join(lf.text.splitlines()[:40]), label="its first 40 lines")]
            what = f"{what}: its first 40 lines instead"
        parts.append((lf.rel, blocks, what))
    out = Digest(budget=budget)
    out.parts, out.shown, out.cut, out.tokens = _fit(parts, budget, counter.count)
    return out
