"""Token economics speed. Prints figures; it is not a test. Aims: a full recount of a sample
project <= 20 ms (the tokenizer loaded, no cached counts); the per-keystroke update of the
meter <= 10 ms (only what changed is recounted).

    .venv/bin/python benchmarks/tokens_speed.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ftd_tui.core.economics.overview import project_costs, project_estimate  # noqa: E402
from ftd_tui.core.project.project import Project  # noqa: E402
from ftd_tui.core.economics.counting import CountCache, approx_counter, tiktoken_encoding  # noqa: E402


def ms(f, runs=20):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), max(out)


def main() -> None:
    t = time.perf_counter()
    tiktoken_encoding()
    print(f"load cl100k_base from litellm's files (once per process): {(time.perf_counter() - t) * 1000:.0f} ms")
    for sample in sorted((REPO / "sample_projects").iterdir()):
        if not (sample / "ftd.yaml").exists():
            continue
        project = Project.load(sample)

        def full():
            counter = approx_counter("Google", CountCache(None))  # nothing cached: every text is counted
            project_estimate(project, counter)

        warm = approx_counter("Google", CountCache(None))
        project_estimate(project, warm)

        def keystroke():
            # the meter after a keystroke in the system prompt: one buffer re-parsed, one text recounted
            text = project.files["system-prompt"].text + f"\n{time.perf_counter()}"
            project_estimate(project.overlay({"system-prompt": text}), warm)

        est, counter = project_estimate(project, warm)
        f_med, f_max = ms(full)
        k_med, k_max = ms(keystroke)
        c_med, _ = ms(lambda: project_costs(project, est, counter), runs=5)
        print(f"{sample.name:<20} full recount {f_med:5.1f} ms (max {f_max:.1f})   keystroke update {k_med:4.1f} ms "
              f"(max {k_max:.1f})   costs {c_med:.1f} ms")


if __name__ == "__main__":
    main()
