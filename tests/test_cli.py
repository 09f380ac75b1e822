"""The ftd command as a user runs it: exit codes, formats, exact one-line edits, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import write

from conftest import SAMPLE_NAMES

FTD = [sys.executable, "-m", "ftd_tui"]


def run(*args, cwd=None, env=None):
    e = dict(os.environ, NO_COLOR="1")
    e.update(env or {})
    return subprocess.run(FTD + list(args), capture_output=True, text=True, cwd=cwd, env=e, timeout=60)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
@pytest.mark.slow
def test_check_passes_on_every_sample(name):
    p = run("check", f"sample_projects/{name}", cwd=Path(__file__).parent.parent)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("Next: Step 7")
    assert "0 error(s)" in p.stdout


def test_check_json_shape(sample):
    root = sample("math-tutoring")
    write(root, "config/rubric.yaml", (root / "config/rubric.yaml").read_text().replace("pass_threshold: 0.8", "pass_threshold: 1.5"))
    p = run("check", str(root), "--format", "json")
    assert p.returncode == 1
    data = json.loads(p.stdout)
    assert set(data) == {"diagnostics", "gates"}
    d = next(d for d in data["diagnostics"] if d["rule"] == "RUB016")
    assert set(d) >= {"rule", "severity", "file", "line", "column", "message"}
    assert d["file"] == "config/rubric.yaml" and d["severity"] == "error"
    assert [g["step"] for g in data["gates"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(set(g) >= {"step", "name", "passed", "reason"} for g in data["gates"])
    rubric_gate = next(g for g in data["gates"] if g["step"] == 4)
    assert rubric_gate["passed"] is False


def test_check_text_groups_by_file_and_leads_with_next_step(sample):
    root = sample("math-tutoring")
    write(root, "config/rubric.yaml", (root / "config/rubric.yaml").read_text().replace("pass_threshold: 0.8", "pass_threshold: 1.5"))
    p = run("check", str(root))
    assert p.returncode == 1
    first = p.stdout.splitlines()[0]
    assert first.startswith("Next: Step 4") and "config/rubric.yaml:" in first
    assert any(l.startswith("config/rubric.yaml:") and "  RUB016  error  " in l for l in p.stdout.splitlines())


@pytest.mark.parametrize("case", ["missing", "file", "not-a-project"])
def test_unreadable_project_exits_2(tmp_path, case):
    target = tmp_path / "x"
    if case == "file":
        target.write_text("hi")
    elif case == "not-a-project":
        target.mkdir()
    p = run("check", str(target))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and p.stderr.startswith("ftd: ")
    if case == "not-a-project":
        assert "ftd new" in p.stderr


BAD_FILES = {
    "malformed": b"categories: {a: [1, 2}\n",
    "wrong types": b"categories: 5\ncriteria: [1]\nsafety_gates: oops\npass_threshold: high\n",
    "non-utf8": b"criteria:\n  C1: {name: \xe9t\xe9}\n",
    "empty": b"",
    "huge": b"a: 1\n" + b"# padding\n" * 1_100_000,
    "unsafe tag": b"a: !!python/object/new:os.system [echo]\n",
    "alias bomb": b"a: &a [x,x,x,x,x,x,x,x,x]\n" + b"".join(
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n".encode() for p, c in zip("abcdefgh", "bcdefghi")),
    "binary": bytes(range(256)) * 10,
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.slow
def test_bad_input_gets_a_located_message_never_a_traceback(sample, case):
    root = sample("math-tutoring")
    write(root, "config/rubric.yaml", BAD_FILES[case])
    p = run("check", str(root))
    assert p.returncode == 1, p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    lines = [l for l in p.stdout.splitlines() if l.startswith("config/rubric.yaml:")]
    assert lines, p.stdout
    loc = lines[0].split()[0]
    _, line, col = loc.split(":")
    assert int(line) >= 1 and int(col) >= 1


def test_missing_artifact_is_an_error_not_a_crash(sample):
    root = sample("software-support")
    (root / "config/prompts/assistant.md").unlink()
    p = run("check", str(root))
    assert p.returncode == 1 and "FIL001" in p.stdout


COMMENTED = """\
# Rubric for the support bot — reviewed 2026-11-02
categories:
  accuracy:   # the heavy one
    weight: 0.6
    criteria: [AC1]
  tone: {weight: 0.4, criteria: [TN1]}
criteria:
  AC1:
    name: "Correct policy"   # quoted on purpose
    na_valid: false
    question: >-
      Does the reply state the refund policy
      as written?
  TN1:
    name: Tone
    na_valid: true
