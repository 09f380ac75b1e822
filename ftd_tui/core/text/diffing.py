"""One diff for every place that compares two texts (outside edits, drafts, proposals)."""

from __future__ import annotations

import difflib


def unified(old: str, new: str, old_label: str = "on disk", new_label: str = "in ftd", context: int = 3) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="", n=context))


def summary(old: str, new: str) -> str:
    added = removed = 0
    for line in unified(old, new, context=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return f"+{added} −{removed} lines"
