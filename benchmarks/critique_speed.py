"""The critique panel under load. Prints figures; it is not a test.

Seven fictional experts each stream ~1,000 tokens at ~100 tokens/s from the scripted test
server (through the real litellm path); the app runs headless under Pilot at 160x48.
Aims: display lag <= 100 ms (from a piece arriving to the panel showing it), the app using
<= 50% of a core, wall time <= 1.1x the slowest expert.

    .venv/bin/python benchmarks/critique_speed.py
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

WORDS = 1000
RATE = 100  # words per second, about a token each


def main() -> None:
    from ftd_tui.core.user.trust import approve
    from ftd_tui.core.text.yamldoc import YamlDocument

    tmp = Path(tempfile.mkdtemp())
    for name in ("CONFIG", "STATE", "CACHE"):
        (tmp / name).mkdir()
        os.environ[f"FTD_{name}_DIR"] = str(tmp / name)
    root = tmp / "project"
    shutil.copytree(REPO / "sample_projects" / "math-tutoring", root)
    experts = [{"id": f"e{i}", "name": f"Expert {i}", "fictional": True, "kind": "practitioner",
                "school": f"school {i}", "background": "b", "blind_spot": "s"} for i in range(7)]
    text = " ".join(f"word{i % 50}" for i in range(WORDS))
    synthesis = json.dumps({"proposals": [{"id": "P1", "title": "t", "rationale": "r", "experts": [], "severity": "minor",
                                           "target": "x", "patch": {"file": "config/rubric.yaml", "find": "zzz", "replace": "y"}}]})
    script = tmp / "script.json"
    script.write_text(json.dumps([text] + [{"match": "role-playing", "text": text, "chunks": WORDS // 5,
                                             "chunk_delay": 5 / RATE} for _ in experts]
                                 + [{"match": "synthesise", "text": synthesis}]))
    # the server runs in its own process, so the CPU figure below is the app's (with litellm)
    server = subprocess.Popen([sys.executable, str(REPO / "tests" / "fakes" / "openai_server.py"), str(script)],
                              stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()
        f = root / "critiques/experts.yaml"
        doc = YamlDocument.from_bytes(f.read_bytes()).set("panels.rubric", {"experts": experts, "difficult_users": []})
        f.write_bytes(doc.to_bytes())
        s = root / "ftd.yaml"
        # as a hosted critic would: all seven at once (a local server defaults to 2 in flight)
        role = {"model": "openai/fake-model", "api_base": base_url, "max_concurrency": 8}
        doc = YamlDocument.from_bytes(s.read_bytes()).set("models", {"critic": role, "judges": [role, role]})
        s.write_bytes(doc.to_bytes())
        approve(doc.data, root)
        from ftd_tui.services.llm.door import load_litellm

        t = time.perf_counter()
        load_litellm()  # once per process, off the UI thread in the app; measured apart here
        print(f"import litellm: {time.perf_counter() - t:.2f} s (once per process, in a worker thread)")
        asyncio.run(drive(root))
    finally:
        server.terminate()


async def drive(root: Path) -> None:
    from apphelp import running, wait_until

    from ftd_tui.tui.screens.critique import CritiqueScreen

    arrivals: list[tuple[float, int]] = []  # (time, length) of the first voice's text
    shown: list[tuple[float, int]] = []
    started: dict[str, float] = {}
    finished: dict[str, float] = {}
    orig_event, orig_refresh = CritiqueScreen.voice_event, CritiqueScreen.refresh_answer

    def voice_event(self, kind, voice):
        now = time.perf_counter()
        if voice is not None:
            if voice.status == "streaming":
                started.setdefault(voice.key, now)
            if voice.status in ("done", "error"):
                finished.setdefault(voice.key, now)
            if kind == "delta" and voice.key == "expert-0":
                arrivals.append((now, len(voice.text)))
        orig_event(self, kind, voice)

    def refresh_answer(self):
        orig_refresh(self)
        if self.voices and self.index == 0:
            shown.append((time.perf_counter(), len(self.voices[0].text)))

    CritiqueScreen.voice_event, CritiqueScreen.refresh_answer = voice_event, refresh_answer
    async with running(root) as (app, pilot):
        app.open_artifact("rubric", focus=True)
        cpu0, t0 = time.process_time(), time.perf_counter()
        await pilot.press("f6")
        from ftd_tui.tui.modals.dialogs import Choice

        await wait_until(pilot, lambda: isinstance(app.screen, Choice), what="the forecast")  # F6 forecasts first
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CritiqueScreen) and app.screen.run is not None,
                         timeout=120, what="critique finished")
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    lags = []
    for t, n in arrivals:
        seen = next((st for st, sn in shown if st >= t and sn >= n), None)
        if seen is not None:
            lags.append((seen - t) * 1000)
    durations = [finished[k] - started[k] for k in finished]
    phase = max(finished.values()) - min(started.values())
    lags.sort()
    print(f"7 experts x {WORDS} words at ~{RATE}/s: experts streamed for {phase:.2f} s, the slowest took "
          f"{max(durations):.2f} s (ratio {phase / max(durations):.2f}); F6 to proposals {wall:.2f} s")
    print(f"display lag: median {statistics.median(lags):.0f} ms, p95 {lags[int(len(lags) * 0.95) - 1]:.0f} ms, "
          f"max {lags[-1]:.0f} ms over {len(lags)} pieces")
    print(f"CPU of the app process: {cpu:.2f} s over {wall:.2f} s = {100 * cpu / wall:.0f}% of a core")


if __name__ == "__main__":
    main()
