"""Driving the app through Textual's Pilot: wait on conditions, not on sleeps."""

from __future__ import annotations

import asyncio
import time


async def wait_until(pilot, predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def loaded(pilot):
    app = pilot.app
    await wait_until(pilot, lambda: app.snapshot is not None and app.current is not None, what="project loaded")


def editor(app):
    return app.editors[app.current]


def findings(app) -> list[str]:
    return app.findings_shown()


def run(coro):
    asyncio.run(coro)
