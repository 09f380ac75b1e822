"""Choosing the base model: ftd.yaml's `base_model` and model-choice.md's front matter, written
by exact edits. ftd fills the figures it can derive (context window, vocabulary, formats,
license, family, memory at the budget with its assumption, the measured base pass rate) and
never touches what only a person can write: `base_capability`, `notes`, `training_cost`, the
prose below the front matter."""

from __future__ import annotations

from typing import Any

from ..text.yamldoc import YamlDocument

DERIVED = ("params_b", "context_window", "vocab_size", "formats", "license", "family", "training_memory_gb",
           "memory_assumption", "base_pass_rate", "source")
PROSE = """# Base model choice

<!-- Your reasoning: what you weighed, why this model, what you gave up. ftd never edits below
the front matter. The gate needs each candidate's base capability in your words. -->
"""


def candidate_entry(facts: Any, memory: Any | None, pass_rate: float | None) -> dict:
    """The figures ftd can stand behind for one candidate; None-valued ones are left out."""
    entry: dict[str, Any] = {"id": facts.id}
    values = {"params_b": facts.params_b, "context_window": facts.context_window, "vocab_size": facts.vocab_size,
              "formats": list(facts.formats or []) or None, "license": facts.license, "family": facts.family}
    if memory is not None:
        values["training_memory_gb"] = round(memory.total_gb, 1)
        values["memory_assumption"] = "; ".join([f"{memory.method} at {memory.seq_len:,} tokens"] + list(memory.assumptions))
    values["base_pass_rate"] = pass_rate
    origins = sorted({str(v) for v in (getattr(facts, "source", None) or {}).values()}) or ["ftd catalog"]
    urls = getattr(facts, "sources", None) or {}
    url = urls.get("context_window") or next(iter(urls.values()), None)
    as_of = getattr(facts, "as_of", None)
    values["source"] = ", ".join(origins) + (f" (as of {as_of})" if as_of else "") + (f"; {url}" if url else "")
    for k, v in values.items():
        if v is not None:
            entry[k] = v
    return entry


def _split(text: str) -> tuple[str, str, str] | None:
    """(opening '---' line, front matter text, the rest from the closing '---')."""
    if not text.startswith("---"):
        return None
    first_nl = text.find("\n")
    if first_nl < 0:
        return None
    end = text.find("\n---", first_nl)
    if end < 0:
        return None
    return text[: first_nl + 1], text[first_nl + 1 : end + 1], text[end + 1 :]


def update_model_choice(text: str | None, chosen: str, entries: list[dict], method: str | None,
                        target: str | None = None) -> str:
    """model-choice.md with `chosen`, `method` and the candidates' derived figures set; a
    candidate already listed keeps every field ftd does not derive, and its order."""
    if text is None or _split(text) is None:
        body = text or ""
        fm = {"chosen": chosen, "method": method or "qlora",
              "deployment": {"target": target} if target else {}, "candidates": entries}
        return "---\n" + _block_yaml(fm) + "---\n\n" + (body if body.strip() else PROSE)
    head, fm_text, rest = _split(text)  # type: ignore[misc]
    doc = YamlDocument.from_text(fm_text)
    data = doc.data if isinstance(doc.data, dict) else {}
    doc = doc.set(("chosen",), chosen, create=True) if data.get("chosen") != chosen else doc
    if method and data.get("method") != method:
        doc = doc.set(("method",), method, create=True)
    if target and not (isinstance(data.get("deployment"), dict) and data["deployment"].get("target")):
        if isinstance(data.get("deployment"), dict):
            doc = doc.set(("deployment", "target"), target, create=True)
        else:
            doc = doc.set(("deployment",), {"target": target}, create=True)
    cands = data.get("candidates") if isinstance(data.get("candidates"), list) else None
    if cands is None:
        doc = doc.set(("candidates",), entries, create=True)
    else:
        ids = [c.get("id") if isinstance(c, dict) else None for c in cands]
        for e in entries:
            if e["id"] in ids:
                i = ids.index(e["id"])
                for k, v in e.items():
                    if k != "id" and k in DERIVED and cands[i].get(k) != v:
                        doc = doc.set(("candidates", i, k), v, create=True)
            else:
                doc = doc.append(("candidates",), e)
    return head + doc.text + rest


def _block_yaml(value: dict) -> str:
    """A new front matter in block style (readable, diff-friendly), short lists in flow style."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedSeq

    def shape(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: shape(x) for k, x in v.items()}
        if isinstance(v, list):
            if all(isinstance(x, (str, int, float)) for x in v):
                seq = CommentedSeq(v)
                seq.fa.set_flow_style()
                return seq
            return [shape(x) for x in v]
        return v

    y = YAML()
    y.default_flow_style = False
    y.width = 100
    out = io.StringIO()
    y.dump(shape(value), out)
    YamlDocument.from_text(out.getvalue())  # what we write must read back
    return out.getvalue()


def set_base_model(settings_text: str, model_id: str) -> str:
    """ftd.yaml's base_model, by an exact edit (comments and order kept)."""
    doc = YamlDocument.from_text(settings_text)
    data = doc.data if isinstance(doc.data, dict) else {}
    if data.get("base_model") == model_id:
        return settings_text
    return doc.set(("base_model",), model_id, create=True).text
