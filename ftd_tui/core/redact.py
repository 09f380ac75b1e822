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


def write_crash_report(exc: BaseException, folder: Path) -> Path:
    """The traceback without local variables, redacted, readable only by the user."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = folder / f"crash-{stamp}-{os.getpid()}.txt"
    body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(redact(body))
    return path
