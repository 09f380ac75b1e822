"""A baseline run as a process of its own. The app starts `ftd baseline` detached (its own
session: quitting or a crash of the app never stops a paid run) and cancels it with SIGTERM; the
run, in that child or in a terminal, turns SIGTERM and SIGHUP into a cancel like ctrl+c, so its
finally-blocks write what finished. The child is `python -m ftd_tui baseline ROOT --run DIR`:
ftd_tui/__main__.py, then ftd_tui.cli."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ...core.evaluation import runs


def spawn_detached(root: Path, run_dir: Path, extra: list[str] | None = None) -> int:
    """Start `ftd baseline` in its own session: quitting (or a crash of) the app never stops it.
    Its output goes to the run folder's log, which holds no keys (every message is redacted)."""
    import subprocess

    log = open(run_dir / "log.txt", "ab")
    cmd = [sys.executable, "-m", "ftd_tui", "baseline", str(root), "--run", str(run_dir), "--format", "json",
           *(extra or [])]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                            cwd=str(root), env=dict(os.environ))
    log.close()
    return proc.pid


def cancel_run(run_dir: Path) -> bool:
    """SIGTERM to the live process holding the run's lock; False when no live process holds it."""
    import signal

    holder = runs.read_lock(run_dir)
    if not runs.lock_is_live(holder) or not isinstance((holder or {}).get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], signal.SIGTERM)
    except OSError:
        return False
    return True


def run_cancellable(start):
    """Run ``start()`` to completion; SIGTERM (the app's cancel) and SIGHUP (a dropped SSH
    session) cancel it like ctrl+c, so the run's finally-blocks write what finished."""
    import asyncio
    import signal

    async def main():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, task.cancel)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        return await start()

    return asyncio.run(main())
