"""What every model role receives, for every sample, kept as text snapshots: a change to a prompt
shows in a diff under tests/snapshots/prompts/ and has to be accepted on purpose
(FTD_UPDATE_SNAPSHOTS=1 rewrites them). Rendered by `ftd prompts show` itself (its main(), in
this process; one test runs it as a subprocess), so the snapshot is what a user sees.

Two things vary between runs and are normalised: the fence marker (drawn at random today) and
long project data blocks, which are cut to their first lines with the count and hash of the rest,
so a snapshot keeps every instruction ftd writes without copying a 1,400-line rubric three times."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ("wellbeing-coaching", "math-tutoring", "software-support")
SNAPSHOTS = Path(__file__).parent / "snapshots" / "prompts"
KEEP_LINES = 12  # of a long data block: enough to see what it is
MARKER = re.compile(r"DATA-[0-9A-F]{8}")


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # the conftest's isolated user folders are in os.environ: the user's own config names no models
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "ftd_tui", *args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=120)


def _show(capsys, *args: str) -> str:
    """`ftd prompts show …` in this process (the CLI's own main(); a subprocess per case would
    spend the suite's time importing Python): its exit code must be 0, its stdout is returned."""
    from ftd_tui.cli import main

    capsys.readouterr()
    code = main(["prompts", "show", *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _elide(text: str) -> str:
    """Cut every fenced data block longer than KEEP_LINES to its head, saying what was cut."""
    out, block, marker = [], [], None
    for line in text.splitlines():
        if marker is None:
            out.append(line)
            m = re.match(r"<<<(DATA-X{8}) [^>]*>>>$", line)
            if m:
                marker, block = m.group(1), []
            continue
        if line == f"<<<END {marker}>>>":
            if len(block) > KEEP_LINES:
                rest = "\n".join(block[KEEP_LINES:])
                digest = hashlib.sha256(rest.encode()).hexdigest()[:12]
                block = block[:KEEP_LINES] + [f"[… {len(block) - KEEP_LINES} more lines, sha256 {digest} …]"]
            out += block + [line]
            marker = None
        else:
            block.append(line)
    return "\n".join(out) + "\n"


def _normalise(text: str) -> str:
    return _elide(MARKER.sub("DATA-XXXXXXXX", text))


def _cases() -> list[tuple[str, str, tuple[str, ...]]]:
    from ftd_tui.core.text.yamldoc import YamlDocument

    cases = []
    for sample in SAMPLES:
        rubric = YamlDocument.from_bytes((ROOT / "sample_projects" / sample / "config" / "rubric.yaml").read_bytes()).data
        gate = rubric["safety_gates"][0]
        first = next(c for c in rubric["criteria"] if c not in rubric["safety_gates"])  # an ordinary criterion
        cases += [(sample, f"judge-{first}", ("judge", "--criterion", first)),
                  (sample, f"judge-{gate}", ("judge", "--criterion", gate)),
                  (sample, "simulator", ("simulator",)),
                  (sample, "base", ("base",)),
                  (sample, "scenario-writer", ("scenario-writer",)),
                  (sample, "expert-rubric", ("expert", "--unit", "rubric")),
                  (sample, "synthesis-rubric", ("synthesis", "--unit", "rubric"))]
    return cases


CASES = _cases()


@pytest.mark.parametrize("sample,name,args", CASES, ids=[f"{s}/{n}" for s, n, _ in CASES])
def test_prompt_snapshot(sample, name, args, capsys):
    text = _normalise(_show(capsys, args[0], str(ROOT / "sample_projects" / sample), *args[1:]))
    path = SNAPSHOTS / sample / f"{name}.txt"
    if os.environ.get("FTD_UPDATE_SNAPSHOTS") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not os.environ.get("FTD_UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {path.relative_to(ROOT)} was missing and has been written; rerun")
    assert text == path.read_text(encoding="utf-8"), f"what {args[0]} receives changed: diff against {path}"


def test_json_is_the_messages_a_run_sends(tmp_path):
    """--format json carries the messages whole (no elision): the base model's system message is
    the project's own, byte for byte, and nothing else precedes the conversation."""
    root = ROOT / "sample_projects" / "software-support"
    proc = _run("prompts", "show", "base", str(root), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    from ftd_tui.core.project.project import Project
    from ftd_tui.core.artifacts.system_message import system_message

    assert data["messages"][0] == {"role": "system", "content": system_message(Project.load(root))}
    assert [m["role"] for m in data["messages"]] == ["system", "user"]
    assert any("stand-in" in n for n in data["notes"])


@pytest.mark.slow
def test_unknown_choices_are_plain_errors(tmp_path):
    root = ROOT / "sample_projects" / "math-tutoring"
    for args, words in ((("judge", "--criterion", "NOPE1"), "no criterion 'NOPE1'"),
                        (("simulator", "--scenario", "s999"), "no scenario 's999'"),
                        (("simulator", "--exchange", "3"), "needs the 2 exchange(s) before it"),
                        (("expert", "--expert", "Nobody Atall"), "no expert 'Nobody Atall'")):
        proc = _run("prompts", "show", args[0], str(root), *args[1:], cwd=tmp_path)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_calls_nothing_and_needs_no_models(tmp_path):
    """A project with no model roles at all can still be read: what is sent does not depend on them."""
    import shutil

    root = tmp_path / "p"
    shutil.copytree(ROOT / "sample_projects" / "math-tutoring", root)
    settings = root / "ftd.yaml"
    text = settings.read_text()
    settings.write_text(re.sub(r"(?ms)^models:\n(?:[ #].*\n|\n)*", "", text))
    proc = _run("prompts", "show", "simulator", str(root), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "(no model configured for this role)" in proc.stdout
    assert not (root / "eval" / "scenarios.yaml").exists(), "a preview must not write the scenarios"


def test_the_example_in_docs_judging_is_what_ftd_prints(capsys):
    """docs/judging.md shows one rendered judge prompt; it must be today's, not last month's."""
    doc = (ROOT / "docs" / "judging.md").read_text(encoding="utf-8")
    block = doc.split("<!-- rendered:start -->\n```text\n", 1)[1].split("```\n<!-- rendered:end -->", 1)[0]
    shown = _show(capsys, "judge", str(ROOT / "sample_projects" / "wellbeing-coaching"), "--criterion", "COMM1")
    assert MARKER.sub("DATA-XXXXXXXX", block) == MARKER.sub("DATA-XXXXXXXX", shown), (
        "regenerate the example in docs/judging.md from `ftd prompts show judge sample_projects/wellbeing-coaching "
        "--criterion COMM1`")
