"""Reading project files safely: only what resolves inside the project, only regular files,
never more than the cap.

A project travels through git, and git stores symlinks: `knowledge/notes.md -> ~/.ssh/id_rsa`
would otherwise be read, checked and sent to a model. A FIFO would hang a read, `/dev/zero`
would never end one, and `st_size` says nothing about either. Everything ftd reads from a
project to check it or send it goes through ``read_inside`` (or ``read_regular`` for a path
already known to be inside)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..text.yamldoc import MAX_BYTES

_CHUNK = 1 << 20


class FileRefused(Exception):
    """The file is not read. ``rule`` is the finding it becomes (FIL002 / FIL006 / FIL007 / FIL008)."""

    def __init__(self, rule: str, message: str, hint: str = ""):
        super().__init__(message)
        self.rule, self.message, self.hint = rule, message, hint


def inside_project(root: Path | str, rel: str | Path) -> Path | None:
    """The real path of ``root/rel`` when it lies inside the project's real root, else None.
    Symlinks are followed all the way (realpath), so a link that stays inside keeps working and
    one that leaves the project — however many hops — is caught."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, rel))
    if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
        return Path(real)
    return None


def read_inside(root: Path | str, rel: str, limit: int = MAX_BYTES) -> bytes:
    """``root/rel`` read as ``read_regular`` does, refused (FIL007) when it resolves outside."""
    real = inside_project(root, rel)
    if real is None:
        target = os.path.realpath(os.path.join(root, rel))
        raise FileRefused("FIL007", f"resolves outside the project (a symlink to {target}); ftd does not read it",
                          "copy the file into the project, or point the link at a file inside it")
    return read_regular(real, limit)


def read_regular(path: Path | str, limit: int = MAX_BYTES) -> bytes:
    """At most ``limit`` bytes of a regular file; FileRefused for anything else. Messages name no
    file: the caller puts them after the location (``file:1:1: FIL008 …``).

    Opened with O_NONBLOCK so a FIFO cannot block the open, then checked with fstat on the
    opened descriptor (no window between the check and the read), and read in chunks up to
    limit + 1 bytes: a file that grows, or lies about its size, still stops at the cap."""
    try:
        st = os.stat(path)  # refuse devices before opening them: opening some has side effects
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(st.st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileRefused:
        raise
    except PermissionError:
        raise _permission(path) from None
    except FileNotFoundError:
        raise FileRefused("FIL006", "does not exist (a dangling symlink?)") from None
    except OSError as exc:
        raise FileRefused("FIL006", f"cannot be read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(st.st_mode)
        chunks, total = [], 0
        while total <= limit:
            piece = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not piece:
                break
            chunks.append(piece)
            total += len(piece)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise FileRefused("FIL008", "not a regular file (reading it would block)") from None
        raise FileRefused("FIL006", f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if total > limit:
        raise FileRefused("FIL002", f"over {limit / (1024 * 1024):.0f} MB (counted while reading); ftd reads artifacts up to "
                          f"{limit / (1024 * 1024):.0f} MB", "split it, or keep large material outside the artifacts")
    return b"".join(chunks)


def _not_regular(mode: int) -> FileRefused:
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "something else")
    if stat.S_ISDIR(mode):
        return FileRefused("FIL006", "a folder stands where this file should be")
    return FileRefused("FIL008", f"not a regular file but {kind}; ftd reads only regular files",
                       "replace it with an ordinary text file")


def _permission(path: Path | str) -> FileRefused:
    """Name the folder when it is the folder that cannot be entered (a mode-000 config/)."""
    folder = Path(path).parent
    if not os.access(folder, os.X_OK):
        return FileRefused("FIL006", f"cannot be read: permission denied on its folder {folder.name}/",
                           f"give yourself access to the folder: chmod u+rx {folder}")
    return FileRefused("FIL006", "cannot be read: permission denied",
                       f"give yourself read access: chmod u+r {path}")
