"""The three prompts: user simulator, assistant (generator prompts) and the system prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..rules.diagnostics import Diagnostic, make
from ..text.markdown import MarkdownDoc
from .settings import Checks

USER_SIM_PLACEHOLDERS = ("persona", "flaw_patterns", "conversation_history", "exchange_number", "target_exchanges")
ASSISTANT_PLACEHOLDERS = ("system_prompt", "conversation_history", "user_message")
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|\{|\}")


@dataclass
class Placeholder:
    name: str
    line: int
    column: int


def scan_braces(text: str, first_line: int) -> tuple[list[Placeholder], list[tuple[int, int, str]]]:
    """Placeholders and lone braces, with 1-based file positions."""
    found: list[Placeholder] = []
    lone: list[tuple[int, int, str]] = []
    for lineno, line in enumerate(text.splitlines(), start=first_line):
        for m in _TOKEN.finditer(line):
            tok = m.group(0)
            if tok in ("{{", "}}"):
                continue
            if m.group(1):
                found.append(Placeholder(m.group(1), lineno, m.start() + 1))
            else:
                lone.append((lineno, m.start() + 1, tok))
    return found, lone


def render_template(template: str, values: dict[str, str]) -> str:
    """Substitute only the documented names; ``{{``/``}}`` become literal braces."""

    def sub(m: re.Match) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        if m.group(1) and m.group(1) in values:
            return values[m.group(1)]
        return tok

    return _TOKEN.sub(sub, template)


def generator_prompt_parts(doc: MarkdownDoc) -> dict[str, tuple[str, int] | None]:
    """{'system': (text, first_line), 'user': …} from the two fenced sections."""
    out: dict[str, tuple[str, int] | None] = {}
    for key, title in (("system", "System Prompt"), ("user", "User Prompt")):
        sec = doc.section(title)
        out[key] = (sec.blocks[0].content, sec.blocks[0].content_line) if sec and len(sec.blocks) == 1 else None
    return out


def _lessons(text: str) -> str:
    return text.lower()


def check_generator_prompt(doc: MarkdownDoc, file: str, kind: str) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    required = USER_SIM_PLACEHOLDERS if kind == "user_sim" else ASSISTANT_PLACEHOLDERS
    seen: dict[str, Placeholder] = {}
    for title in ("System Prompt", "User Prompt"):
        sec = doc.section(title)
        if sec is None:
            diags.append(make("PRM001", file, doc.body_line, 1, f"no '## {title}' section",
                              "the generator extracts exactly one fenced block from '## System Prompt' and '## User Prompt'"))
            continue
        if len(sec.blocks) != 1:
            diags.append(make("PRM001", file, sec.line, 1,
                              f"'## {title}' holds {len(sec.blocks)} fenced blocks; it must hold exactly one"))
        for block in sec.blocks[:1]:
            if not block.closed:
                diags.append(make("PRM001", file, block.line, 1, f"the fenced block in '## {title}' is never closed"))
            found, lone = scan_braces(block.content, block.content_line)
            for p in found:
                if p.name in required:
                    seen.setdefault(p.name, p)
                else:
                    diags.append(make("PRM003", file, p.line, p.column,
                                      f"{{{p.name}}} is not a placeholder of the {kind.replace('_', ' ')} prompt and stays as written",
                                      "known: " + ", ".join("{" + r + "}" for r in required) + "; write {{ }} for literal braces"))
            for line, col, tok in lone:
                diags.append(make("PRM004", file, line, col, f"lone '{tok}'", "write {{ or }} for a literal brace"))
    for name in required:
        if name not in seen and all(d.rule != "PRM001" or "section" not in d.message for d in diags):
            diags.append(make("PRM002", file, doc.body_line, 1, f"placeholder {{{name}}} is missing",
                              "without it the generator cannot pass this value to the model"))
    text = _lessons("".join(b.content for b in doc.blocks) + doc.body)
    line = doc.body_line
    if kind == "assistant":
        if not re.search(r"(1\.0|1)\s*[-–x×]\s*1\.5|1\.5\s*[x×]|length[- ]match|match(?:ing)? (?:the )?(?:user'?s? )?length", text):
            diags.append(make("PRM005", file, line, 1, "no length matching: target 1.0-1.5x the user's words, hard limit 2x"))
        if not re.search(r"tentative|i wonder|it sounds like|might|perhaps", text):
            diags.append(make("PRM006", file, line, 1, "no tentative language for interpretations (\"I wonder if…\" not \"You are…\")"))
        if not re.search(r"(?:at most|no more than|max(?:imum)?(?: of)?|only) (?:one|two|1|2|1-2|1–2|one or two)\s+questions?|questions? per (?:reply|response|turn)", text):
            diags.append(make("PRM007", file, line, 1, "no limit on questions per reply (at most 1-2)"))
        if not re.search(r"anti-?pattern|avoid (?:these|the following) phrases|phrases to avoid|never say|do not say|don't say", text):
            diags.append(make("PRM008", file, line, 1, "no explicit anti-pattern phrase list"))
    else:
        if not (re.search(r"\bearly\b", text) and re.search(r"\bmiddle\b|\bmid\b", text) and re.search(r"\blate\b|\bfinal\b|\bclosing\b", text)):
            diags.append(make("PRM009", file, line, 1, "no stage guidance (early <25% of turns / middle / late)"))
        if not re.search(r"non-?cooperat|resist|push ?back|disagree|deflect|not (?:always )?cooperat", text):
            diags.append(make("PRM010", file, line, 1, "no non-cooperation mix: simulated users who always cooperate teach nothing"))
        if not re.search(r"word limit|words?\b.{0,40}\b(?:limit|between|at most|range)|word count", text):
            diags.append(make("PRM011", file, line, 1, "the persona's word limits are not enforced in the prompt"))
    return diags


def system_prompt_text(doc: MarkdownDoc) -> tuple[str, int]:
    """The first fenced block, or the whole body when there is none."""
    if doc.blocks:
        return doc.blocks[0].content, doc.blocks[0].content_line
    return doc.body, doc.body_line


def check_system_prompt(doc: MarkdownDoc, file: str, checks: Checks) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    text, line = system_prompt_text(doc)
    words = len(text.split())
    if words == 0:
        diags.append(make("PRM013", file, line, 1, "the system prompt is empty"))
        return diags
    limit = checks.system_prompt_max_words
    if words > limit:
        diags.append(make("PRM012", file, line, 1,
                          f"the system prompt has {words} words; keep it near 100 (warned past {limit})",
                          "it is the first message of every training example: every word is paid for in every example"))
    found, _ = scan_braces(text, line)
    for p in found:
        diags.append(make("PRM014", file, p.line, p.column, f"{{{p.name}}} in the system prompt is trained verbatim, not substituted"))
    return diags
