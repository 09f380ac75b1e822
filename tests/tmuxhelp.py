"""Real tmux for end-to-end tests: the app as a user sees it, through capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class Tmux:
    def __init__(self, workdir: Path, width: int = 80, height: int = 24):
        self.socket = f"ftd-test-{os.getpid()}-{time.monotonic_ns()}"
        self.workdir = workdir
        self.width, self.height = width, height
        self.conf = workdir / "tmux.conf"
        self.conf.write_text("set -g escape-time 0\nset -g remain-on-exit on\nset -g set-clipboard on\n"
                             "set -g default-terminal tmux-256color\nset -g history-limit 100\n")

    def tmux(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, "-f", str(self.conf), *args], capture_output=True, text=True,
                             timeout=20)
        if check and out.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr}")
        return out.stdout

    def start(self, args: list[str], env: dict[str, str]) -> None:
        envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        cmd = f"cd {shlex.quote(str(REPO))} && env {envs} {shlex.quote(sys.executable)} -m ftd_tui " + " ".join(
            shlex.quote(a) for a in args)
        self.tmux("new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height), cmd)

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "t", "-l", text)

    def wait_for(self, predicate, timeout: float = 15.0, what: str = "screen") -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if (predicate(screen) if callable(predicate) else predicate in screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what!r}; screen was:\n{screen}")

    def settled(self, quiet: float = 0.4, timeout: float = 10.0) -> str:
        """The screen once it has stopped changing for ``quiet`` seconds (layout, scrollbars)."""
        deadline = time.monotonic() + timeout
        last, since = self.capture(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.capture()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        return last

    def dead(self) -> bool:
        return self.tmux("display-message", "-p", "-t", "t", "#{pane_dead}").strip() == "1"

    def kill(self) -> None:
        self.tmux("kill-server", check=False)


def have_tmux() -> bool:
    return shutil.which("tmux") is not None
