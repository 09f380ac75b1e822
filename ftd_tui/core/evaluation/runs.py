"""Baseline run folders (docs/baseline.md): identity, a lock against two writers, and a
checkpoint that survives a kill at any moment.

A run is worth money: every finished call is appended to calls.jsonl, flushed and fsynced,
before anything depends on it. Reading tolerates a torn last line (the process died mid-write);
appending first cuts such a fragment off so the next record starts on its own line."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import queue
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..text.textsafe import json_text

RUNS = Path("eval") / "runs"
SCENARIOS_FILE = Path("eval") / "scenarios.yaml"
MANIFEST = "manifest.json"
LOCK = "run.lock"
CALLS = "calls.jsonl"
JUDGMENTS = "judgments.jsonl"
PROGRESS = "progress.json"
SUMMARY = "summary.json"
TRANSCRIPTS = "transcripts"
# what the manifest hashes, in the order a "what changed" list names them
HASHED = ("rubric", "taxonomy", "personas", "user_sim", "assistant", "system_prompt", "knowledge", "settings",
          "effective_models", "scenarios")


class LockHeld(Exception):
    def __init__(self, holder: dict):
        self.holder = holder
        who = f"{holder.get('user', '?')}@{holder.get('host', '?')} (pid {holder.get('pid', '?')}, since {holder.get('started', '?')})"
        super().__init__(f"another ftd baseline is writing this run: {who}")


def runs_dir(root: Path) -> Path:
    return Path(root) / RUNS


def utc_stamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def digest(value: Any) -> str:
    """sha256 of a JSON value in canonical form (sorted keys), for settings sections."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def combined_hash(hashes: dict[str, str | None], names: Iterable[str]) -> str | None:
    parts = []
    for name in names:
        h = hashes.get(name)
        if h is None:
            return None
        parts.append(f"{name}={h}")
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def changed(old: dict[str, str | None], new: dict[str, str | None]) -> list[str]:
    return [k for k in HASHED if old.get(k) != new.get(k)]


# --------------------------------------------------------------------------- files


