"""Files on disk as ftd writes them: stamps that notice outside edits, atomic saves that never
leave half a file, a lock against two ftd writers of one folder, and stale temporaries swept.

Below the project model on purpose: run folders (core.evaluation.runs), critique logs and drafts
save through here without importing the Project."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .boundary import FileRefused, read_regular


class ConflictError(Exception):
    """The file changed on disk since it was loaded; nothing was written."""


class ReadOnlyError(PermissionError):
    """The file is read-only (mode 444 and the like); nothing was written. A PermissionError, so
    every caller that already reports an OSError says so instead of crashing."""


@dataclass(frozen=True)
class FileStamp:
    size: int
    mtime_ns: int
    inode: int
    sha256: str

    @classmethod
    def of(cls, path: Path, data: bytes) -> FileStamp:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, hashlib.sha256(data).hexdigest())


def file_changed(path: Path, stamp: FileStamp | None) -> bool:
    """Size, mtime and inode first (cheap); the content hash settles a touch without a change."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return stamp is not None
    except OSError:  # a folder made unreadable meanwhile: not the file that was loaded
        return True
    if stamp is None:
        return True
    if (st.st_size, st.st_mtime_ns, st.st_ino) == (stamp.size, stamp.mtime_ns, stamp.inode):
        return False
    try:  # read as artifacts are read: a file replaced by a FIFO must not hang the app's polling
        return hashlib.sha256(read_regular(path)).hexdigest() != stamp.sha256
    except FileRefused:
        return True


def save_atomic(path: Path, data: bytes, expected: FileStamp | None = None, *, create: bool = False,
                replace_readonly: bool = False) -> FileStamp:
    """Write ``data`` to ``path`` atomically: a temp file beside the target, fsync, rename, fsync
    the folder. Writes through a symlink to its target; keeps mode and owner. Refuses (and writes
    nothing) when the file changed on disk since ``expected`` was taken, and (ReadOnlyError) when
    the file is read-only, unless ``replace_readonly``. The stamp check and the rename happen under
    the folder's lock, so two ftd writers can never both pass the check and lose one's change."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    with folder_lock(target):
        return _save_locked(path, target, data, expected, create, replace_readonly)


def _save_locked(path: Path, target: Path, data: bytes, expected: FileStamp | None, create: bool,
                 replace_readonly: bool) -> FileStamp:
    folder = target.parent
    if expected is not None and file_changed(target, expected):
        raise ConflictError(f"{path} changed on disk since it was loaded; reload or compare before saving")
    if expected is None and target.exists() and not create:
        raise ConflictError(f"{path} exists and was not loaded; refusing to overwrite it")
    remove_stale_temps(folder)
    try:
        st = target.stat()
        mode, uid, gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
    except FileNotFoundError:
        mode, uid, gid = None, None, None
    if mode is not None and not replace_readonly and not _writable(target, mode):
        raise ReadOnlyError(f"{path} is read-only (mode {mode:04o}); refusing to replace it")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".ftd-tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
            try:
                os.chown(tmp, uid, gid)
            except PermissionError:
                pass  # not ours to change; the new file keeps our ownership
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:  # whatever stops the write (Ctrl-C included): the temporary file goes, the error goes on
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:  # some filesystems cannot fsync a folder
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.EACCES):
            raise
    return FileStamp.of(target, data)


def _writable(target: Path, mode: int) -> bool:
    """Whether the user may write the file itself. Replacing it by rename needs only the folder,
    which is how a save would quietly replace a mode-444 file; root may write anything, so for
    root the mode bits decide (no write bit at all: read-only)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return bool(mode & 0o222)
    return os.access(target, os.W_OK)


# --------------------------------------------------------------------------- ftd's own writers

LOCK_WAIT = 10.0  # seconds a writer waits for another ftd writer of the same folder
_held = threading.local()  # folders this thread has locked (the lock is re-entrant per thread)


@contextmanager
def folder_lock(path: Path | str, wait: float = LOCK_WAIT) -> Iterator[None]:
    """An advisory lock (flock) on the folder of ``path``'s real target, held by ftd's own
    writers — the app and the CLI — across check, write and rename (``ftd set`` across its whole
    read, edit, save). A lock on the folder leaves no lock files behind in the project. Where
    flock is unavailable (Windows, some network filesystems) the stamp check alone guards."""
    folder = os.path.dirname(os.path.realpath(path))
    held: set[str] = _held.__dict__.setdefault("folders", set())
    if folder in held:
        yield
        return
    fd = _lock_fd(folder, wait)
    held.add(folder)
    try:
        yield
    finally:
        held.discard(folder)
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock


def _lock_fd(folder: str, wait: float) -> int | None:
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # the save itself will report why the folder cannot be used
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:  # never hang on a stuck writer: say so instead
                os.close(fd)
                raise ConflictError(f"another ftd process has been saving in {folder} for {wait:.0f} s; "
                                    "nothing was written, try again") from None
            time.sleep(0.01)
        except OSError:
            os.close(fd)
            return None


# kill -9 between mkstemp and the rename leaves ".<name>.<8 random chars>.ftd-tmp" behind
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.ftd-tmp$")
STALE_AFTER = 600.0  # seconds; a save in flight in another process is far younger than this


def remove_stale_temps(folder: Path | str, older_than: float = STALE_AFTER) -> list[str]:
    """Delete ftd's own temp files in ``folder`` (by name) older than ``older_than`` seconds (by
    mtime), never a symlink or anything else; returns the names removed. Errors are ignored: a
    folder we cannot clean is still a folder we can read."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.endswith(".ftd-tmp") or not _TEMP_NAME.match(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > older_than:
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue
    return removed
