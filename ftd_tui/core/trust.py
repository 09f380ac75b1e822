"""Trust (spec §9): a project's ftd.yaml travels through git, so an endpoint other than the
provider default or this machine, or a key variable other than the provider's standard one,
is approved once by the user. Approvals live in the user's state folder, keyed by a hash of
the models section: change the section and ftd asks again."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .providers import STANDARD_KEY_ENV, host_is_local, iter_roles, provider_of
from .userdirs import state_dir


def models_hash(settings: dict) -> str:
    models = settings.get("models") if isinstance(settings, dict) else None
    blob = json.dumps(models, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def needs_approval(settings: dict) -> list[str]:
    """What in the models section sends project text or reads keys somewhere unusual."""
    out = []
    for path, role in iter_roles(settings):
        name = ".".join(map(str, path))
        model = role.get("model")
        if not isinstance(model, str):
            continue
        base = role.get("api_base")
        if isinstance(base, str) and not host_is_local(base)[0]:
            out.append(f"{name} sends project text to {base}")
        env = role.get("api_key_env")
        provider = provider_of(model)
        if isinstance(env, str) and env != STANDARD_KEY_ENV.get(provider):
            out.append(f"{name} reads its key from ${env}")
    return out


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
