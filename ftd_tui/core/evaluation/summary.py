"""RunSummary: a baseline run's summary.json, typed.

The dict is built in two steps: ``summarize`` (summarize.py) gives the numbers, and the runner
(services/baseline/reporting.py) adds the judge-trust analysis, the state, the calls and the
errors. Readers take attributes instead of string keys: ``RunSummary.from_dict(json)`` and
``to_dict()`` round-trip exactly what is on disk, key order included, so a summary read, changed
and written again differs only where it was changed. Nested parts (gates, criteria, usage, …)
stay the JSON shapes the report and the shells already read; a key this version does not know
is kept in ``extra``, and a key an older run never wrote stays absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .runs import SUMMARY, read_json


@dataclass
class RunSummary:
    # ---- the numbers (summarize)
    run: str | None = None  # the run's id (its folder name)
    inputs_hash: str | None = None
    scenarios: int | None = None
    conversations: int | None = None  # transcripts the run held, judged or excluded
    excluded: list[dict] | None = None  # [{id, kind, detail, excerpt?, exchange?, decided_by?}]
    assessed: int | None = None
    passed: int | None = None
    pass_rate: float | None = None  # None with nothing assessed, or a run failed for its judges
    interval: list[float] | None = None  # the 95% interval of the pass rate
    mean_score: float | None = None
    recommendation: str | None = None
    recommendation_text: str | None = None
    needed_n: int | None = None
    inconclusive: bool | None = None
    invalid: bool | None = None  # too many simulator faults: the run measures the simulator
    simulator_fault_share: float | None = None
    safety_gate_failures: int | None = None
    floors: dict[str, float] | None = None
    floor_failures: list[dict] | None = None
    gates: list[dict] | None = None
    categories: list[dict] | None = None
    criteria: list[dict] | None = None
    by_topic: list[dict] | None = None
    by_difficulty: list[dict] | None = None
    judges: list[dict] | None = None
    assessable_weight: dict | None = None
    cut_replies: list[str] | None = None
    truncations: list[str] | None = None
    usage: dict[str, dict] | None = None  # per role
    cost: float | None = None  # None: some price unknown
    settings: dict | None = None
    # ---- judge trust (run_analysis.analyse)
    agreement: Any = None
    human: Any = None
    human_labels: int | None = None
    reviewers: list[str] | None = None
    judge_repeats: Any = None
    comparison: Any = None
    # ---- the run (the runner)
    state: str | None = None  # done, failed, stopped, cancelled
    failure: dict | None = None  # only in a run failed for its judges: {kind, judges, limit, text}
    calls: int | None = None
    requests: dict | None = None  # {sent, answered, failed}
    errors: list[str] | None = None
    unfinished: list[str] | None = None
    fault_check: dict | None = None
    # ---- what this version does not know, kept as read
    extra: dict[str, Any] = field(default_factory=dict)
    _keys: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        if not isinstance(data, dict):
            raise TypeError(f"a run summary is a JSON object, not {type(data).__name__}")
        known = {k: v for k, v in data.items() if k in KEYS}
        out = cls(**known, extra={k: v for k, v in data.items() if k not in KEYS})
        out._keys = tuple(data)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The summary as summary.json holds it. Read from a dict: its keys in their order, then
        any field set since (not None). Built in code: every field in the order the runner writes
        them, ``failure`` only when set."""
        if self._keys:
            keys = list(self._keys)
            keys += [k for k in KEYS if k not in self._keys and getattr(self, k) is not None]
        else:
            keys = [k for k in KEYS if k != "failure" or self.failure is not None]
        keys += [k for k in self.extra if k not in keys]
        return {k: getattr(self, k) if k in KEYS else self.extra[k] for k in keys}


# every field but the two of the class's own, in the order the runner writes them
KEYS: tuple[str, ...] = tuple(f.name for f in fields(RunSummary) if f.name not in ("extra", "_keys"))


def read_summary(run_dir: Path) -> RunSummary | None:
    """A run folder's summary.json, typed; None when it is missing or not a JSON object."""
    data = read_json(Path(run_dir) / SUMMARY)
    return RunSummary.from_dict(data) if isinstance(data, dict) else None
