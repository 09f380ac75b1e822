"""base-model-eval-results.md: generated report sections and the human go / no-go decision."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ..rules.diagnostics import Diagnostic, make
from ..text.markdown import MarkdownDoc
from .common import Where, schema_errors, show

DECISIONS = ("proceed", "prompt-engineer-first", "stop")


class RunRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    inputs_hash: str


class Decision(BaseModel):
    model_config = ConfigDict(extra="ignore")
    decision: Literal["proceed", "prompt-engineer-first", "stop"]
    decided_by: str = Field(min_length=1)
    # hand-written reports often say `date:`; reading it spares a pointless error
    decided_at: dt.date | dt.datetime | str = Field(validation_alias=AliasChoices("decided_at", "date"))
    rationale: str = Field(min_length=1)
    run: str | None = None  # the run the person decided on (written by ftd decide / the app)


class EvalResults(BaseModel):
    model_config = ConfigDict(extra="ignore")
    run: RunRef | None = None
    recommendation: str | None = None
    decision: Decision | None = None


def check_eval_results(doc: MarkdownDoc, file: str, current_inputs_hash: str | None) -> tuple[dict, list[Diagnostic]]:
    """Returns facts for the gate ({'run', 'matches', 'recommendation', 'decision'}) and diagnostics."""
    facts: dict[str, Any] = {"run": None, "matches": False, "recommendation": None, "decision": None}
    if doc.front_matter_error is not None:
        e = doc.front_matter_error
        return facts, [make("EVR001", file, e.line, e.column, e.message)]
    if doc.front_matter is None:
        return facts, [make("EVR001", file, 1, 1, "no YAML front matter: the report is written by the baseline run")]
    data = doc.front_matter.data
    where = Where(doc.front_matter, file, line_offset=1)
    if not isinstance(data, dict):
        return facts, [make("EVR001", file, 2, 1, "front matter must be a mapping")]
    diags: list[Diagnostic] = []
    run = data.get("run")
    if isinstance(run, dict) and isinstance(run.get("inputs_hash"), str):
        facts["run"] = run.get("id")
        facts["matches"] = current_inputs_hash is not None and run["inputs_hash"] == current_inputs_hash
        if not facts["matches"]:
            diags.append(where.diag("EVR002", ("run",), f"run {show(run.get('id'))} was made with other artifacts than today's",
                                    "rerun the baseline: the rubric, prompts or settings changed since"))
    facts["recommendation"] = data.get("recommendation") if isinstance(data.get("recommendation"), str) else None
    decision = data.get("decision")
    if decision in (None, {}, ""):
        diags.append(where.diag("EVR003", ("decision",) if "decision" in data else (), "no human decision recorded yet",
                                "a person records proceed / prompt-engineer-first / stop, who, when and why", key=True))
    else:
        ok, errs = schema_errors(Decision, decision, where, "EVR004", ("decision",))
        diags.extend(errs)
        if ok is not None:
            if ok.run is not None and isinstance(run, dict) and ok.run != run.get("id"):
                facts["stale_decision"] = ok.run
                diags.append(where.diag("EVR005", ("decision", "run"),
                                        f"the decision was made on run {show(ok.run)}, but the report now shows run "
                                        f"{show(run.get('id'))}", "read the new results and decide again"))
            else:
                facts["decision"] = ok.decision
    return facts, diags
