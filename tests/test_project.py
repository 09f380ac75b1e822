"""Atomic saves, outside-edit detection, aliases, identity hashes."""

from __future__ import annotations

import os
import stat

import pytest

from ftd_tui.core.project.project import Project, ProjectError

from ftd_tui.core.project.storage import ConflictError, FileStamp, file_changed, save_atomic
from helpers import write
from ftd_tui.core.evaluation.runs import inputs_hash_of


def test_save_unchanged_writes_the_same_bytes(sample):
    root = sample("wellbeing-coaching")
    p = Project.load(root)
    lf = p.files["rubric"]
    save_atomic(lf.abspath, lf.yaml.to_bytes(), lf.stamp)
    assert lf.abspath.read_bytes() == lf.raw


def test_save_refuses_when_changed_on_disk(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"a: 1\n")
    stamp = FileStamp.of(f, f.read_bytes())
    f.write_bytes(b"a: 2\n")  # someone else saved
    with pytest.raises(ConflictError):
        save_atomic(f, b"a: 3\n", stamp)
    assert f.read_bytes() == b"a: 2\n"


def test_touch_without_change_is_not_a_conflict(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"a: 1\n")
    stamp = FileStamp.of(f, f.read_bytes())
    os.utime(f, ns=(1, 1))
    assert not file_changed(f, stamp)
    save_atomic(f, b"a: 3\n", stamp)
    assert f.read_bytes() == b"a: 3\n"


def test_replaced_file_same_size_is_a_conflict(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"a: 1\n")
    stamp = FileStamp.of(f, f.read_bytes())
    tmp = tmp_path / "b"
    tmp.write_bytes(b"a: 2\n")
    os.replace(tmp, f)  # git checkout replaces files like this
    assert file_changed(f, stamp)


def test_save_through_symlink_keeps_link_mode_and_leaves_no_temp(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_bytes(b"a: 1\n")
    os.chmod(real, 0o640)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    stamp = FileStamp.of(real, real.read_bytes())
    save_atomic(link, b"a: 2\n", stamp)
    assert link.is_symlink() and real.read_bytes() == b"a: 2\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.yaml", "real.yaml"]


def test_failed_write_leaves_original(tmp_path, monkeypatch):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"a: 1\n")
    stamp = FileStamp.of(f, f.read_bytes())

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_atomic(f, b"a: 2\n", stamp)
    assert f.read_bytes() == b"a: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


def test_refuses_to_overwrite_an_unloaded_file(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_bytes(b"a: 1\n")
    with pytest.raises(ConflictError):
        save_atomic(f, b"x", None)
    save_atomic(tmp_path / "new.yaml", b"b: 1\n", None, create=True)
    assert (tmp_path / "new.yaml").read_bytes() == b"b: 1\n"


def test_alias_paths_are_read_with_a_note(sample):
    root = sample("math-tutoring")
    os.rename(root / "config/system-prompt.md", root / "config/prompts/system.md")
    p = Project.load(root)
    assert p.files["system-prompt"].rel == "config/prompts/system.md"
    assert any(d.rule == "FIL004" for d in p.files["system-prompt"].problems)


def test_inputs_hash_follows_content(sample):
    root = sample("math-tutoring")
    h1 = inputs_hash_of(Project.load(root))
    assert h1 and h1.startswith("sha256:")
    assert inputs_hash_of(Project.load(root)) == h1
    write(root, "config/rubric.yaml", (root / "config/rubric.yaml").read_text() + "\n# note\n")
    assert inputs_hash_of(Project.load(root)) != h1


def test_not_a_project(tmp_path):
    with pytest.raises(ProjectError, match="ftd new"):
        Project.load(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "ftd.yaml").write_text("domain: x\n")
    assert Project.load(tmp_path / "sub", search_parents=True).root == tmp_path.resolve()
