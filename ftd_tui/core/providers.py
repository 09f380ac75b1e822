"""Model providers and roles as ftd.yaml names them: which provider a model string means,
which key variable it reads by default, whether an endpoint is on this machine. No pydantic:
the app's status line reads these on its first frames."""

from __future__ import annotations

import ipaddress
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


def provider_of(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else "openai"


def host_is_local(url: str) -> tuple[bool, bool]:
    """(on this machine, on this machine or a private LAN)."""
    host = urlparse(url if "://" in url else "http://" + url).hostname or ""
    if host in ("localhost",) or host.endswith(".localhost"):
        return True, True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False, host.endswith((".local", ".lan", ".internal", ".home.arpa"))
    return ip.is_loopback, ip.is_loopback or ip.is_private or ip.is_link_local


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


