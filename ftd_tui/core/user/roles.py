"""The model roles in force: the project's ftd.yaml, role by role, over the user's config.

The user config is trusted (it is the user's own); the project's roles are data that
travelled through git, so only they need approval (core.trust)."""

from __future__ import annotations

import copy
import os

from ..artifacts.families import family_of
from .providers import STANDARD_KEY_ENV

ROLE_NAMES = ("critic", "generator", "user_sim", "judges", "base")

# A starting point per provider when the user has none (the names in the workflow spec).
SUGGESTED = {
    "anthropic": "anthropic/claude-sonnet-4-5",
    "openai": "openai/gpt-5.2",
    "gemini": "gemini/gemini-2.5-flash",
    "mistral": "mistral/mistral-large-latest",
}


def effective_settings(project_settings: dict, user_models: dict | None) -> tuple[dict, dict[str, str]]:
    """(settings with the roles in force, role -> 'ftd.yaml' | 'user config')."""
    merged = copy.deepcopy(project_settings) if isinstance(project_settings, dict) else {}
    models = merged.get("models") if isinstance(merged.get("models"), dict) else {}
    sources = {name: "ftd.yaml" for name in models}
    for name in ROLE_NAMES:
        value = (user_models or {}).get(name) if isinstance(user_models, dict) else None
        if value and not models.get(name):
            models[name] = copy.deepcopy(value)
            sources[name] = "user config"
    merged["models"] = models
    return merged, sources


def suggest_models(reachable_local: list[tuple[str, str]] | None = None) -> tuple[dict, list[str]]:
    """A models block from the providers whose key variables are set, or a local server.
    Returns (models, notes); empty when nothing is available."""
    available = [p for p in SUGGESTED if os.environ.get(STANDARD_KEY_ENV[p])]
    notes: list[str] = []
    if available:
        critic = SUGGESTED[available[0]]
        if len(available) >= 2:
            judges = [SUGGESTED[available[0]], SUGGESTED[available[1]]]
        else:
            judges = [SUGGESTED[available[0]], SUGGESTED[available[0]]]
            notes.append(f"only one provider's key is set: both judges are {family_of(judges[0])} models "
                         "(same family: they share blind spots; add another provider when you can)")
        sim = SUGGESTED["gemini"] if "gemini" in available else SUGGESTED[available[-1]]
        return {"critic": {"model": critic}, "user_sim": {"model": sim},
                "judges": [{"model": j} for j in judges]}, notes
    for model, base in reachable_local or []:
        notes.append(f"no provider key is set; using the local server at {base} for every role "
                     "(judges from the same model share its blind spots)")
        role = {"model": model, "api_base": base}
        return {"critic": dict(role), "user_sim": dict(role), "judges": [dict(role), dict(role)]}, notes
    return {}, ["no provider key variable is set (e.g. ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY) "
                "and no local model server answered on this machine"]
