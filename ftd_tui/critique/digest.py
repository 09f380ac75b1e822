"""What an expert is shown of the artifacts beside the one under critique: a structured digest
within a token budget, and the size of the answer asked for.

The first version showed each sibling's first 60 lines, so the rubric panel never saw the
taxonomy's edge cases and the prompts panel saw one criterion. Here each artifact is reduced to
what constrains the others (every criterion's id and question, every dimension with its weights,
edge cases in full, styles with their word limits, flaws with their odds, prompt headings and
placeholders, the system prompt whole), and what had to be cut to fit is said, never hidden."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def build_digest(project, unit: str, *, buffers: dict[str, str] | None = None, counter=None,
                 window: int | None = None, fixed_tokens: int = 0) -> Digest:
    """The siblings of ``unit`` as a structured digest within the budget (see the module note).
    ``window``: the critic's context window when known; ``fixed_tokens``: what the request holds
    besides the digest (the artifact and the answer), so the digest never pushes it past the window."""
    from .prompts import SIBLINGS

    budget = DIGEST_TOKENS
    if window:
        budget = max(0, min(budget, window - fixed_tokens - OVERHEAD_TOKENS))
    buffers = buffers or {}
    out = Digest(budget=budget)
    for aid in SIBLINGS.get(unit, ()):
        lf = project.files[aid]
        text = buffers.get(aid, lf.text)
        if text:
            lines = text.splitlines()
            out.parts[lf.rel] = "\n".join(lines[:60])
            out.shown.append(f"{lf.rel}: its first 60 lines")
    if counter is not None:
        out.tokens = sum(counter.count(t) for t in out.parts.values())
    return out
