"""Secrets out of anything ftd writes or shows: crash reports, logs, error lines."""

from __future__ import annotations

import os
import re
import time
import traceback
from pathlib import Path

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.I)
# Shapes of common provider keys, for keys that never went through the environment.
_KEY_SHAPES = re.compile(
    r"(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{12,}|AIza[0-9A-Za-z_\-]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|xox[abpr]-[A-Za-z0-9\-]{10,}|hf_[A-Za-z0-9]{20,}|Bearer\s+[A-Za-z0-9._\-]{16,})"
)


def secret_values(env: dict[str, str] | None = None) -> list[str]:
    env = dict(os.environ) if env is None else env
    return sorted({v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8}, key=len, reverse=True)


def redact(text: str, env: dict[str, str] | None = None) -> str:
    for value in secret_values(env):
        text = text.replace(value, "[redacted]")
    return _KEY_SHAPES.sub("[redacted]", text)


def looks_like_key(text: str, env: dict[str, str] | None = None) -> bool:
    """Whether text holds a key: a common key shape, or the value of a secret-looking
    environment variable. Such text is never written into a project file (it travels through
    git), nor echoed."""
    return bool(_KEY_SHAPES.search(text)) or any(value in text for value in secret_values(env))


def crash_text(exc: BaseException, command: list[str] | None = None) -> str:
    """What a crash report holds: ftd's and Python's versions, the command, and the full
    traceback (every frame, never a local variable), redacted and with no raw control character."""
    import platform
    import sys

    from ... import __version__
    from .textsafe import visible

    argv = sys.argv if command is None else command
    lines = [f"ftd {__version__} crash report, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
             f"python {platform.python_version()} on {platform.system()} {platform.machine()}",
             "command: ftd " + " ".join(argv[1:] if command is None else argv), ""]
    # A failure handed on without being raised (Textual's WorkerFailed, built after the fact)
    # carries no frames of its own: the frames are on the error it wraps.
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        lines.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n"))
        inner = getattr(exc, "error", None)
        if exc.__traceback__ is not None or not isinstance(inner, BaseException):
            break
        lines += ["", "which wraps:"]
        exc = inner
    return visible(redact("\n".join(lines) + "\n"))


def write_crash_report(exc: BaseException, folder: Path, command: list[str] | None = None) -> Path:
    """The report (crash_text) in a new file readable only by the user."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    body = crash_text(exc, command)
    for n in range(100):
        path = folder / f"crash-{stamp}-{os.getpid()}{f'-{n}' if n else ''}.txt"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue  # a second crash in the same second: never truncate the first report
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
        return path
    raise OSError("could not create a new crash report")
