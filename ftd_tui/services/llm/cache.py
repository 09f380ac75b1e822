"""The response cache: SQLite in the user cache folder, mode 0600 (prompts hold domain data).
Keyed by model, messages and parameters, plus a seed and sample index for sampled calls so
that a rerun can ask for a different sample. Errors are never cached."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path


class ResponseCache:
    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT, usage TEXT)")
        self.db.commit()

    @staticmethod
    def key(model: str, messages: list[dict], params: dict, sample_index: int = 0) -> str:
        blob = json.dumps({"model": model, "messages": messages, "params": params, "sample": sample_index},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> tuple[str, dict] | None:
        with self.lock:
            row = self.db.execute("SELECT text, usage FROM responses WHERE key = ?", (key,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def put(self, key: str, text: str, usage: dict) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", (key, text, json.dumps(usage)))
            self.db.commit()

    def close(self) -> None:
        with self.lock:
            self.db.close()
