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
