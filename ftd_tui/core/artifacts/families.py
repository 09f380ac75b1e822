"""Model families, for the judge self-preference warning. Matched on the model name,
not the provider prefix: ``ollama_chat/gemma3`` and ``gemini/gemini-2.5`` are both Google."""

from __future__ import annotations

_FAMILIES: list[tuple[str, tuple[str, ...]]] = [
    ("Google", ("gemma", "gemini", "palm", "bison")),
    ("Meta", ("llama", "codellama")),
    ("Alibaba", ("qwen", "qwq")),
    ("Mistral", ("mistral", "mixtral", "ministral", "codestral", "magistral", "devstral", "pixtral")),
    ("Microsoft", ("phi-", "phi3", "phi4", "/phi", "wizardlm")),
    ("OpenAI", ("gpt-", "gpt4", "gpt5", "/o1", "/o3", "/o4", "chatgpt", "text-davinci")),
    ("Anthropic", ("claude",)),
    ("DeepSeek", ("deepseek",)),
    ("Cohere", ("command", "aya")),
    ("xAI", ("grok",)),
    ("Hugging Face", ("smollm", "zephyr")),
    ("IBM", ("granite",)),
    ("NVIDIA", ("nemotron",)),
    ("Allen AI", ("olmo", "tulu")),
]


def family_of(model: str) -> str | None:
    name = model.lower()
    if name.startswith(("o1", "o3", "o4")):
        return "OpenAI"
    for family, needles in _FAMILIES:
        if any(n in name for n in needles):
            return family
    return None
