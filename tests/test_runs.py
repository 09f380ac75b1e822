"""Run folders: the checkpoint survives a torn write, the lock keeps a second writer out, the
identity of a run follows exactly the inputs it reads."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from helpers import diagnostics, replace, write, yset

from ftd_tui.core.evaluation import runs
from ftd_tui.core.project.project import Project
from ftd_tui.core.evaluation.runs import inputs_hash_of


def test_a_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "calls.jsonl"
    cp = runs.Checkpoint(path)
    cp.append({"kind": "answer", "n": 1})
    cp.append({"kind": "answer", "n": 2})
    cp.close()
    with open(path, "ab") as fh:
        fh.write(b'{"kind": "answer", "n": 3, "reason')  # the process died mid-write
    assert [r["n"] for r in runs.read_jsonl(path)] == [1, 2]
    cp = runs.Checkpoint(path)
    cp.append({"kind": "answer", "n": 4})
    cp.close()
    assert [r["n"] for r in runs.read_jsonl(path)] == [1, 2, 4]
    assert path.read_bytes().count(b"\n") == 3


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / runs.LOCK).write_text(json.dumps({"pid": holder.pid, "user": "kim", "host": socket.gethostname(),
                                                      "started": "x"}))
        with pytest.raises(runs.LockHeld, match=f"kim@.*pid {holder.pid}"):
            runs.RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    lock = runs.RunLock(tmp_path)
    lock.acquire()
    assert runs.read_lock(tmp_path)["pid"] == os.getpid()
    lock.release()
    assert not (tmp_path / runs.LOCK).exists()


def test_another_hosts_lock_counts_as_live(tmp_path):
    (tmp_path / runs.LOCK).write_text(json.dumps({"pid": 1, "user": "kim", "host": "elsewhere.example", "started": "x"}))
    with pytest.raises(runs.LockHeld, match="kim@elsewhere"):
        runs.RunLock(tmp_path).acquire()


def test_prune_keeps_the_newest_the_running_and_the_reported(tmp_path):
    for i in range(5):
        d = runs.runs_dir(tmp_path) / f"2026010{i}T000000Z-abcdef0{i}"
        d.mkdir(parents=True)
        runs.write_json_atomic(d / runs.MANIFEST, {"id": d.name, "created": "x"})
    gone = runs.prune(tmp_path, 2, protect=["20260100T000000Z-abcdef00"])
    assert gone == ["20260102T000000Z-abcdef02", "20260101T000000Z-abcdef01"]
    assert sorted(p.name for p in runs.runs_dir(tmp_path).iterdir()) == [
        "20260100T000000Z-abcdef00", "20260103T000000Z-abcdef03", "20260104T000000Z-abcdef04"]


def test_inputs_hash_follows_what_a_run_reads(sample):
    root = sample("software-support")
    h = inputs_hash_of(Project.load(root))
    yset(root, "ftd.yaml", "description", "another description")  # not read by a run
    assert inputs_hash_of(Project.load(root)) == h
    replace(root, "knowledge/policy.md", "30 days", "31 days")  # appended to the system prompt
    h2 = inputs_hash_of(Project.load(root))
    assert h2 != h
    yset(root, "ftd.yaml", "models.judges[0].temperature", 0.1)
    assert inputs_hash_of(Project.load(root)) != h2


def test_knowledge_files_must_exist_inside_the_project(sample):
    root = sample("software-support")
    yset(root, "ftd.yaml", "knowledge", [{"path": "knowledge/missing.md"}, {"path": "/etc/passwd"}])
    found = [d for d in diagnostics(root) if d.rule == "SET012"]
    assert [d.line for d in found] == sorted(d.line for d in found) and len(found) == 2
    assert "does not exist" in found[0].message and "outside the project" in found[1].message
    write(root, "knowledge/missing.md", "now here")
    assert len([d for d in diagnostics(root) if d.rule == "SET012"]) == 1


def test_background_checkpoint_keeps_order_and_is_on_disk_after_flush(tmp_path):
    path = tmp_path / "calls.jsonl"
    cp = runs.Checkpoint(path, background=True)
    for i in range(500):
        cp.append({"n": i})
    cp.flush()
    assert [r["n"] for r in runs.read_jsonl(path)] == list(range(500))
    cp.append({"n": 500})
    cp.close()
    assert len(runs.read_jsonl(path)) == 501
