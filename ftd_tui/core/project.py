"""A project on disk: find it, load every artifact, save atomically, notice outside edits."""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .boundary import FileRefused, read_inside, read_regular
from .diagnostics import Diagnostic, make
from .markdown import MarkdownDoc, parse_markdown
from .yamldoc import MAX_BYTES, YamlDocument, YamlError, decode_text

SETTINGS_FILE = "ftd.yaml"


@dataclass(frozen=True)
class ArtifactSpec:
    id: str
    path: str
    kind: str  # "yaml" | "markdown"
    step: int  # workflow step (0 for settings)
    title: str
    aliases: tuple[str, ...] = ()
    required: bool = True


ARTIFACTS: tuple[ArtifactSpec, ...] = (
    ArtifactSpec("settings", SETTINGS_FILE, "yaml", 2, "Settings"),
    ArtifactSpec("model-choice", "model-choice.md", "markdown", 1, "Base model choice"),
    ArtifactSpec("taxonomy", "config/input-taxonomy.yaml", "yaml", 3, "Input taxonomy", ("config/taxonomy.yaml",)),
    ArtifactSpec("rubric", "config/rubric.yaml", "yaml", 4, "Rubric"),
    ArtifactSpec("personas", "config/persona-template.yaml", "yaml", 5, "Persona template"),
    ArtifactSpec("user-sim", "config/prompts/user_sim.md", "markdown", 6, "User simulator prompt"),
    ArtifactSpec("assistant", "config/prompts/assistant.md", "markdown", 6, "Assistant prompt"),
    ArtifactSpec("system-prompt", "config/system-prompt.md", "markdown", 6, "System prompt", ("config/prompts/system.md",)),
    ArtifactSpec("eval-results", "base-model-eval-results.md", "markdown", 7, "Baseline results", required=False),
    ArtifactSpec("experts", "critiques/experts.yaml", "yaml", 0, "Expert panels", required=False),
)
BY_ID = {a.id: a for a in ARTIFACTS}
PROMPT_IDS = ("user-sim", "assistant", "system-prompt")
# `prompts` names the three prompts as one unit (the critique treats them together).
UNIT_IDS = {"prompts": PROMPT_IDS}
ARTIFACT_IDS = tuple(a.id for a in ARTIFACTS) + ("prompts",)


class ProjectError(Exception):
    """The folder cannot be read as a project at all (exit code 2)."""


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


@dataclass
class LoadedFile:
    spec: ArtifactSpec
    rel: str  # the path actually used, relative to the project
    abspath: Path
    exists: bool = False
    stamp: FileStamp | None = None
    raw: bytes | None = None
    text: str | None = None
    bom: bool = False
    yaml: YamlDocument | None = None
    md: MarkdownDoc | None = None
    problems: list[Diagnostic] = field(default_factory=list)

    @property
    def data(self) -> Any:
        return self.yaml.data if self.yaml is not None else None

    @property
    def parsed(self) -> bool:
        return self.yaml is not None or self.md is not None or self.text is None or bool(self.problems)

    def ensure_parsed(self) -> LoadedFile:
        """Files read text-only for a first frame are parsed before anything checks them."""
        if not self.parsed:
            _parse_into(self, self.text, self.bom)
        return self

    @property
    def readable(self) -> bool:
        return self.exists and not any(d.severity == "error" for d in self.problems)

    @property
    def sha256(self) -> str | None:
        return self.stamp.sha256 if self.stamp else None


def unit_hash(parts: list[tuple[str, str]]) -> str:
    """One artifact's hash is its file's sha256; a unit of several combines (path, sha256) pairs."""
    if len(parts) == 1:
        return "sha256:" + parts[0][1]
    return "sha256:" + hashlib.sha256("\n".join(f"{rel}:{h}" for rel, h in parts).encode()).hexdigest()


def find_root(start: Path) -> Path:
    """The folder holding ftd.yaml: ``start`` itself or one of its parents."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    raise ProjectError(f"{start} is not an ftd project (no {SETTINGS_FILE} here or above); create one with: ftd new {start}")


def _present(path: Path) -> bool:
    """Whether anything stands at ``path`` (a dangling symlink too). A folder we may not enter
    counts as present, so the read that follows reports it (FIL006) instead of "missing"."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def read_artifact(root: Path, spec: ArtifactSpec, *, parse: bool = True) -> LoadedFile:
    rel = spec.path
    path = root / rel
    used_alias = None
    if not _present(path):
        for alias in spec.aliases:
            if _present(root / alias):
                rel, path, used_alias = alias, root / alias, alias
                break
    lf = LoadedFile(spec, rel, path)
    if not _present(path):
        return lf
    lf.exists = True
    if used_alias:
        lf.problems.append(make("FIL004", rel, 1, 1, f"{spec.title} read from {used_alias}; the usual path is {spec.path}",
                                "rename it when convenient (git mv) so other tools find it"))
    try:
        # inside the project, a regular file, read up to the cap while reading (not by st_size)
        data = read_inside(root, rel, MAX_BYTES)
        lf.stamp = FileStamp.of(path, data)
    except FileRefused as exc:
        lf.problems.append(make(exc.rule, rel, 1, 1, exc.message, exc.hint))
        return lf
    except OSError as exc:  # removed or locked between the read and the stamp
        lf.problems.append(make("FIL006", rel, 1, 1, f"cannot read: {exc.strerror or exc}"))
        return lf
    lf.raw = data
    try:
        text, bom = decode_text(data)
    except YamlError as exc:
        lf.problems.append(make(exc.rule, rel, exc.line, exc.column, exc.message))
        return lf
    if not parse:  # the text alone, for a first frame; checks come from a full load
        lf.text, lf.bom = text, bom
        return lf
    return _parse_into(lf, text, bom)


