"""What a critique costs before its first request: building the plan (the panel, the digest of
the sibling artifacts, the answer budget) and counting every expert request's tokens for the
forecast. Prints figures; it is not a test. Aim: under 150 ms for a sample unit and under 500 ms
for the generated large project (60 criteria x 8 examples, 40 topics), warm, in-process.

    .venv/bin/python benchmarks/critique_plan.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    from load_and_check import generate_large

    from ftd_tui.core.project.project import Project
    from ftd_tui.core.economics.counting import approx_counter
    from ftd_tui.services.critique.forecast import critique_forecast
    from ftd_tui.services.critique.run import plan_critique

    tmp = Path(tempfile.mkdtemp())
    projects = {name: REPO / "sample_projects" / name for name in ("wellbeing-coaching", "math-tutoring", "software-support")}
    projects["large (60x8 rubric, 40 topics)"] = generate_large(tmp / "large")
    counter = approx_counter(None)
    counter.count("warm the tokenizer")  # loaded once per process (~120 ms), not part of a plan
    print(f"{'project':<32}{'unit':<10}{'digest tok':>11}{'cut':>5}{'words':>7}{'plan ms':>9}{'+forecast ms':>14}")
    for name, root in projects.items():
        project = Project.load(root)
        for unit in ("taxonomy", "rubric", "personas", "prompts"):
            plan_times, count_times = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                plan = plan_critique(project, unit)
                t1 = time.perf_counter()
                critique_forecast(plan, project.files["settings"].data)  # F6's forecast: every real request counted
                t2 = time.perf_counter()
                plan_times.append((t1 - t) * 1000)
                count_times.append((t2 - t1) * 1000)
            print(f"{name:<32}{unit:<10}{plan.digest.tokens:>11,}{len(plan.digest.cut):>5}{plan.words:>7}"
                  f"{statistics.median(plan_times):>9.1f}{statistics.median(count_times):>14.1f}")


if __name__ == "__main__":
    main()
