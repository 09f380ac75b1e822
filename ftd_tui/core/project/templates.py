"""`ftd new`: a project from a sample, or a blank one whose files carry commented guidance."""

from __future__ import annotations

import shutil
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parents[2] / "data"


class TemplateError(Exception):
    pass


def samples_dir() -> Path | None:
    for candidate in (PACKAGE_DATA / "sample_projects", Path(__file__).resolve().parents[3] / "sample_projects"):
        if candidate.is_dir():
            return candidate
    return None


def template_names() -> list[str]:
    names = ["blank"]
    sd = samples_dir()
    if sd is not None:
        names += sorted(p.name for p in sd.iterdir() if (p / "ftd.yaml").is_file())
    return names


def create_project(dest: Path, template: str) -> Path:
    if template == "blank":
        source = PACKAGE_DATA / "blank"
    else:
        sd = samples_dir()
        source = sd / template if sd is not None else Path("/nonexistent")
    if not (source / "ftd.yaml").is_file():
        raise TemplateError(f"no template '{template}'; choose one of: {', '.join(template_names())}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise TemplateError(f"{dest} exists and is not an empty folder; nothing was written")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source.resolve(), dest, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "eval", "base-model-eval-results.md"))
    return dest