pass_threshold: 0.80   # from the published project
"""


def test_set_changes_exactly_one_line(tmp_path):
    f = tmp_path / "rubric.yaml"
    f.write_bytes(COMMENTED.encode())
    p = run("set", str(f), "criteria.AC1.na_valid", "true")
    assert p.returncode == 0, p.stderr
    old, new = COMMENTED.splitlines(), f.read_text().splitlines()
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new) if a != b]
    assert changed == [("    na_valid: false", "    na_valid: true")]


def test_set_keeps_crlf_bom_and_quoting(tmp_path):
    f = tmp_path / "x.yaml"
    raw = ("\ufeff" + COMMENTED.replace("\n", "\r\n")).encode()
    f.write_bytes(raw)
    assert run("set", str(f), "criteria.AC1.name", "Correct refund policy").returncode == 0
    out = f.read_bytes()
    assert out.startswith(b"\xef\xbb\xbf") and out.count(b"\r\n") == raw.count(b"\r\n")
    assert b'    name: "Correct refund policy"   # quoted on purpose\r\n' in out


def test_set_flow_value_replaces_a_mapping(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text(COMMENTED)
    assert run("set", str(f), "categories.tone", "{weight: 0.4, criteria: [TN1, TN2]}").returncode == 0
    p = run("get", str(f), "categories.tone.criteria")
    assert json.loads(p.stdout) == ["TN1", "TN2"]


@pytest.mark.slow
def test_get_and_missing_paths(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text(COMMENTED)
    assert run("get", str(f), "pass_threshold").stdout.strip() == "0.8"
    assert run("get", str(f), "criteria.AC1.question").stdout.strip() == "Does the reply state the refund policy as written?"
    p = run("get", str(f), "criteria.ZZ.name")
    assert p.returncode == 1 and "no value at criteria.ZZ" in p.stderr
    p = run("set", str(f), "criteria.TN1.min_turns", "3")
    assert p.returncode == 1 and "--create" in p.stderr
    before = f.read_text()
    assert before == COMMENTED
    p = run("set", str(f), "criteria.TN1.min_turns", "3", "--create")
    assert p.returncode == 0
    assert f.read_text().count("\n") == COMMENTED.count("\n") + 1
    assert run("get", str(f), "criteria.TN1.min_turns").stdout.strip() == "3"
    p = run("set", str(f), "scoring.na", "skip", "--create")
    assert p.returncode == 0 and run("get", str(f), "scoring.na").stdout.strip() == "skip"


def test_set_list_index_paths(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("taxonomy:\n  topics:\n    - name: a   # first\n      weight: 0.5\n    - name: b\n      weight: 0.5\n")
    assert run("set", str(f), "taxonomy.topics[1].weight", "0.25").returncode == 0
    assert f.read_text() == "taxonomy:\n  topics:\n    - name: a   # first\n      weight: 0.5\n    - name: b\n      weight: 0.25\n"


@pytest.mark.slow
def test_new_from_sample_and_blank(tmp_path):
    p = run("new", str(tmp_path / "proj"))
    assert p.returncode == 0, p.stderr
    assert run("check", str(tmp_path / "proj")).returncode == 0
    p = run("new", str(tmp_path / "blank"), "--template", "blank")
    assert p.returncode == 0
    c = run("check", str(tmp_path / "blank"))
    assert c.returncode == 1 and "RUB003" in c.stdout  # a blank rubric needs examples
    assert run("new", str(tmp_path / "proj")).returncode == 2  # not empty: refuses
    p = run("new", str(tmp_path / "other"), "--template", "nope")
    assert p.returncode == 2 and "blank" in p.stderr


@pytest.mark.slow
def test_schema_validates_the_samples():
    import jsonschema

    from ftd_tui.core.text.yamldoc import YamlDocument

    root = Path(__file__).parent.parent / "sample_projects"
    for artifact, rel in (("settings", "ftd.yaml"), ("rubric", "config/rubric.yaml"),
                          ("taxonomy", "config/input-taxonomy.yaml"), ("personas", "config/persona-template.yaml"),
                          ("experts", "critiques/experts.yaml")):
        p = run("schema", artifact)
        assert p.returncode == 0
        schema = json.loads(p.stdout)
        for name in SAMPLE_NAMES:
            data = YamlDocument.from_bytes((root / name / rel).read_bytes()).data
            jsonschema.validate(json.loads(json.dumps(data, default=str)), schema)
    bad = run("schema", "nope")
    assert bad.returncode == 2


def test_status_one_screen():
    p = run("status", "sample_projects/wellbeing-coaching", cwd=Path(__file__).parent.parent)
    assert p.returncode == 0
    assert len(p.stdout.splitlines()) <= 40
    assert "Next: Step 7" in p.stdout


def test_app_refuses_without_a_terminal():
    p = run("sample_projects/wellbeing-coaching", cwd=Path(__file__).parent.parent)
    assert p.returncode == 2 and "terminal" in p.stderr


def test_locate_prints_every_folder(tmp_path):
    env = {"FTD_CONFIG_DIR": str(tmp_path / "c"), "FTD_STATE_DIR": str(tmp_path / "s"), "FTD_CACHE_DIR": str(tmp_path / "k")}
    p = run("locate", env=env)
    assert p.returncode == 0
    for needle in ("config file", "drafts", "crash reports", "themes (built in)", str(tmp_path / "s")):
        assert needle in p.stdout
