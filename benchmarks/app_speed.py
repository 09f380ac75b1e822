"""App speed, as a user feels it. Prints figures; it is not a test.

  first screen   launch `ftd` in real tmux on a sample project and poll capture-pane until
                 the project is drawn (at 80x24: the next-step line and the editor; at
                 160x48: the artifact list too). Aim <= 0.35 s median.
  typing         Pilot on a generated 2,000-line rubric: time per keystroke spent in the
                 app (press -> processed), and the delay from the last key until the new
                 diagnostics are applied. Aims: no keystroke over ~16 ms of our work;
                 diagnostics within ~250 ms of a pause.
  memory         RSS of the app process after opening a sample. Aim <= 150 MB.

    .venv/bin/python benchmarks/app_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def first_screen(runs: int, width: int, height: int, tmp: Path) -> tuple[list[float], float]:
    from tmuxhelp import Tmux

    sample = REPO / "sample_projects" / "math-tutoring"
    times, rss = [], 0.0
    env = {"TERM": "tmux-256color", "LANG": "C.UTF-8"}
    for name in ("CONFIG", "STATE", "CACHE"):
        (tmp / name).mkdir(exist_ok=True)
        env[f"FTD_{name}_DIR"] = str(tmp / name)

    def drawn(s: str) -> bool:
        ok = "config/rubric.yaml ─" in s
        return ok and ("critiques/experts.yaml" in s if width >= 120 else True)

    for _ in range(runs):
        t = Tmux(tmp, width, height)
        start = time.perf_counter()
        t.start([str(sample)], env)
        while True:
            if drawn(t.capture()):
                times.append(time.perf_counter() - start)
                break
            if time.perf_counter() - start > 20:
                times.append(float("nan"))
                break
            time.sleep(0.005)
        pid = t.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip()
        try:
            # the pane runs a shell (`cd … && env … python`); the app is its child
            kids = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split()
            target = kids[0] if kids else pid
            for line in Path(f"/proc/{target}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = max(rss, int(line.split()[1]) / 1024)
        except (OSError, IndexError):
            pass
        t.kill()
    return times, rss


async def _typing_run(root: Path) -> dict[str, list[float]]:
    """Per keystroke, on the UI thread: the editor's own edit (TextArea insert, with its
    tree-sitter re-highlight) and our handler (dirty marks, status, timers). Then the delay
    from the last key until new diagnostics are applied (debounce + check in a worker)."""
    from apphelp import loaded

    from ftd_tui.tui.app import ArtifactEdited, create_app

    app = create_app(root)
    out: dict[str, list[float]] = {"edit": [], "ours": [], "delay": []}
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        ed = app.editors[app.current]
        ed.focus()
        ed.move_cursor((3, 0))
        for _ in range(5):
            for ch in "# note ":
                t = time.perf_counter()
                ed.insert(ch)
                out["edit"].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                app.artifact_edited(ArtifactEdited(ed.artifact_id))
                out["ours"].append((time.perf_counter() - t) * 1000)
                last_key = time.perf_counter()
                await pilot.pause()
            before = app.snapshot
            while app.snapshot is before or app.snapshot.generation < app.generation:
                await asyncio.sleep(0.002)
                if time.perf_counter() - last_key > 10:
                    raise SystemExit("diagnostics never arrived")
            out["delay"].append((time.perf_counter() - last_key) * 1000)
    return out


def _stats(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs):.1f} ms, p95 {xs[max(0, int(len(xs) * 0.95) - 1)]:.1f} ms, max {xs[-1]:.1f} ms"


def main() -> None:
    from ftd_tui.tui.app import VALIDATE_DELAY

    globals()["VALIDATE_DELAY"] = VALIDATE_DELAY
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        for w, h in ((80, 24), (160, 48)):
            times, rss = first_screen(args.runs, w, h, tmp)
            ok = [x for x in times if x == x]
            print(f"first screen {w}x{h}: median {statistics.median(ok):.3f} s, min {min(ok):.3f} s, max {max(ok):.3f} s "
                  f"over {len(ok)} launches; RSS {rss:.0f} MB")
        # typing on a generated 2,000-line rubric
        from load_and_check import generate_large

        root = generate_large(tmp / "large", criteria=26, examples=8)
        n = len((root / "config/rubric.yaml").read_text().splitlines())
        for name in ("CONFIG", "STATE", "CACHE"):
            os.environ[f"FTD_{name}_DIR"] = str(tmp / name)
        t = asyncio.run(_typing_run(root))
        print(f"typing on a {n:,}-line rubric, per keystroke on the UI thread:")
        print(f"  TextArea edit + re-highlight: {_stats(t['edit'])}")
        print(f"  ftd's handler (marks, status, timers): {_stats(t['ours'])}")
        print(f"diagnostics applied after the last key: {_stats(t['delay'])} (includes the {VALIDATE_DELAY * 1000:.0f} ms pause)")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "benchmarks"))
    main()
