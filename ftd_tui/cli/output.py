"""Printing helpers: colour only on a terminal that wants it, and a progress line rewritten in
place (nothing at all when the output is piped)."""

from __future__ import annotations

import os
from typing import Callable


def color(enabled: bool) -> Callable[[str, str], str]:
    codes = {"error": "31;1", "warning": "33", "info": "36", "ok": "32", "dim": "2", "bold": "1"}

    def paint(text: str, what: str) -> str:
        return f"\x1b[{codes[what]}m{text}\x1b[0m" if enabled else text

    return paint


def use_color(stream) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class ProgressLine:
    """One line, rewritten in place, on a terminal; nothing when output is piped. ``text``
    turns a progress record into the line (the baseline's stages, the self-test's examples)."""

    def __init__(self, stream, enabled: bool, text: Callable[[dict], str]):
        self.stream, self.enabled, self.text, self.shown = stream, enabled, text, False

    def update(self, p: dict) -> None:
        if not self.enabled:
            return
        self.stream.write("\r\x1b[2K" + self.text(p)[:200])
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
