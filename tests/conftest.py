from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_projects"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.iterdir() if (p / "ftd.yaml").is_file())


@pytest.fixture
def sample(tmp_path):
    """Copy a sample project into a temporary folder: sample('math-tutoring') -> Path."""

    def make(name: str = "math-tutoring") -> Path:
        dest = tmp_path / name
        shutil.copytree(SAMPLES / name, dest)
        return dest

    return make


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own config, state and cache folders: nothing reads or writes the
    real ones (token counts, drafts, approvals, crash reports, the response cache)."""
    base = tmp_path_factory.mktemp("user")
    for name in ("CONFIG", "STATE", "CACHE"):
        d = base / name.lower()
        d.mkdir()
        monkeypatch.setenv(f"FTD_{name}_DIR", str(d))
