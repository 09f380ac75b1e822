"""Trust (spec §9): a project's ftd.yaml travels through git, so an endpoint other than the
provider default or this machine, a key variable other than the provider's standard one, or a
provider's standard key sent anywhere but that provider (loopback included), is approved once
by the user. Approvals live in the user's state folder, keyed by a hash of
the models section: change the section and ftd asks again."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .providers import (STANDARD_KEY_ENV, endpoint_label, foreign_key, host_is_local, is_provider_default,
                        is_env_name, iter_roles, provider_of)
from .dirs import state_dir
from ..text.yamlpath import format_path


def models_hash(settings: dict) -> str:
    models = settings.get("models") if isinstance(settings, dict) else None
    blob = json.dumps(models, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def needs_approval(settings: dict) -> list[str]:
    """What in the models section sends project text, or a key, somewhere unusual — each item
    says what goes where, the key included (the approval dialog and `ftd trust` show them)."""
    out = []
    for path, role in iter_roles(settings):
        name = format_path(path)
        model = role.get("model")
        if not isinstance(model, str):
            continue
        provider = provider_of(model)
        base = role.get("api_base")
        env = role.get("api_key_env")
        odd_env = isinstance(env, str) and env != STANDARD_KEY_ENV.get(provider)
        leak = foreign_key(role)
        if odd_env and not is_env_name(env):
            # SET004: it may be a key pasted by mistake, so it is never echoed
            out.append(f"{name}.api_key_env is not a variable name (its value is not shown); fix it before any call")
        elif leak:
            out.append(f"{name} sends your ${leak[0]} and project text to {leak[1]}")
        elif odd_env:
            out.append(f"{name} reads its key from ${env} and sends it with project text to {endpoint_label(role)}")
        elif isinstance(base, str) and not host_is_local(base)[0] and not is_provider_default(provider, base):
            out.append(f"{name} sends project text to {base}")
    return out


def approval_title(items: list[str]) -> str:
    """The question above the items: it says a key goes too when one does."""
    if any(" sends your $" in item or " reads its key from $" in item for item in items):
        return "This project sends your keys and project text to endpoints that need your approval:"
    return "This project sends text to endpoints that need your approval:"


def _file() -> Path:
    return state_dir() / "approvals.json"


def _load() -> dict:
    try:
        return json.loads(_file().read_text())
    except (OSError, ValueError):
        return {}


def is_approved(settings: dict) -> bool:
    return not needs_approval(settings) or models_hash(settings) in _load()


def approve(settings: dict, root: Path) -> None:
    data = _load()
    data[models_hash(settings)] = {"project": str(Path(root).resolve()), "items": needs_approval(settings)}
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)
