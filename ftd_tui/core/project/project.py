"""A project on disk: find it, load every artifact, save atomically, notice outside edits."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .storage import FileStamp, file_changed, remove_stale_temps
from .boundary import FileRefused, read_inside
from ..rules.diagnostics import Diagnostic, make
from ..text.markdown import MarkdownDoc, parse_markdown
from ..text.yamldoc import MAX_BYTES, YamlDocument, YamlError, decode_text

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

    def changed_on_disk(self, artifact_id: str) -> bool:
        lf = self.files[artifact_id]
        return file_changed(lf.abspath, lf.stamp)
