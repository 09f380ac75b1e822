"""A tiny call to every model role: whether its key variable is set (never its value), whether
the server answers, whether it knows the model, and how fast. Shared by `ftd doctor` and the
app's "Test connections"."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from ...core.user.providers import STANDARD_KEY_ENV, iter_roles, provider_of
from .door import Door, LLMError, Role

VERDICTS = {"no_key": "no key", "unreachable": "server unreachable", "timeout": "timed out",
            "bad_request": "refused", "offline": "refused by deployment.offline", "no_model": "not configured"}


@dataclass
class Probe:
    role: str
    model: str
    key: str  # "$VAR set" / "$VAR not set" / ""
    verdict: str
    ok: bool


async def probe_roles(settings: dict, timeout: float = 120) -> list[Probe]:
    door = Door(settings, trusted=True, max_attempts=1)

    async def probe(path, spec) -> Probe:
        name = ".".join(map(str, path[1:]))
        role = Role(name, {**spec, "max_tokens": 8, "timeout": spec.get("timeout", 20)})
        env = spec.get("api_key_env") or STANDARD_KEY_ENV.get(provider_of(str(spec.get("model"))))
        key = "" if not env else f"${env} {'set' if os.environ.get(env) else 'not set'}"
        start = time.perf_counter()
        try:
            await door.complete(role, [{"role": "user", "content": "Reply with the single word OK."}], use_cache=False)
            return Probe(name, str(spec.get("model")), key, f"ok ({(time.perf_counter() - start) * 1000:.0f} ms)", True)
        except LLMError as exc:
            return Probe(name, str(spec.get("model")), key, f"{VERDICTS.get(exc.kind, exc.kind)}: {exc.message}", False)

    async def bounded(path, spec) -> Probe:
        # the door bounds each call; this bounds a probe queued behind others for a server's slot
        try:
            return await asyncio.wait_for(probe(path, spec), timeout=timeout)
        except TimeoutError:
            return Probe(".".join(map(str, path[1:])), str(spec.get("model")), "",
                         f"timed out: no answer within {timeout:.0f} s (waiting for the server)", False)

    return list(await asyncio.gather(*(bounded(p, s) for p, s in iter_roles(settings))))