def write_json_atomic(path: Path, value: Any, *, durable: bool = True) -> None:
    """Replace ``path`` atomically. ``durable=False`` skips the fsyncs: for files rebuilt from
    the checkpoint (transcripts, progress), where a power cut may lose the last write but a
    reader never sees half a file."""
    # json_text: model output stays byte-exact through json.loads, yet no raw C1 / bidi character
    # reaches the file (a `cat` of a transcript must not act on the terminal)
    data = json_text(value, indent=1, default=str).encode("utf-8") + b"\n"
    if durable:
        from ..project.storage import save_atomic

        save_atomic(path, data, create=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_jsonl(path: Path) -> list[dict]:
    """Every complete record; a torn or garbled line is skipped, never fatal."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    out = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


class Checkpoint:
    """Append-only JSONL; every record is fsynced before the writer moves on.

    ``background=True`` hands the writing to one thread (group commit): the event loop never
    waits for the disk, records keep their order, and a burst of records shares one fsync. A
    record still in the queue when the process dies is lost like a call still in flight: a
    resume redoes it, and nothing else."""

    def __init__(self, path: Path, *, background: bool = False):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._fh = open(path, "ab")
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        if background:
            self._queue = queue.Queue()
            self._thread = threading.Thread(target=self._writer, name="ftd-checkpoint", daemon=True)
            self._thread.start()

    def _repair(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as fh:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())

    @staticmethod
    def _line(record: dict) -> bytes:
        return json_text(record, separators=(",", ":"), default=str).encode("utf-8") + b"\n"

    def append(self, record: dict) -> None:
        if self.error is not None:
            raise OSError(f"the checkpoint {self.path} cannot be written: {self.error}")
        if self._queue is not None:
            self._queue.put(self._line(record))
            return
        self._fh.write(self._line(record))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _writer(self) -> None:
        assert self._queue is not None
        stop = False
        while not stop:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            lines = [b for b in batch if b is not None]
            stop = len(lines) != len(batch)
            try:
                if lines:
                    self._fh.write(b"".join(lines))
                    self._fh.flush()
                    os.fsync(self._fh.fileno())
            except OSError as exc:  # a full disk: the next append says so instead of losing work silently
                self.error = exc
            for _ in batch:
                self._queue.task_done()

    def flush(self) -> None:
        if self._queue is not None:
            self._queue.join()

    def close(self) -> None:
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = None
        try:
            self._fh.close()
        except OSError:
            pass


# --------------------------------------------------------------------------- the lock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(run_dir: Path) -> dict | None:
    value = read_json(run_dir / LOCK)
    return value if isinstance(value, dict) else None


def lock_is_live(holder: dict | None) -> bool:
    if not holder:
        return False
    if holder.get("host") != socket.gethostname():
        return True  # another machine's process: we cannot tell, so it counts as live
    pid = holder.get("pid")
    return isinstance(pid, int) and _alive(pid)


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = run_dir / LOCK
        self.held = False

    def acquire(self) -> None:
        me = {"pid": os.getpid(), "user": _user(), "host": socket.gethostname(), "started": now_iso()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = read_lock(self.path.parent)
                if holder is not None and lock_is_live(holder) and holder.get("pid") != os.getpid():
                    raise LockHeld(holder) from None
                # stale: its writer died (or the file is unreadable); take it over
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(me, fh)
                fh.flush()
                os.fsync(fh.fileno())
            self.held = True
            return
        raise LockHeld(read_lock(self.path.parent) or {})

    def release(self) -> None:
        if self.held:
            holder = read_lock(self.path.parent)
            if holder is None or holder.get("pid") == os.getpid():
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
            self.held = False


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return str(os.getuid())


# --------------------------------------------------------------------------- listing


@dataclass
class RunInfo:
    id: str
    path: Path
    created: str
    inputs_hash: str | None
    state: str  # running | done | failed | cancelled | invalid | interrupted | unknown
    smoke: bool
    pass_rate: float | None
    assessed: int | None
    recommendation: str | None
    holder: dict | None

    def as_json(self) -> dict:
        return {"id": self.id, "path": str(self.path), "created": self.created, "inputs_hash": self.inputs_hash,
                "state": self.state, "smoke": self.smoke, "pass_rate": self.pass_rate, "assessed": self.assessed,
                "recommendation": self.recommendation}


def run_info(run_dir: Path) -> RunInfo | None:
    manifest = read_json(run_dir / MANIFEST)
    if not isinstance(manifest, dict):
        return None
    progress = read_json(run_dir / PROGRESS) or {}
    summary = read_json(run_dir / SUMMARY) or {}
    holder = read_lock(run_dir)
    state = progress.get("state") if isinstance(progress, dict) else None
    if state == "running" and not lock_is_live(holder):
        state = "interrupted"  # its writer died: resuming redoes only unfinished work
    return RunInfo(run_dir.name, run_dir, str(manifest.get("created", "")), manifest.get("inputs_hash"),
                   state or "unknown", bool((manifest.get("settings") or {}).get("smoke")),
                   summary.get("pass_rate") if isinstance(summary, dict) else None,
                   summary.get("assessed") if isinstance(summary, dict) else None,
                   summary.get("recommendation") if isinstance(summary, dict) else None,
                   holder if lock_is_live(holder) else None)


def list_runs(root: Path) -> list[RunInfo]:
    """Newest first."""
    base = runs_dir(root)
    if not base.is_dir():
        return []
    out = []
    for p in sorted((p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True):
        info = run_info(p)
        if info is not None:
            out.append(info)
    return out


def prune(root: Path, keep: int, *, dry_run: bool = False, protect: Iterable[str] = ()) -> list[str]:
    """Delete all but the newest ``keep`` runs; a running run and protected ids (the one the
    report refers to) are never deleted."""
    protect = set(protect)
    doomed = []
    for info in list_runs(root)[keep:]:
        if info.holder is not None or info.id in protect:
            continue
        doomed.append(info.id)
        if not dry_run:
            shutil.rmtree(info.path)
    return doomed


def new_run_dir(root: Path, inputs_hash: str) -> Path:
    base = runs_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    h8 = inputs_hash.split(":", 1)[-1][:8]
    stamp = utc_stamp()
    for i in range(100):
        name = f"{stamp}-{h8}" if i == 0 else f"{stamp}-{h8}-{i}"
        try:
            (base / name).mkdir()
        except FileExistsError:
            continue
        (base / name / TRANSCRIPTS).mkdir()
        return base / name
    raise RuntimeError("could not create a run folder")


# --------------------------------------------------------------------------- identity

# The parts of ftd.yaml a run reads; the rest (description, deployment notes, checks) can
# change without invalidating a baseline.
RUN_SETTINGS = ("models", "budget", "eval", "base_model", "knowledge")


def input_hashes(project, scenarios_text: str | None = None) -> dict[str, str | None]:
    from ..artifacts.settings import knowledge_files
    from ..project.boundary import FileRefused, read_inside

    h: dict[str, str | None] = {
        "rubric": project.artifact_hash("rubric"),
        "taxonomy": project.artifact_hash("taxonomy"),
        "personas": project.artifact_hash("personas"),
        "user_sim": project.artifact_hash("user-sim"),
        "assistant": project.artifact_hash("assistant"),
        "system_prompt": project.artifact_hash("system-prompt"),
    }
    sf = project.files["settings"].ensure_parsed()
    data = sf.data if sf.readable and isinstance(sf.data, dict) else None
    h["settings"] = digest({k: data.get(k) for k in RUN_SETTINGS}) if data is not None else None
    parts = []
    for rel, label in knowledge_files(data or {}):
        try:  # read as the system message reads it: a file refused there is "missing" here too
            parts.append(f"{rel}|{label}|{hashlib.sha256(read_inside(project.root, rel)).hexdigest()}")
        except FileRefused:
            parts.append(f"{rel}|{label}|missing")
    h["knowledge"] = "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()
    if scenarios_text is not None:
        h["scenarios"] = "sha256:" + hashlib.sha256(scenarios_text.encode("utf-8")).hexdigest()
    return h


INPUT_NAMES = ("rubric", "taxonomy", "personas", "user_sim", "assistant", "system_prompt", "knowledge", "settings")


def inputs_hash_of(project) -> str | None:
    return combined_hash(input_hashes(project), INPUT_NAMES)
