"""The seven steps and "done" (spec §3), each passed or not, with its reason and next step."""

from __future__ import annotations

from dataclasses import dataclass

from .checks import CheckResult
from .diagnostics import Diagnostic
from ..project.project import BY_ID, Project


@dataclass(frozen=True)
class Gate:
    step: int  # 1-7, and 8 for "done"
    id: str
    name: str
    passed: bool
    reason: str
    next_step: str

    def as_json(self) -> dict:
        return {"step": self.step, "id": self.id, "name": self.name, "passed": self.passed,
                "reason": self.reason, "next_step": self.next_step}


def _errors(result: CheckResult, rel: str, prefixes: tuple[str, ...] = ()) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.file == rel and d.severity == "error"
            and (not prefixes or d.rule.startswith(prefixes))]


def _first(errs: list[Diagnostic]) -> str:
    d = errs[0]
    more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
    return f"{d.file}:{d.line}:{d.column} {d.message}{more}"


def _file_gate(project: Project, result: CheckResult, step: int, gid: str, name: str, artifact_ids: tuple[str, ...],
               fix_hint: str) -> Gate:
    missing = [BY_ID[a].path for a in artifact_ids if not project.files[a].exists]
    if missing:
        return Gate(step, gid, name, False, "missing: " + ", ".join(missing),
                    f"write {missing[0]} (ftd new DIR --template blank shows a commented template)")
    errs = [d for a in artifact_ids for d in _errors(result, project.files[a].rel)]
    if errs:
        return Gate(step, gid, name, False, f"{len(errs)} error(s)", f"fix {_first(errs)}")
    return Gate(step, gid, name, True, fix_hint, "")


def compute_gates(project: Project, result: CheckResult) -> list[Gate]:
    gates: list[Gate] = []
    f = result.facts
    # 1 base model
    g = _file_gate(project, result, 1, "model", "Base model chosen, tradeoffs documented", ("model-choice",),
                   f"chosen: {f.get('chosen')}")
    gates.append(g)
    # 2 token economics
    settings_rel = project.files["settings"].rel
    budget_errs = [d for d in _errors(result, settings_rel) if d.rule.startswith(("BUD", "SET001", "YML", "FIL"))]
    if "budget" not in f:
        gates.append(Gate(2, "budget", "Token budget fixed", False, "budget.max_transcript_tokens is not defined",
                          "set budget.max_transcript_tokens in ftd.yaml (16384 is the practical ceiling)"))
    elif budget_errs:
        gates.append(Gate(2, "budget", "Token budget fixed", False, budget_errs[0].message, f"fix {_first(budget_errs)}"))
    else:
        ctx = f.get("context_window")
        within = f"within the {ctx:,}-token context window" if ctx else "context window unknown (the chosen model is not among the candidates)"
        est = f.get("tokens")
        p95 = ""
        if est is not None:
            approx = "" if est.exact else "≈"
            p95 = f"; p95 conversation {approx}{est.transcript_tokens['p95']:,}"
        gates.append(Gate(2, "budget", "Token budget fixed", bool(ctx),
                          f"{f['budget']:,} tokens per example, {f['tier']}; {within}{p95}",
                          "" if ctx else "add the chosen model to model-choice.md candidates with its context_window"))
    # 3-5
    gates.append(_file_gate(project, result, 3, "taxonomy", "Weighted taxonomy with edge cases", ("taxonomy",), "weights and edge cases check out"))
    gates.append(_file_gate(project, result, 4, "rubric", "Binary rubric with calibration examples", ("rubric",), "criteria, gates and examples check out"))
    gates.append(_file_gate(project, result, 5, "personas", "Persona template with distributions", ("personas",), "styles, limits and flaw odds check out"))
    # 6 prompts
    gates.append(_file_gate(project, result, 6, "prompts", "All three prompts drafted", ("user-sim", "assistant", "system-prompt"),
                            "placeholders and sections check out"))
    # 7 baseline
    ev = f.get("eval") or {}
    if not project.files["eval-results"].exists or not ev.get("run"):
        gates.append(Gate(7, "baseline", "Base model evaluated, decision documented", False, "untested: no baseline run yet",
                          "run the baseline evaluation of the base model against the rubric (`ftd baseline`, F5 in the app)"))
    elif not ev.get("matches"):
        gates.append(Gate(7, "baseline", "Base model evaluated, decision documented", False,
                          f"run {ev['run']} was made with other artifacts than today's", "rerun the baseline on the current artifacts"))
    elif not ev.get("recommendation"):
        gates.append(Gate(7, "baseline", "Base model evaluated, decision documented", False, "the report has no recommendation",
                          "rerun the baseline report"))
    elif not ev.get("decision") and ev.get("stale_decision"):
        gates.append(Gate(7, "baseline", "Base model evaluated, decision documented", False,
                          f"the decision was made on run {ev['stale_decision']}, not on the run the report shows",
                          "read the new results and record the decision again (`ftd decide`, or d on the results screen)"))
    elif not ev.get("decision"):
        gates.append(Gate(7, "baseline", "Base model evaluated, decision documented", False,
                          f"recommendation: {ev['recommendation']}; no human decision yet",
                          "record the decision (proceed / prompt-engineer-first / stop), who, when and why in base-model-eval-results.md"))
    else:
        gates.append(Gate(7, "baseline", "Base model evaluated, decision documented", True,
                          f"decision: {ev['decision']} (recommended: {ev['recommendation']})", ""))
    # done
    open_steps = [x for x in gates if not x.passed]
    open_critiques = [s for s in result.critiques.values() if not s.dispositioned or s.stale]
    if open_steps or open_critiques:
        if open_steps:
            reason = f"{len(open_steps)} step(s) open"
            nxt = f"step {open_steps[0].step}: {open_steps[0].next_step}"
        else:
            reason = "expert critiques not dispositioned"
            nxt = ""
        if open_critiques:
            reason += "; critiques: " + ", ".join(f"{s.unit} ({s.reason})" for s in open_critiques)
            if not nxt:
                s = open_critiques[0]
                nxt = f"run the expert critique of the {s.unit} and decide its proposals"
        gates.append(Gate(8, "done", "Design phase done", False, reason, nxt))
    else:
        gates.append(Gate(8, "done", "Design phase done", True, "every gate passed and every critique dispositioned",
                          "start the generation phase"))
    return gates


def next_action(gates: list[Gate]) -> str:
    for g in gates:
        if not g.passed:
            return f"Step {g.step} ({g.name}): {g.next_step}" if g.step <= 7 else f"Done: {g.next_step}"
    return "All gates passed: start the generation phase."
