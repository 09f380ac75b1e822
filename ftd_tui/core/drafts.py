"""Unsaved buffers kept in the user's state folder, so a crash or a dropped SSH session loses
nothing. One draft per project and artifact; it records the hash of the file it was based on,
so recovery can show a diff when the file moved on since."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Draft:
    artifact_id: str
    rel: str
    base_sha256: str | None  # the file's hash when editing began (None: the file did not exist)
    text: str
    saved_at: float


def project_key(root: Path) -> str:
    return hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]


class DraftStore:
    def __init__(self, state_dir: Path, project_root: Path):
        self.folder = Path(state_dir) / "drafts" / project_key(project_root)
        self.project_root = Path(project_root).resolve()

    def _path(self, artifact_id: str) -> Path:
        return self.folder / f"{artifact_id}.json"

    def save(self, artifact_id: str, rel: str, base_sha256: str | None, text: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = {"version": 1, "project": str(self.project_root), "artifact_id": artifact_id, "rel": rel,
                  "base_sha256": base_sha256, "saved_at": time.time(), "text": text}
        target = self._path(artifact_id)
        tmp = target.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return target

    def discard(self, artifact_id: str) -> None:
        try:
            self._path(artifact_id).unlink()
        except FileNotFoundError:
            pass

    def load_all(self) -> list[Draft]:
        out: list[Draft] = []
        if not self.folder.is_dir():
            return out
        for f in sorted(self.folder.glob("*.json")):
            try:
                r = json.loads(f.read_text(encoding="utf-8"))
                out.append(Draft(str(r["artifact_id"]), str(r["rel"]), r.get("base_sha256"), str(r["text"]),
                                 float(r.get("saved_at", 0))))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged draft is not worth a crash; the file itself is untouched
        return out
