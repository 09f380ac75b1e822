"""`ftd models`: the base models ftd knows, from the packaged catalog and local snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EXIT_OK

if TYPE_CHECKING:
    from ..core.economics.catalog import ModelFacts


def cmd_models(args) -> int:
    from ..core.economics.catalog import known_models, models_json, sorted_models

    root = Path(args.dir) if getattr(args, "dir", None) else None
    snapshot = Path(args.snapshot) if getattr(args, "snapshot", None) else None
    facts = known_models(root if root is not None and (root / "ftd.yaml").is_file() else None, snapshot)
    family = getattr(args, "family", None)
    if family:
        facts = [f for f in facts if (f.family or "").lower() == family.lower()]
    facts = sorted_models(facts, getattr(args, "sort", None) or "id")
    if getattr(args, "format", "text") == "json":
        print(json.dumps(models_json(facts), indent=2, ensure_ascii=False))
    elif not facts:
        print(f"no models{' in family ' + family if family else ''}")
    else:
        print("\n".join(text_table(facts)))
    return EXIT_OK


def _num(v: int | None) -> str:
    if v is None:
        return "?"
    return f"{v // 1024}K" if v >= 1024 and v % 1024 == 0 else f"{v:,}"


def text_table(facts: list[ModelFacts]) -> list[str]:
    from ..core.text.textsafe import clean_line

    head = ("model", "family", "params", "context", "vocab", "license", "formats", "ollama")
    rows = [head]
    for f in facts:
        rows.append((f.id + (" (base)" if f.is_base_variant else "") + (" *" if f.local else ""),
                     f.family or "?", f"{f.params_b:g}B" if f.params_b is not None else "?",
                     _num(f.context_window), f"{f.vocab_size:,}" if f.vocab_size else "?", f.license or "?",
                     ",".join(f.formats) or "-", f.ollama or "-"))
    rows = [tuple(clean_line(str(c)) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    as_of = sorted({f.as_of for f in facts if f.as_of})
    lines.append("")
    lines.append("* facts read from a local snapshot; the rest from the packaged catalog"
                 + (f" (as of {', '.join(as_of)})" if as_of else "") + ". --format json gives each source.")
    return lines
