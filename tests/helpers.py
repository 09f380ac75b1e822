"""Small edits for tests, made through the same exact-edit path users get."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftd_tui.core.rules.checks import check_project
from ftd_tui.core.project.project import Project
from ftd_tui.core.text.yamldoc import YamlDocument


def yset(root: Path, rel: str, path: str, value: Any, create: bool = False) -> None:
    f = root / rel
    doc = YamlDocument.from_bytes(f.read_bytes())
    f.write_bytes(doc.set(path, value, create=create).to_bytes())


def ydel(root: Path, rel: str, path: str) -> None:
    f = root / rel
    doc = YamlDocument.from_bytes(f.read_bytes())
    f.write_bytes(doc.delete(path).to_bytes())


def yget(root: Path, rel: str, path: str) -> Any:
    return YamlDocument.from_bytes((root / rel).read_bytes()).get(path)


def replace(root: Path, rel: str, old: str, new: str, count: int = 1) -> None:
    f = root / rel
    text = f.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    f.write_text(text.replace(old, new, count), encoding="utf-8")


def write(root: Path, rel: str, text: str | bytes) -> None:
    f = root / rel
    f.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        f.write_bytes(text)
    else:
        f.write_text(text, encoding="utf-8")


def diagnostics(root: Path):
    return check_project(Project.load(root)).diagnostics


def rules(root: Path) -> set[str]:
    return {d.rule for d in diagnostics(root)}
