"""Unsaved buffers kept in the user's state folder, so a crash or a dropped SSH session loses
nothing. A session keeps one draft per project and artifact (``<id>.json``); it records the hash
of the file it was based on, so recovery can show a diff when the file moved on since.

A draft goes only when its text is saved to the file or the user discards it. Drafts an earlier
session left are therefore set aside (``<id>.<ms>.json``) as soon as they are offered: nothing
this session does to its own draft of that artifact (a save, a clean buffer, a reload) can
touch them. Restoring one adopts it as this session's draft, updated as the buffer changes."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True)
class Draft:
    artifact_id: str
    rel: str
    base_sha256: str | None  # the file's hash when editing began (None: the file did not exist)
    text: str
    saved_at: float
    path: Path | None = field(default=None, compare=False)  # the file it was read from


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
        """This session's draft of the artifact (never one set aside from an earlier session)."""
        try:
            self._path(artifact_id).unlink()
        except FileNotFoundError:
            pass

    def discard_draft(self, draft: Draft) -> None:
        """The user discarded this draft."""
        try:
            (draft.path or self._path(draft.artifact_id)).unlink()
        except FileNotFoundError:
            pass

    def set_aside(self, draft: Draft) -> Draft:
        """An earlier session's draft leaves this session's slot, under a name of its own."""
        if draft.path is None or draft.path != self._path(draft.artifact_id):
            return draft
        n = int(draft.saved_at * 1000)
        while (aside := self.folder / f"{draft.artifact_id}.{n}.json").exists():
            n += 1
        os.replace(draft.path, aside)
        return replace(draft, path=aside)

    def set_aside_all(self) -> None:
        """At start-up, before this session writes a draft of its own: every draft left by an
        earlier session moves out of the slots this session will write."""
        for draft in self.load_all():
            try:
                self.set_aside(draft)
            except OSError:
                continue  # left where it is: still offered, just not protected from this session

    def adopt(self, draft: Draft) -> None:
        """A restored draft becomes this session's: kept (and updated) until saved or discarded."""
        if draft.path is not None and draft.path != self._path(draft.artifact_id) and draft.path.exists():
            os.replace(draft.path, self._path(draft.artifact_id))

    def load_all(self) -> list[Draft]:
        out: list[Draft] = []
        if not self.folder.is_dir():
            return out
        for f in sorted(self.folder.glob("*.json")):
            try:
                r = json.loads(f.read_text(encoding="utf-8"))
                out.append(Draft(str(r["artifact_id"]), str(r["rel"]), r.get("base_sha256"), str(r["text"]),
                                 float(r.get("saved_at", 0)), f))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged draft is not worth a crash; the file itself is untouched
        return out
