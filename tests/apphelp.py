"""Driving the app through Textual's Pilot: wait on conditions, not on sleeps."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager


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


@asynccontextmanager
async def running(root, size=(160, 48), **kwargs):
    """The app on ``root``, driven by Pilot, once the project is on screen and checked."""
    from ftd_tui.tui.app import create_app

    app = create_app(root, **kwargs)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        yield app, pilot
