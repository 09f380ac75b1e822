"""Model providers and roles as ftd.yaml names them: which provider a model string means,
which key variable it reads by default, whether an endpoint is on this machine. No pydantic:
the app's status line reads these on its first frames."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlparse


# The variable each provider's SDK reads by default; anything else needs approval.
STANDARD_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "cohere": "COHERE_API_KEY",
    "xai": "XAI_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
}
LOCAL_PROVIDERS = {"ollama", "ollama_chat", "hosted_vllm", "lm_studio", "llamafile", "vllm"}
# Where each provider's SDK sends requests when no api_base is given. A provider's key is meant
# for these hosts only (over https): sent anywhere else, loopback included, whoever listens
# there gets it (spec §9).
DEFAULT_HOSTS = {
    "openai": ("api.openai.com",),
    "anthropic": ("api.anthropic.com",),
    "gemini": ("generativelanguage.googleapis.com",),
    "mistral": ("api.mistral.ai",),
    "groq": ("api.groq.com",),
    "together_ai": ("api.together.xyz", "api.together.ai"),
    "openrouter": ("openrouter.ai",),
    "deepseek": ("api.deepseek.com",),
    "cohere": ("api.cohere.ai", "api.cohere.com"),
    "xai": ("api.x.ai",),
    "fireworks_ai": ("api.fireworks.ai",),
}


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def is_env_name(value: str) -> bool:
    """An environment variable's name (what api_key_env must hold), never a key."""
    return bool(_ENV_NAME.match(value))


def provider_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else "openai"


def host_of(url: str) -> str:
    """The host an endpoint names ("" when none): ``localhost:11434`` reads as http."""
    return urlparse(url if "://" in url else "http://" + url).hostname or ""


def host_is_local(url: str) -> tuple[bool, bool]:
    """(on this machine, on this machine or a private LAN)."""
    host = host_of(url)
    if host in ("localhost",) or host.endswith(".localhost"):
        return True, True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False, host.endswith((".local", ".lan", ".internal", ".home.arpa"))
    return ip.is_loopback, ip.is_loopback or ip.is_private or ip.is_link_local


def is_provider_default(provider: str, url: str) -> bool:
    """Whether ``url`` is the provider's own API (https on one of its default hosts)."""
    parsed = urlparse(url if "://" in url else "https://" + url)
    return parsed.scheme == "https" and (parsed.hostname or "") in DEFAULT_HOSTS.get(provider, ())


def key_variable(role: dict) -> str | None:
    """The environment variable whose value a call with this role sends, or None. The door's
    rule: the role's api_key_env; else, for an endpoint off this machine and LAN, the
    provider's standard variable (litellm reads it); a local server gets no key."""
    env = role.get("api_key_env")
    if isinstance(env, str):
        return env
    provider = provider_of(str(role.get("model")))
    base = role.get("api_base")
    local = host_is_local(base)[1] if isinstance(base, str) else provider in LOCAL_PROVIDERS
    return None if local else STANDARD_KEY_ENV.get(provider)


def endpoint_label(role: dict) -> str:
    """Where a role's calls go, for messages: its api_base, else its provider's API."""
    base = role.get("api_base")
    return base if isinstance(base, str) else f"{provider_of(str(role.get('model')))}'s default endpoint"


def key_owner(env: str | None) -> str | None:
    """The provider whose standard key variable ``env`` is (OPENAI_API_KEY -> openai), or None."""
    return next((p for p, var in STANDARD_KEY_ENV.items() if var == env), None)


def foreign_key(role: dict) -> tuple[str, str] | None:
    """(variable, endpoint) when the role sends a provider's standard key (OPENAI_API_KEY, …)
    somewhere that is not that provider's own API — loopback included: another user of a
    shared host can listen on any local port."""
    env = key_variable(role)
    owner = key_owner(env)
    if owner is None:
        return None
    base = role.get("api_base")
    if isinstance(base, str):
        return None if is_provider_default(owner, base) else (env, base)
    return None if provider_of(str(role.get("model"))) == owner else (env, endpoint_label(role))


def iter_roles(data: dict) -> list[tuple[tuple, dict]]:
    models = data.get("models") if isinstance(data, dict) else None
    out: list[tuple[tuple, dict]] = []
    if not isinstance(models, dict):
        return out
    for name in ("critic", "user_sim", "base"):
        role = models.get(name)
        if isinstance(role, dict):
            out.append((("models", name), role))
    judges = models.get("judges")
    if isinstance(judges, list):
        for i, role in enumerate(judges):
            if isinstance(role, dict):
                out.append((("models", "judges", i), role))
    return out


