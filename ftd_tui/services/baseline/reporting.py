"""What a baseline run tells the outside: progress.json while it runs, summary.json when it ends
(the summary numbers, the judge-trust analysis, calls, errors, the fault check), usage per role
from the checkpoint, and the report's generated parts. A part of Runner (runner.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ...core.evaluation import runs
from ...core.project.storage import save_atomic

PROGRESS_EVERY = 0.5  # seconds


class Reporting:
    """Runner's progress, summary and usage (a mixin: the state is Runner's)."""

    # ------------------------------------------------------------ progress
    def progress(self) -> dict:
        combined = [r[-1] for r in self.judged.values() if r]
        return {"state": self.state, "pid": __import__("os").getpid(), "updated": runs.now_iso(),
                "stages": {k: {"done": self.stage_done[k], "total": self.stage_totals[k]} for k in self.stage_done},
                "tally": {"judged": len(combined), "passed": sum(1 for r in combined if r.get("pass"))},
                "calls": self.calls_made, "cost": self._cost_so_far(), "errors": self.errors[-5:],
                "error": self.errors[-1] if self.state in ("failed",) and self.errors else None}

    def _cost_so_far(self) -> float | None:
        costs = [r.get("cost") for r in self.records
                 if r.get("kind") in ("situation", "redraw", "user_message", "exchange", "answer", "failed",
                                          "fault_opinion")]
        return None if any(c is None for c in costs) else round(sum(costs), 6)

    def _emit(self) -> None:
        p = self.progress()
        runs.write_json_atomic(self.dir / runs.PROGRESS, p, durable=False)
        self._dirty = False
        if self.on_progress is not None:
            self.on_progress(p)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            if self._dirty:
                self._emit()

    def _finish(self) -> dict:
        from ...core.evaluation.summarize import summarize

        transcripts = []
        for c in self.convs.values():
            status = "excluded" if c.fault else ("complete" if c.status == "complete" else "incomplete")
            transcripts.append({"id": c.id, "scenario": c.scenario, "exchanges": c.exchanges, "status": status,
                                "fault": c.fault})
        judgments = [r for recs in self.judged.values() for r in recs]
        summary = summarize(self._rubric, self.manifest, [c.scenario for c in self.convs.values()], transcripts,
                            judgments, self.usage())
        summary.setdefault("settings", {})["warnings"] = self.manifest.get("warnings") or []
        from ...core.evaluation.run_analysis import analyse

        names = {cid: str(c.get("name", "")) for cid, c in self.inputs.criteria.items()}
        summary.update(analyse(self.dir, names))
        summary["state"] = self.state
        if self.unusable:
            from ...core.evaluation.summarize import fail_for_judges

            fail_for_judges(summary, self.unusable, self._max_judge_errors())
        # calls: every request this process sent (retries, re-asks, failed calls included), the
        # number a server's log shows; answered / failed count the calls behind them
        summary["calls"] = self.calls_made
        summary["requests"] = {"sent": self.calls_made, "answered": self.answered, "failed": self.failed}
        summary["errors"] = self.errors[-20:]
        summary["unfinished"] = [c.id for c in self.convs.values() if not c.fault and c.id not in self.judged]
        summary["fault_check"] = self._fault_check()
        runs.write_json_atomic(self.dir / runs.SUMMARY, summary)
        return summary

    def _fault_check(self) -> dict:
        """How simulator messages were screened: whether the second opinion was on, how many it was
        asked about and how many it excluded, and every unsure message that was kept."""
        flagged = [{"conv": r["conv"], **{k: r["flag"].get(k) for k in ("exchange", "kind", "excerpt", "opinion")}}
                   for r in self.records if r.get("kind") == "exchange" and isinstance(r.get("flag"), dict)]
        by_opinion = [c.id for c in self.convs.values() if c.fault and c.fault.get("decided_by") == "second_opinion"]
        return {"second_opinion": self._second_opinion_on(), "second_opinion_on": self._opinion_mode(),
                "asked": sum(1 for r in self.records if r.get("kind") == "fault_opinion"),
                "excluded_by_opinion": len(by_opinion), "flagged_kept": flagged}

    def usage(self) -> dict:
        """Per role, over every process that worked on this run (from the checkpoint)."""
        out: dict[str, dict] = {}
        for r in self.records:
            if r.get("reused_from"):
                continue  # paid for in the run it came from
            for u in r.get("usage") or ([r] if r.get("kind") == "situation" else []):
                role = str(u.get("role") or "?")
                if role.startswith("judges["):
                    role = f"judge {u.get('model')}"
                row = out.setdefault(role, {"calls": 0, "requests": 0, "failed": 0, "input_tokens": 0, "output_tokens": 0,
                                            "cost": 0.0, "local": True})
                row["local"] = row["local"] and bool(u.get("local"))
                # calls: answered, not from the cache; requests: all that reached a server (a record
                # written before requests were counted stands for one)
                if u.get("failed"):
                    row["failed"] += 1
                elif not u.get("cached"):
                    row["calls"] += 1
                row["requests"] += int(u["requests"]) if isinstance(u.get("requests"), int) else (0 if u.get("cached") else 1)
                row["input_tokens"] += int(u.get("input_tokens") or 0)
                row["output_tokens"] += int(u.get("output_tokens") or 0)
                if row["cost"] is not None:
                    row["cost"] = None if u.get("cost") is None else row["cost"] + u["cost"]
        return out


def report_path(root: Path) -> Path:
    return Path(root) / "base-model-eval-results.md"


def write_report(root: Path, summary: dict) -> Path:
    """Regenerate the report's generated parts; the decision and the user's prose are kept."""
    from ...core.evaluation.report import update_report

    path = report_path(root)
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    new = update_report(old, summary)
    if new != old:
        save_atomic(path, new.encode("utf-8"), create=True)
    return path
