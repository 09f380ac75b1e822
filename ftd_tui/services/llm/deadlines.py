"""The door's deadlines: how long one attempt, a first token, a pause and a whole call may take,
and the one asyncio.timeout an attempt runs under, moved to whichever deadline is due next and
named in the error when it fires."""

from __future__ import annotations

from dataclasses import dataclass

# Deadlines, in seconds: every call ends, whatever the server does (see Door). A role's
# `timeout:` is the limit for each attempt, from sending to the last piece of the reply.
LOCAL_FIRST_TIMEOUT = 300.0  # a local server's first call: Ollama / llama.cpp load the weights
LOCAL_TIMEOUT = 180.0  # a non-streamed attempt to a local server
REMOTE_TIMEOUT = 120.0  # a non-streamed attempt to a remote one
CONNECT_TIMEOUT = 10.0
FIRST_TOKEN_TIMEOUT = 30.0  # streamed: until the first text (and the longest pause between two pieces)
LOCAL_FIRST_TOKEN_TIMEOUT = 120.0  # a warm local server on a long prompt
CALL_DEADLINE = 600.0  # the whole call: every attempt and the waits between them


@dataclass(frozen=True)
class _Limits:
    """One attempt's deadlines (seconds) and how each is named when it fires."""
    attempt: float
    attempt_what: str
    first: float | None = None  # streamed: until the first text, then the longest pause
    first_what: str = ""
    stall_what: str = ""
    connect: float = CONNECT_TIMEOUT


class _Deadline(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class _Watch:
    """Moves one asyncio.timeout to whichever deadline is due next — the attempt's end, or for a
    stream the first text and then the longest pause — and remembers which, for the message."""

    def __init__(self, cm, limits: _Limits, loop):
        self.cm, self.limits, self.loop = cm, limits, loop
        self.end = loop.time() + limits.attempt
        self.what = limits.attempt_what
        self._arm(limits.first, limits.first_what)

    def _arm(self, limit: float | None, what: str) -> None:
        now = self.loop.time()
        if limit is not None and now + limit < self.end:
            self.cm.reschedule(now + limit)
            self.what = what
        else:
            self.cm.reschedule(self.end)
            self.what = self.limits.attempt_what

    def progress(self) -> None:
        self._arm(self.limits.first, self.limits.stall_what)


def _secs(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 or float(value).is_integer() else f"{value:.1f} s"


def _http_timeout(limits: _Limits):
    """litellm's per-read timeout, with the connect limit apart (httpx honours it for the
    openai-compatible routes; the others get the read limit for both)."""
    import httpx  # litellm's own dependency, loaded with it

    # the read limit a little past the attempt's, so that the door's deadline, which names
    # itself, fires first
    return httpx.Timeout(max(limits.attempt, 0.1) + 1.0, connect=max(min(limits.connect, limits.attempt), 0.1))
