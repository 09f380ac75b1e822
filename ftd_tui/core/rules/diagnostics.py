"""Diagnostics: what is wrong, where, and how sure we are. Every rule has a stable id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# findings shown per file by `ftd check` (text) and the app's findings pane; past this a
# count line stands for the rest, so a file with 50,000 unknown keys is read in seconds
SHOWN_PER_FILE = 50


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    title: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    rule: str
    severity: Severity
    file: str  # relative to the project root, with forward slashes
    line: int  # 1-based
    column: int  # 1-based
    message: str
    hint: str = ""

    def as_json(self) -> dict:
        out = {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }
        if self.hint:
            out["hint"] = self.hint
        return out


_RULES: list[Rule] = [
    # files and YAML
    Rule("FIL001", "error", "a required artifact is missing"),
    Rule("FIL002", "error", "file too large to read"),
    Rule("FIL003", "error", "file is not UTF-8 text"),
    Rule("FIL004", "info", "artifact found at an accepted alias path"),
    Rule("FIL005", "error", "file is empty"),
    Rule("FIL006", "error", "file cannot be read (permissions, a folder in its place)"),
    Rule("FIL007", "error", "file resolves outside the project (a symlink out): not read"),
    Rule("FIL008", "error", "not a regular file (a FIFO, a device, a socket): not read"),
    Rule("YML001", "error", "YAML syntax error"),
    Rule("YML002", "error", "more than one YAML document in a file"),
    Rule("YML003", "error", "unsafe or unknown YAML tag (refused, never constructed)"),
    Rule("YML004", "error", "alias expansion beyond the node budget (alias bomb), or an alias inside the node it names"),
    Rule("YML005", "error", "duplicate mapping key"),
    Rule("YML006", "error", "merge keys (<<) are not supported"),
    Rule("YML007", "error", "the document's top level is not a mapping"),
    Rule("YML008", "error", "nesting deeper than 100 levels (aliases counted where they are used)"),
    Rule("YML009", "error", "a mapping key that is null, a collection or an alias to one"),
    Rule("KEY001", "warning", "unknown key (with a did-you-mean)"),
    Rule("KEY002", "error", "unknown argument in a model role (only a short list is allowed)"),
    # settings (ftd.yaml)
    Rule("SET001", "error", "ftd.yaml value has the wrong type or is out of range"),
    Rule("SET002", "warning", "model role sends project text to a non-default, non-local endpoint"),
    Rule("SET003", "warning", "model role reads its key from a non-standard variable"),
    Rule("SET004", "error", "api_key_env must name an environment variable, never hold a key"),
    Rule("SET005", "error", "deployment.offline is true but a role's endpoint is not on this machine or LAN"),
    Rule("SET006", "error", "base role uses litellm's prompt-formatting ollama/ route instead of a chat endpoint"),
    Rule("SET007", "warning", "fewer than two judges configured"),
    Rule("SET008", "warning", "a judge shares a model family with the base model or the user simulator"),
    Rule("SET009", "warning", "ftd.yaml base_model disagrees with model-choice.md chosen"),
    Rule("SET010", "info", "a model role is not configured yet"),
    Rule("SET011", "error", "a threshold override is inconsistent (min above max, outside 0..1)"),
    Rule("SET012", "error", "a knowledge file is missing or outside the project"),
    Rule("SET013", "warning", "a provider's key is sent to an endpoint that is not the provider's"),
    # step 1: model choice
    Rule("MOD001", "error", "model-choice.md has no YAML front matter"),
    Rule("MOD002", "error", "front matter value has the wrong type"),
    Rule("MOD003", "error", "no chosen model"),
    Rule("MOD004", "error", "a candidate lacks a factor the gate needs"),
    Rule("MOD005", "warning", "the chosen model looks like a base (not instruction-tuned) variant"),
    Rule("MOD006", "warning", "the chosen model is not among the candidates"),
    Rule("MOD007", "error", "no deployment target stated"),
    Rule("MOD008", "warning", "the body holds no prose on tradeoffs"),
    Rule("MOD009", "warning", "training memory at the budget exceeds the hardware stated in ftd.yaml"),
    # step 2: token budget
    Rule("BUD001", "error", "budget.max_transcript_tokens is not defined"),
    Rule("BUD002", "error", "the budget exceeds the chosen model's context window"),
    Rule("BUD003", "warning", "the budget is in an expensive tier (over 16K tokens)"),
    Rule("BUD004", "error", "the p95 conversation exceeds the budget (a warning with budget.slicing)"),
    Rule("BUD005", "info", "token counts are approximate: the model's own tokenizer is not on this machine"),
    # step 3: taxonomy
    Rule("TAX001", "error", "taxonomy value has the wrong type or shape"),
    Rule("TAX002", "error", "topic weights do not sum to 1.0"),
    Rule("TAX003", "error", "a dimension's weights do not sum to 1.0"),
    Rule("TAX004", "error", "no edge_cases topic"),
    Rule("TAX005", "warning", "edge-case share outside its band (default 10-20%)"),
    Rule("TAX006", "warning", "a topic has no subtopics"),
    Rule("TAX007", "error", "turn ranges are inconsistent with their dimension or with themselves"),
    Rule("TAX008", "warning", "no turn ranges: conversation length is undefined"),
    Rule("TAX009", "warning", "too few dimensions (WHAT / HOW / WHO + difficulty)"),
    Rule("TAX010", "warning", "no difficulty dimension"),
    Rule("TAX011", "error", "a weight is negative"),
    Rule("TAX012", "error", "duplicate topic name"),
    Rule("TAX013", "error", "a dimension option written as a mapping is not {weight: number, description: text}"),
    # step 4: rubric
    Rule("RUB001", "error", "rubric value has the wrong type or shape"),
    Rule("RUB002", "error", "category weights do not sum to 1.0"),
    Rule("RUB003", "error", "too few calibration examples"),
    Rule("RUB004", "warning", "more calibration examples than the recommended maximum"),
    Rule("RUB005", "error", "no PASS-side calibration example"),
    Rule("RUB006", "error", "no FAIL-side calibration example"),
    Rule("RUB007", "error", "NA example on a criterion where NA is not valid"),
    Rule("RUB008", "warning", "NA is valid but no NA example shows when"),
    Rule("RUB009", "error", "question phrased as a numeric scale, not YES / NO"),
    Rule("RUB010", "error", "a safety gate names an undefined criterion"),
    Rule("RUB011", "error", "a category names an undefined criterion"),
    Rule("RUB012", "error", "a criterion's category disagrees with the category's list"),
    Rule("RUB013", "error", "a criterion is in no category and is not a gate: it is never scored"),
    Rule("RUB014", "error", "a category holding only gates has a non-zero weight"),
    Rule("RUB015", "warning", "no safety gates"),
    Rule("RUB016", "error", "pass_threshold missing or outside (0, 1]"),
    Rule("RUB017", "info", "machine-suggested examples await review and do not count yet"),
    Rule("RUB018", "warning", "a calibration example is too short to anchor a judge"),
    Rule("RUB019", "error", "a criterion is listed in two categories"),
    Rule("RUB020", "warning", "a question is not phrased as a yes/no question"),
    Rule("RUB021", "warning", "a calibration example has no reasoning"),
    Rule("RUB022", "warning", "a non-gate category holds no criteria"),
    Rule("RUB023", "error", "a computed criterion's check has an unknown kind, or a missing or wrong field"),
    Rule("RUB024", "error", "a check's regex does not compile, or may backtrack catastrophically"),
    Rule("RUB025", "error", "a category's min_score is outside 0..1, or the category scores nothing"),
    Rule("RUB026", "info", "slack: how many non-gate failures still pass the threshold"),
    # step 5: personas
    Rule("PER001", "error", "persona template value has the wrong type or shape"),
    Rule("PER002", "error", "options and weights have different lengths"),
    Rule("PER003", "error", "weights do not sum to 1.0"),
    Rule("PER004", "error", "a communication style has no word limits"),
    Rule("PER005", "error", "a word limit is not [min, max] with 0 < min <= max"),
    Rule("PER006", "warning", "flaw-free persona share outside its band (default 15-25%)"),
    Rule("PER007", "error", "a per-message probability is outside 0..1"),
    Rule("PER008", "warning", "a communication difference is modelled as a persona flaw"),
    Rule("PER009", "warning", "word limits or descriptions for an option that does not exist"),
    Rule("PER010", "error", "communication_style or flaw_patterns missing"),
    Rule("PER011", "error", "an excludes pair names a flaw that is not in flaw_patterns"),
    Rule("PER012", "error", "an excludes entry is not a pair of two different flaws"),
    # step 6: prompts
    Rule("PRM001", "error", "a required prompt section or its fenced block is missing"),
    Rule("PRM002", "error", "a required placeholder is missing"),
    Rule("PRM003", "warning", "unknown placeholder (only the documented names are substituted)"),
    Rule("PRM004", "warning", "a lone brace: write {{ or }} for a literal brace"),
    Rule("PRM005", "warning", "assistant prompt does not state length matching (1.0-1.5x, hard 2x)"),
    Rule("PRM006", "warning", "assistant prompt does not ask for tentative language"),
    Rule("PRM007", "warning", "assistant prompt does not limit questions per reply"),
    Rule("PRM008", "warning", "assistant prompt has no anti-pattern phrase list"),
    Rule("PRM009", "warning", "user simulator prompt lacks stage guidance (early / middle / late)"),
    Rule("PRM010", "warning", "user simulator prompt lacks a non-cooperation mix"),
    Rule("PRM011", "warning", "user simulator prompt does not enforce word limits"),
    Rule("PRM012", "warning", "system prompt longer than recommended"),
    Rule("PRM013", "error", "system prompt is empty"),
    Rule("PRM014", "warning", "system prompt holds a placeholder; it is baked into training data verbatim"),
    # step 7: baseline report
    Rule("EVR001", "error", "base-model-eval-results.md front matter unreadable"),
    Rule("EVR002", "warning", "the report's run does not match the current artifacts"),
    Rule("EVR003", "info", "no human decision recorded yet"),
    Rule("EVR004", "error", "decision is not proceed, prompt-engineer-first or stop, or lacks who / why"),
    Rule("EVR005", "warning", "the decision was made on an earlier run than the one the report shows"),
    Rule("EVR006", "error", "eval/scenarios.yaml: a scenario's trigger, reference or redrawn value is malformed"),
    # critiques
    Rule("EXP001", "warning", "critiques/experts.yaml missing: no panels for the expert critique"),
    Rule("EXP002", "error", "experts.yaml value has the wrong type or shape"),
    Rule("EXP003", "error", "an expert is not labelled fictional"),
    Rule("EXP004", "warning", "a panel has fewer than 5 or more than 7 experts"),
    Rule("EXP005", "warning", "a panel lacks a required kind of expert"),
    Rule("EXP006", "warning", "a panel has no fictional difficult users"),
    Rule("CRT001", "error", "a critique log cannot be read"),
]

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def make(rule: str, file: str, line: int, column: int, message: str, hint: str = "", severity: Severity | None = None) -> Diagnostic:
    return Diagnostic(rule, severity or RULES[rule].severity, file, line, column, message, hint)


def per_file_shown(diags: list[Diagnostic], limit: int = SHOWN_PER_FILE) -> tuple[list[Diagnostic], dict[str, dict[str, int]]]:
    """At most ``limit`` findings of each file, in the order given, and per file the severity
    counts of the rest. Where a file has more, its errors are kept first (then warnings, then
    info), so a capped list never hides an error behind warnings; the counts stay exact."""
    by_file: dict[str, list[int]] = {}
    for i, d in enumerate(diags):
        by_file.setdefault(d.file, []).append(i)
    keep: set[int] = set()
    hidden: dict[str, dict[str, int]] = {}
    for file, idx in by_file.items():
        if len(idx) <= limit:
            keep.update(idx)
            continue
        ranked = sorted(idx, key=lambda i: SEVERITY_ORDER[diags[i].severity])  # stable: position order within a severity
        keep.update(ranked[:limit])
        counts = hidden[file] = {}
        for i in ranked[limit:]:
            counts[diags[i].severity] = counts.get(diags[i].severity, 0) + 1
    return [d for i, d in enumerate(diags) if i in keep], hidden


def more_findings(counts: dict[str, int], how: str = "ftd check --all shows them") -> str:
    """The line that stands for the findings a capped list leaves out."""
    total = sum(counts.values())
    errors = counts.get("error", 0)
    of_which = f", {errors:,} of them error{'s' if errors != 1 else ''}" if errors else ""
    return f"… and {total:,} more finding{'s' if total != 1 else ''} in this file{of_which} ({how})"


def sort_key(d: Diagnostic) -> tuple:
    return (d.file, d.line, d.column, SEVERITY_ORDER[d.severity], d.rule)