def artifact_from_text(root: Path, spec: ArtifactSpec, rel: str, text: str, bom: bool = False) -> LoadedFile:
    """An artifact as it stands in an editor buffer (not yet saved): checked like a file."""
    lf = LoadedFile(spec, rel, root / rel, exists=True)
    return _parse_into(lf, text, bom)


def _parse_into(lf: LoadedFile, text: str, bom: bool) -> LoadedFile:
    rel, path, spec = lf.rel, lf.abspath, lf.spec
    lf.text, lf.bom = text, bom
    if not lf.text.strip():
        lf.problems.append(make("FIL005", rel, 1, 1, "the file is empty", "ftd new shows a commented template for every artifact"))
        return lf
    if spec.kind == "yaml":
        try:
            lf.yaml = YamlDocument(lf.text, bom=lf.bom, path=str(path))
            value = lf.yaml.data
        except YamlError as exc:
            lf.yaml = None
            lf.problems.append(make(exc.rule, rel, exc.line, exc.column, exc.message))
            return lf
        if not isinstance(value, dict):
            lf.problems.append(make("YML007", rel, 1, 1, "the top level must be a mapping of keys to values"))
    else:
        lf.md = parse_markdown(lf.text)
        fm = lf.md.front_matter
        if fm is not None:
            try:
                fm.data  # noqa: B018 - construct now so errors surface with a location
            except YamlError as exc:
                lf.md.front_matter = None
                lf.md.front_matter_error = YamlError(exc.message, exc.line + 1, exc.column, exc.rule)
    return lf


class Project:
    def __init__(self, root: Path, files: dict[str, LoadedFile]):
        self.root = root
        self.files = files

    @classmethod
    def load(cls, path: Path | str, *, search_parents: bool = False, parse: bool = True) -> Project:
        p = Path(path)
        if not p.exists():
            raise ProjectError(f"{p} does not exist")
        if not p.is_dir():
            raise ProjectError(f"{p} is not a folder")
        try:
            root = find_root(p) if search_parents else p.resolve()
            is_project = (root / SETTINGS_FILE).is_file()
        except PermissionError:
            raise ProjectError(f"{p} cannot be read: permission denied (chmod u+rx {p})") from None
        if not is_project:
            raise ProjectError(f"{root} is not an ftd project (no {SETTINGS_FILE}); create one with: ftd new {root}")
        for folder in {(root / spec.path).parent for spec in ARTIFACTS}:
            remove_stale_temps(folder)  # left by a save killed mid-way (kill -9, power cut)
        return cls(root, {spec.id: read_artifact(root, spec, parse=parse) for spec in ARTIFACTS})

    def overlay(self, buffers: dict[str, str]) -> Project:
        """This project as the user sees it: unsaved buffers in place of their files."""
        files = dict(self.files)
        for artifact_id, text in buffers.items():
            disk = self.files[artifact_id]
            lf = artifact_from_text(self.root, disk.spec, disk.rel, text, disk.bom)
            lf.stamp = disk.stamp  # identity hashes stay those of the saved file
            lf.problems = [d for d in disk.problems if d.rule == "FIL004"] + lf.problems
            files[artifact_id] = lf
        return Project(self.root, files)

    def reload(self, artifact_id: str) -> LoadedFile:
        self.files[artifact_id] = read_artifact(self.root, BY_ID[artifact_id])
        return self.files[artifact_id]

    def file(self, artifact_id: str) -> LoadedFile:
        return self.files[artifact_id]

    def artifact_hash(self, artifact_id: str) -> str | None:
        """Content hash of an artifact, or of a unit (``prompts``: the three prompt files)."""
        parts = []
        for i in UNIT_IDS.get(artifact_id, (artifact_id,)):
            lf = self.files[i]
            if lf.stamp is None:
                return None
            parts.append((lf.rel, lf.stamp.sha256))
        return unit_hash(parts)

    def inputs_hash(self) -> str | None:
        """Identity of everything a baseline run depends on (core.runs.input_hashes)."""
        from .runs import inputs_hash_of

        return inputs_hash_of(self)

    def changed_on_disk(self, artifact_id: str) -> bool:
        lf = self.files[artifact_id]
        return file_changed(lf.abspath, lf.stamp)


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
    except BaseException:
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
