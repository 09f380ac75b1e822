"""The one door to language models: every role of ftd.yaml goes through here to litellm.

litellm is imported lazily (never at start-up) after LITELLM_MODE=PRODUCTION (else it loads
.env files on import) and LITELLM_LOCAL_MODEL_COST_MAP=True (else it fetches a price map).
Keys come from the environment only and never appear in an error message: every message is
redacted before it leaves this module."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from ...core.user.providers import LOCAL_PROVIDERS, STANDARD_KEY_ENV, host_is_local, is_env_name, provider_of
from ...core.economics.costs import price_for
from ...core.text.redact import redact
from ...core.text.textsafe import clean
from .deadlines import (CALL_DEADLINE, CONNECT_TIMEOUT, FIRST_TOKEN_TIMEOUT, LOCAL_FIRST_TIMEOUT,
                        LOCAL_FIRST_TOKEN_TIMEOUT, LOCAL_TIMEOUT, REMOTE_TIMEOUT, _Deadline, _http_timeout, _Limits,
                        _secs, _Watch)

TRIP_AFTER = 2  # timeouts in a row after which a backend is not called again by this door
PASS_THROUGH = ("temperature", "top_p", "max_tokens", "timeout", "seed", "stop", "reasoning_effort", "num_ctx",
                "extra_body")
_litellm = None
_SCHEMAS: dict[type, dict] = {}
# A caller that must report every request it caused (retries and structured() re-asks too: a
# baseline's "calls") sets a one-item list here; each request sent to a server adds 1.
REQUESTS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("ftd_door_requests", default=None)
# A caller that may have to stop sending while calls wait for a slot (a baseline whose judges
# proved unusable) sets a function here: the door calls it once it holds a slot, just before
# sending, and it raises LLMError to refuse. A check before queueing would let every queued
# call through.
BEFORE_SEND: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("ftd_door_gate", default=None)


def load_litellm():
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_MODE", "PRODUCTION")
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        for name in ("LiteLLM", "litellm", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        _litellm = litellm
    return _litellm


class LLMError(Exception):
    """A call that did not succeed. ``kind``: no_key, unreachable, rate_limited, timeout,
    server, bad_request, not_trusted, offline, cut, bad_output, cancelled."""

    def __init__(self, kind: str, message: str, partial: str = ""):
        super().__init__(redact(message))
        self.kind = kind
        self.message = redact(message)
        self.partial = partial


@dataclass
class Usage:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # None once any call's price is unknown

    def add(self, inp: int, out: int, price) -> None:
        self.calls += 1
        self.input_tokens += inp
        self.output_tokens += out
        if self.cost is not None and price.known:
            self.cost += inp * price.input_per_token + out * price.output_per_token
        elif not price.known and not price.local:
            self.cost = None


@dataclass
class Reply:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    finish_reason: str | None = None  # "length": cut by max_tokens


@dataclass
class Role:
    name: str
    spec: dict

    @property
    def model(self) -> str:
        return str(self.spec.get("model"))

    @functools.cached_property
    def local(self) -> bool:
        base = self.spec.get("api_base")
        if isinstance(base, str):
            return host_is_local(base)[1]
        return provider_of(self.model) in LOCAL_PROVIDERS

    def backend(self) -> str:
        return str(self.spec.get("api_base") or provider_of(self.model))


@dataclass
class Door:
    settings: dict
    cache: Any = None  # ResponseCache
    max_attempts: int = 4
    base_delay: float = 0.5
    trusted: bool | None = None  # None: ask core.user.trust
    usage: dict[str, Usage] = field(default_factory=dict)
    _semaphores: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _warm: set[str] = field(default_factory=set)  # backends that have answered once
    connect_timeout: float = CONNECT_TIMEOUT
    first_token_timeout: float = FIRST_TOKEN_TIMEOUT
    local_first_token_timeout: float = LOCAL_FIRST_TOKEN_TIMEOUT
    local_first_call_timeout: float = LOCAL_FIRST_TIMEOUT
    call_deadline: float = CALL_DEADLINE
    trip_after: int = TRIP_AFTER
    _timeouts: dict[str, tuple[int, str]] = field(default_factory=dict)  # backend -> (in a row, the last one)

    # ---------------------------------------------------------------- roles
    def role(self, name: str, index: int = 0) -> Role:
        models = self.settings.get("models") if isinstance(self.settings.get("models"), dict) else {}
        spec = models.get(name)
        if name == "judges":
            judges = spec if isinstance(spec, list) else []
            spec = judges[index] if index < len(judges) else None
            name = f"judges[{index}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("model"), str):
            raise LLMError("no_model", f"models.{name} is not configured in ftd.yaml")
        return Role(name, spec)

    def _check_allowed(self, role: Role) -> None:
        from ...core.user.trust import is_approved, needs_approval

        dep = self.settings.get("deployment") if isinstance(self.settings.get("deployment"), dict) else {}
        if dep.get("offline") is True and not role.local:
            raise LLMError("offline", f"deployment.offline is true and models.{role.name} ({role.model}) is not on this machine or LAN")
        trusted = self.trusted if self.trusted is not None else is_approved(self.settings)
        if not trusted:
            raise LLMError("not_trusted", "approve this project's model endpoints first (ftd trust, or the app): "
                           + "; ".join(needs_approval(self.settings)))

    def _kwargs(self, role: Role) -> dict:
        kw: dict[str, Any] = {k: role.spec[k] for k in PASS_THROUGH if k in role.spec}
        kw["max_retries"] = 0  # the door retries (and honours Retry-After); the SDK must not retry too
        kw.pop("timeout", None)  # each attempt gets its own (see _limits), the connect limit apart
        if "num_ctx" in kw and provider_of(role.model) not in ("ollama", "ollama_chat"):
            kw.setdefault("extra_body", {})["num_ctx"] = kw.pop("num_ctx")
        if isinstance(role.spec.get("api_base"), str):
            kw["api_base"] = role.spec["api_base"]
        env = role.spec.get("api_key_env")
        provider = provider_of(role.model)
        if isinstance(env, str) and not is_env_name(env):
            # SET004: it may be a key pasted by mistake, so it is never echoed
            raise LLMError("no_key", f"models.{role.name}.api_key_env is not a variable name (its value is not shown)")
        if isinstance(env, str):
            key = os.environ.get(env)
            if not key:
                raise LLMError("no_key", f"models.{role.name} reads its key from ${env}, which is not set")
            kw["api_key"] = key
        elif not role.local:
            standard = STANDARD_KEY_ENV.get(provider)
            if standard and not os.environ.get(standard):
                raise LLMError("no_key", f"models.{role.name} ({role.model}) needs ${standard}, which is not set")
        elif provider in ("openai", "hosted_vllm") or isinstance(role.spec.get("api_base"), str):
            kw["api_key"] = "not-needed"  # OpenAI-compatible local servers ignore the key
        return kw

    def _semaphore(self, role: Role) -> asyncio.Semaphore:
        key = role.backend()
        if key not in self._semaphores:
            limit = role.spec.get("max_concurrency")
            self._semaphores[key] = asyncio.Semaphore(limit if isinstance(limit, int) and limit > 0 else
                                                      (2 if role.local else 8))
        return self._semaphores[key]

    # ---------------------------------------------------------------- calls
    async def stream(self, role: Role, messages: list[dict], on_delta: Callable[[str], Any] | None = None, *,
                     sample_index: int = 0, use_cache: bool = True) -> Reply:
        """Stream a reply; ``on_delta`` gets each piece of text as it arrives. A stream cut
        mid-way raises LLMError('cut') with the text that did arrive."""
        return await self._call(role, messages, on_delta, sample_index=sample_index, use_cache=use_cache, stream=True)

    async def complete(self, role: Role, messages: list[dict], *, response_format: dict | None = None,
                       sample_index: int = 0, use_cache: bool = True) -> Reply:
        return await self._call(role, messages, None, sample_index=sample_index, use_cache=use_cache, stream=False,
                                response_format=response_format)

    async def structured(self, role: Role, messages: list[dict], model_cls, *, use_cache: bool = True):
        """A pydantic-validated answer: JSON schema sent as response_format, one re-ask when
        the answer is not valid, then an LLMError('bad_output') — never a silent pass or fail."""
        from pydantic import ValidationError

        fmt = _SCHEMAS.get(model_cls)
        if fmt is None:  # built once per class: pydantic's schema generation costs ~0.3 ms a call
            fmt = _SCHEMAS[model_cls] = {"type": "json_schema",
                                         "json_schema": {"name": model_cls.__name__, "schema": model_cls.model_json_schema()}}
        convo = list(messages)
        problem = ""
        for attempt in range(2):
            reply = await self.complete(role, convo, response_format=fmt, use_cache=use_cache and attempt == 0)
            try:
                return model_cls.model_validate(json.loads(_json_text(reply.text))), reply
            except (ValueError, ValidationError) as exc:
                problem = str(exc).splitlines()[0][:300]
                convo = convo + [{"role": "assistant", "content": reply.text},
                                 {"role": "user", "content": "That was not valid JSON for the schema "
                                  f"({problem}). Answer again with only the JSON object."}]
        raise LLMError("bad_output", f"models.{role.name} did not return valid JSON twice: {problem}")

    async def _call(self, role: Role, messages: list[dict], on_delta, *, sample_index: int, use_cache: bool,
                    stream: bool, response_format: dict | None = None) -> Reply:
        self._check_allowed(role)
        kwargs = self._kwargs(role)
        if response_format is not None:
            kwargs["response_format"] = response_format
        cache_params = {k: v for k, v in kwargs.items() if k not in ("api_key", "timeout", "max_retries")}
        key = None
        if self.cache is not None and use_cache:
            key = self.cache.key(role.model, messages, cache_params, sample_index)
            hit = self.cache.get(key)
            if hit is not None:
                text, usage = hit
                if on_delta is not None:
                    await _maybe_await(on_delta(text))
                return Reply(text, usage.get("input", 0), usage.get("output", 0), cached=True,
                             finish_reason=usage.get("finish"))
        litellm = await asyncio.to_thread(load_litellm) if _litellm is None else _litellm
        total = max(self.call_deadline, _role_timeout(role) or 0)
        attempt, spent = 0, 0.0  # time in attempts and in the waits between them (not queued for a slot)
        while True:
            attempt += 1
            received: list[str] = []
            try:
                async with self._semaphore(role):
                    self._refuse_if_tripped(role)  # a call queued behind hung ones fails fast too
                    gate = BEFORE_SEND.get()
                    if gate is not None:
                        gate()
                    limits = self._limits(role, stream, total - spent, total, attempt)
                    started = time.monotonic()
                    try:
                        reply = await self._once(litellm, role, messages, kwargs, on_delta, received, stream, limits)
                    finally:
                        spent += time.monotonic() - started
                break
            except asyncio.CancelledError:
                raise
            except LLMError:
                raise  # ftd's own verdict (a stream cut short, a backend that keeps timing out)
            except Exception as exc:  # litellm's exceptions, network errors, a deadline
                err = self._classify(role, exc, "".join(received))
                if err.kind == "timeout":
                    self._note_timeout(role, err)
                if received or err.kind not in ("rate_limited", "server", "timeout", "unreachable") \
                        or attempt >= self.max_attempts:
                    raise err from None
                if self._tripped(role):
                    raise LLMError(err.kind, f"{err.message}; it timed out {self._timeouts[role.backend()][0]} "
                                   "times in a row: not calling it again in this run") from None
                delay = self._delay(attempt, exc)
                if spent + delay + 1.0 > total:  # no time left for another attempt
                    raise LLMError(err.kind, f"{err.message}; not retried: the whole call would exceed "
                                   f"{_secs(total)} ({attempt} attempt{'s' if attempt > 1 else ''})") from None
                await asyncio.sleep(delay)
                spent += delay
        self._warm.add(role.backend())
        self._timeouts.pop(role.backend(), None)  # it answers: earlier timeouts were not a pattern
        price = price_for(role.spec)
        self.usage.setdefault(role.name, Usage()).add(reply.input_tokens, reply.output_tokens, price)
        if key is not None:
            self.cache.put(key, reply.text, {"input": reply.input_tokens, "output": reply.output_tokens,
                                             "finish": reply.finish_reason})
        return reply

    # ---------------------------------------------------------------- deadlines
    def _limits(self, role: Role, stream: bool, remaining: float, total: float, attempt: int) -> _Limits:
        """This attempt's deadlines: the role's `timeout:` bounds the attempt (and replaces the
        first-token default: the user knows their model); without it a non-streamed attempt
        gets 120 s (180 s local, 300 s on a local server's first call) and a streamed one
        30 s to its first text and between two pieces (120 s local, 300 s cold). The attempt
        never outlives the whole call's deadline."""
        at = _backend_label(role)
        cold = role.local and role.backend() not in self._warm
        mine = _role_timeout(role)
        if mine is not None:
            limit, what = mine, f"no complete answer within the role's timeout of {_secs(mine)} from {at}"
        elif not stream:
            limit = self.local_first_call_timeout if cold else LOCAL_TIMEOUT if role.local else REMOTE_TIMEOUT
            what = f"no answer within {_secs(limit)} from {at}"
        else:
            limit, what = remaining, ""
        if remaining <= limit:
            limit = max(0.0, remaining)
            what = f"the whole call exceeded {_secs(total)} ({attempt} attempt{'s' if attempt > 1 else ''}) at {at}"
        first = None
        if stream:
            first = mine if mine is not None else self.local_first_call_timeout if cold else \
                self.local_first_token_timeout if role.local else self.first_token_timeout
        return _Limits(limit, what, first, f"no first token within {_secs(first or 0)} from {at}",
                       f"the stream from {at} stalled: nothing new within {_secs(first or 0)}",
                       min(self.connect_timeout, limit) if limit > 0 else self.connect_timeout)

    def _note_timeout(self, role: Role, err: LLMError) -> None:
        count, _ = self._timeouts.get(role.backend(), (0, ""))
        what = err.message.split(": ", 1)[-1].replace(f" from {_backend_label(role)}", "").replace(
            f" to {_backend_label(role)}", "")
        self._timeouts[role.backend()] = (count + 1, what)

    def _tripped(self, role: Role) -> bool:
        return self._timeouts.get(role.backend(), (0, ""))[0] >= self.trip_after

    def _trip_note(self, role: Role) -> str:
        count, last = self._timeouts[role.backend()]
        return f"{_backend_label(role)} timed out {count} times in a row (last: {last}); not calling it again in this run"

    def _refuse_if_tripped(self, role: Role) -> None:
        if self._tripped(role):
            raise LLMError("timeout", f"models.{role.name} ({role.model}): {self._trip_note(role)}")

    async def _once(self, litellm, role: Role, messages, kwargs, on_delta, received: list[str], stream: bool,
                    limits: _Limits | None = None) -> Reply:
        tally = REQUESTS.get()
        if tally is not None:
            tally[0] += 1  # counted before sending: a request that fails or times out was still made
        limits = limits or _Limits(REMOTE_TIMEOUT, f"no answer within {_secs(REMOTE_TIMEOUT)} from {_backend_label(role)}")
        kwargs = {**kwargs, "timeout": _http_timeout(limits)}
        loop = asyncio.get_running_loop()
        # one asyncio.timeout carries every deadline of the attempt: litellm's own timeout is per
        # read, so a trickling stream or a server that never answers would outlive it
        cm = asyncio.timeout(None)
        watch = None
        try:
            async with cm:
                watch = _Watch(cm, limits, loop)
                return await self._send(litellm, role, messages, kwargs, on_delta, received, stream, watch)
        except TimeoutError:
            if watch is not None and cm.expired():
                raise _Deadline(watch.what) from None
            raise

    async def _send(self, litellm, role: Role, messages, kwargs, on_delta, received: list[str], stream: bool,
                    watch: _Watch) -> Reply:
        if not stream:
            resp = await litellm.acompletion(model=role.model, messages=messages, **kwargs)
            text = resp.choices[0].message.content or ""
            usage = getattr(resp, "usage", None)
            return Reply(_strip_think(text), getattr(usage, "prompt_tokens", 0) or 0,
                         getattr(usage, "completion_tokens", 0) or 0,
                         finish_reason=getattr(resp.choices[0], "finish_reason", None))
        resp = await litellm.acompletion(model=role.model, messages=messages, stream=True,
                                         stream_options={"include_usage": True}, **kwargs)
        inp = out = 0
        finished = None
        try:
            async for chunk in resp:
                choices = getattr(chunk, "choices", None) or []
                if choices:
                    piece = getattr(choices[0].delta, "content", None) or ""
                    if piece or getattr(choices[0].delta, "reasoning_content", None):
                        watch.progress()  # text (or visible thinking) arrived: the pause limit starts again
                    if piece:
                        received.append(piece)
                        if on_delta is not None:
                            await _maybe_await(on_delta(piece))
                    if getattr(choices[0], "finish_reason", None):
                        finished = choices[0].finish_reason
                usage = getattr(chunk, "usage", None)
                if usage:
                    inp = getattr(usage, "prompt_tokens", 0) or inp
                    out = getattr(usage, "completion_tokens", 0) or out
        finally:
            await _close(resp)
        if not finished:
            raise LLMError("cut", f"the stream from models.{role.name} stopped before the reply was complete",
                           "".join(received))
        return Reply(_strip_think("".join(received)), inp, out, finish_reason=str(finished))

    def _classify(self, role: Role, exc: Exception, partial: str) -> LLMError:
        if isinstance(exc, LLMError):
            return exc
        name = type(exc).__name__
        status = getattr(exc, "status_code", None)
        detail = clean(str(exc)).splitlines()[0][:240] if str(exc) else name
        where = f"models.{role.name} ({role.model})"
        if isinstance(exc, _Deadline):
            after = f" (after {len(partial)} characters)" if partial else ""
            return LLMError("timeout", f"{where}: {exc.what}{after}", partial)
        if partial:
            return LLMError("cut", f"{where}: the stream broke after {len(partial)} characters ({name})", partial)
        if name == "RateLimitError" or status == 429:
            return LLMError("rate_limited", f"{where}: rate limited (429); retried {self.max_attempts} times")
        if "Timeout" in name:
            if "connect" in detail.lower() or "ConnectTimeout" in _causes(exc):
                return LLMError("timeout", f"{where}: could not connect to {_backend_label(role)} "
                                f"within {_secs(self.connect_timeout)}")
            return LLMError("timeout", f"{where}: no answer within the timeout from {_backend_label(role)}")
        if "connection error" in detail.lower() or "connection refused" in detail.lower() or "connecterror" in detail.lower():
            # litellm reports a refused connection as a 500 "Connection error."
            return LLMError("unreachable", f"{where}: cannot reach the server")
        if name in ("InternalServerError", "ServiceUnavailableError", "BadGatewayError") or (status or 0) >= 500:
            return LLMError("server", f"{where}: the server failed ({status or name})")
        if name == "APIConnectionError":
            return LLMError("unreachable", f"{where}: cannot reach the server ({detail})")
        if name in ("AuthenticationError", "PermissionDeniedError"):
            return LLMError("no_key", f"{where}: the key was refused ({name})")
        if name == "NotFoundError":
            return LLMError("bad_request", f"{where}: unknown model ({detail})")
        return LLMError("bad_request", f"{where}: {name}: {detail}")

    def _delay(self, attempt: int, exc: Exception) -> float:
        retry_after = None
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        if headers is not None:
            try:
                retry_after = float(headers.get("retry-after") or headers.get("Retry-After"))
            except (TypeError, ValueError):
                retry_after = None
        if retry_after is not None:
            return min(30.0, max(0.0, retry_after))
        return min(30.0, self.base_delay * 2 ** (attempt - 1)) * (0.5 + random.random())


def _causes(exc: BaseException) -> list[str]:
    """The type names down an exception's chain (litellm wraps httpx's ConnectTimeout)."""
    names: list[str] = []
    while exc is not None and len(names) < 12:
        names.append(type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return names


def _role_timeout(role: Role) -> float | None:
    value = role.spec.get("timeout")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def _backend_label(role: Role) -> str:
    base = role.spec.get("api_base")
    return base if isinstance(base, str) else f"{provider_of(role.model)}'s API"


async def _close(resp) -> None:
    """Release the connection of a stream left early (a deadline, a cancel); never raises."""
    close = getattr(resp, "aclose", None)
    if close is None:
        return
    try:
        await asyncio.wait_for(close(), 2)
    except Exception:  # noqa: BLE001 - best effort; the caller's own error matters
        pass


def _json_text(text: str) -> str:
    """The JSON object inside a reply that may wrap it in a fence or prose."""
    m = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    if m:
        return m.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start >= 0 and end > start else text


def _strip_think(text: str) -> str:
    text = re.sub(r"<think>.*?</think>\s*", "", text, flags=re.S)
    if text.lstrip().startswith("<think>"):
        return ""  # cut while still thinking: no answer arrived
    return text


async def _maybe_await(value: Awaitable | Any) -> None:
    if asyncio.iscoroutine(value):
        await value


def timed() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: (time.perf_counter() - start) * 1000
