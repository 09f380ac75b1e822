"""The project boundary and the files ftd reads and writes (issue 12, items 1, 5, 7, 10, 14):
symlinks out of the project are refused before anything is read or sent, only regular files are
read (a FIFO cannot hang, /dev/zero cannot flood), unreadable files and folders are located
findings, concurrent `ftd set` never loses an update, stale temp files are cleaned, and a
read-only file is not replaced without --force."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from baselinehelp import REPO, Roles, wire
from fakes.openai_server import FakeOpenAI
from helpers import yget, yset

FTD = [sys.executable, "-m", "ftd_tui"]
CANARY = "CANARY-7f3a: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPrivateNotesDoNotShare margot@laptop"
SECRET_NOTE = ("# Notes privées — ne pas partager\n\nLe mot de passe du VPN de l'équipe est dans le coffre.\n"
               f"{CANARY}\n")


def run(*args, cwd=None, timeout=60):
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(FTD + [str(a) for a in args], capture_output=True, text=True, cwd=cwd or REPO, env=env,
                          timeout=timeout)


def check_json(root) -> list[dict]:
    p = run("check", root, "--format", "json")
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode in (0, 1), p.stdout + p.stderr
    return json.loads(p.stdout)["diagnostics"]


@pytest.fixture
def outside(tmp_path) -> Path:
    """A private file beside (not inside) the project, as ~/notes/private.md would be."""
    d = tmp_path / "home" / "notes"
    d.mkdir(parents=True)
    f = d / "private.md"
    f.write_text(SECRET_NOTE, encoding="utf-8")
    return f


def link(root: Path, rel: str, target: Path | str) -> None:
    p = root / rel
    if p.exists() or p.is_symlink():
        p.unlink()
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, p)


# --------------------------------------------------------------------------- symlinks (item 1)


def test_system_prompt_symlinked_out_of_the_project_is_FIL007_and_never_read(sample, outside):
    from ftd_tui.core.project.project import Project
    from ftd_tui.core.artifacts.system_message import system_message

    root = sample("math-tutoring")
    link(root, "config/system-prompt.md", outside)
    diags = check_json(root)
    found = [d for d in diags if d["rule"] == "FIL007"]
    assert [(d["file"], d["line"], d["column"], d["severity"]) for d in found] == [("config/system-prompt.md", 1, 1, "error")]
    assert "resolves outside the project" in found[0]["message"]
    assert CANARY not in json.dumps(diags)
    lf = Project.load(root).files["system-prompt"]
    assert lf.raw is None and lf.text is None
    assert system_message(Project.load(root)) is None
    # the text form of check says the same, located
    p = run("check", root)
    assert "config/system-prompt.md:1:1  FIL007  error" in p.stdout and CANARY not in p.stdout


def test_knowledge_file_symlinked_out_is_SET012_and_not_in_the_system_message(sample, outside):
    from ftd_tui.core.project.project import Project
    from ftd_tui.core.artifacts.system_message import system_message

    root = sample("software-support")
    link(root, "knowledge/policy.md", outside)
    diags = check_json(root)
    found = [d for d in diags if d["rule"] == "SET012"]
    assert len(found) == 1 and found[0]["file"] == "ftd.yaml" and found[0]["line"] > 1
    assert "resolves outside the project" in found[0]["message"] and "symlink" in found[0]["message"]
    text = system_message(Project.load(root))
    assert text and CANARY not in text and "--- SUPPORT POLICY ---" not in text


def test_a_knowledge_folder_symlinked_out_is_caught_too(sample, outside):
    root = sample("software-support")
    shutil.rmtree(root / "knowledge")
    os.symlink(outside.parent, root / "knowledge")
    (outside.parent / "policy.md").write_text(SECRET_NOTE, encoding="utf-8")
    found = [d for d in check_json(root) if d["rule"] == "SET012"]
    assert found and "resolves outside the project" in found[0]["message"]


def test_symlinks_that_stay_inside_the_project_keep_working(sample):
    from ftd_tui.core.project.project import Project
    from ftd_tui.core.artifacts.system_message import system_message

    root = sample("software-support")
    (root / "docs").mkdir()
    os.rename(root / "config/system-prompt.md", root / "docs/system-prompt.md")
    link(root, "config/system-prompt.md", "../docs/system-prompt.md")
    os.rename(root / "knowledge/policy.md", root / "docs/policy.md")
    link(root, "knowledge/policy.md", root / "docs/policy.md")  # absolute, still inside
    diags = check_json(root)
    assert not [d for d in diags if d["rule"] in ("FIL007", "FIL008", "SET012", "FIL006")], diags
    text = system_message(Project.load(root))
    assert "--- SUPPORT POLICY ---" in text
    assert (root / "docs/policy.md").read_text(encoding="utf-8").strip()[:40] in text


@pytest.mark.slow
def test_a_smoke_baseline_never_sends_a_knowledge_file_that_links_out(sample, outside):
    root = sample("software-support")
    link(root, "knowledge/policy.md", outside)
    with FakeOpenAI() as fake:
        fake.responder = Roles()
        wire(root, fake.base_url, scenarios=4, min_per_gate=1)
        p = run("baseline", root, "--smoke", "--yes", timeout=180)
        assert "Traceback" not in p.stderr, p.stderr
        sent = json.dumps([q["body"] for q in fake.requests], ensure_ascii=False)
    assert fake.requests, p.stdout + p.stderr  # the run happened, without the file
    assert CANARY not in sent and "VPN" not in sent
    assert "--- SUPPORT POLICY ---" not in sent


@pytest.mark.slow
def test_a_critique_never_sends_a_linked_out_prompt_or_transcript(sample, outside, monkeypatch):
    monkeypatch.setenv("FTD_TEST_KEY", "sk-canary-boundary-0123456789")
    root = sample("math-tutoring")
    # a baseline run folder as a clone could carry it: one transcript is a symlink to a secret
    run_dir = root / "eval" / "runs" / "20261125T000000Z-deadbeef"
    (run_dir / "transcripts").mkdir(parents=True)
    secret_json = outside.parent / "c1.json"
    secret_json.write_text(json.dumps({"id": "c1", "exchanges": [{"user": CANARY, "assistant": CANARY}]}), encoding="utf-8")
    os.symlink(secret_json, run_dir / "transcripts" / "c1.json")
    (run_dir / "transcripts" / "c2.json").write_text(json.dumps({"id": "c2", "exchanges": [
        {"user": "j'ai raté mon contrôle de maths, je suis nul", "assistant": "Qu'est-ce qui t'a bloqué ?"}]}),
        encoding="utf-8")
    (run_dir / "judgments.jsonl").write_text(
        "".join(json.dumps({"id": c, "judge": "combined", "score": s, "pass": s > 0.5, "answers": {}, "reasonings": {},
                            "failed_checks": []}) + "\n" for c, s in (("c1", 0.1), ("c2", 0.9))), encoding="utf-8")
    link(root, "config/system-prompt.md", outside)
    with FakeOpenAI(default_text="The rubric reads clearly; one criterion is vague.") as fake:
        role = {"model": "openai/fake-model", "api_base": fake.base_url, "api_key_env": "FTD_TEST_KEY"}
        yset(root, "ftd.yaml", "models", {"critic": role, "judges": [role, role]})
        assert run("trust", root).returncode == 0
        prompts = run("critique", "prompts", root, "--yes", timeout=180)
        assert prompts.returncode != 0 and "Traceback" not in prompts.stderr
        assert "config/system-prompt.md" in prompts.stdout + prompts.stderr
        assert not fake.requests  # refused before any call
        fake.push({"match": "synthesise", "text": json.dumps({"proposals": []})})
        rubric = run("critique", "rubric", root, "--with-transcripts", "--yes", timeout=180)
        assert "Traceback" not in rubric.stderr, rubric.stderr
        sent = json.dumps([q["body"] for q in fake.requests], ensure_ascii=False)
    assert fake.requests
    assert "je suis nul" in sent  # the transcript inside the project was shown
    assert CANARY not in sent and "VPN" not in sent


# --------------------------------------------------------------------------- not regular files (item 10)


def test_a_fifo_artifact_is_FIL008_and_check_does_not_hang(sample):
    root = sample("math-tutoring")
    (root / "config/rubric.yaml").unlink()
    os.mkfifo(root / "config/rubric.yaml")
    t0 = time.monotonic()
    diags = check_json(root)  # the subprocess has a timeout: a hang fails the test
    assert time.monotonic() - t0 < 30
    found = [d for d in diags if d["rule"] == "FIL008"]
    assert found and found[0]["file"] == "config/rubric.yaml" and "FIFO" in found[0]["message"]
    g = run("get", root / "config/rubric.yaml", "pass_threshold", timeout=30)
    assert g.returncode == 2 and "FIL008" in g.stderr and "Traceback" not in g.stderr
    assert len(g.stderr.strip().splitlines()) == 1


def test_a_fifo_fed_by_a_writer_is_refused_not_drained(sample):
    """A writer keeps the FIFO full of data: ftd still refuses it instead of reading forever."""
    root = sample("software-support")
    (root / "knowledge/policy.md").unlink()
    fifo = root / "knowledge/policy.md"
    os.mkfifo(fifo)
    stop = threading.Event()

    def feed():
        try:
            fd = os.open(fifo, os.O_WRONLY)  # blocks until a reader opens it
        except OSError:
            return
        try:
            while not stop.is_set():
                os.write(fd, b"x" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        found = [d for d in check_json(root) if d["rule"] == "SET012"]
        assert found and "FIFO" in found[0]["message"]
    finally:
        stop.set()
        try:  # unblock the writer if nobody ever opened the FIFO for reading
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass
        writer.join(5)


def test_dev_zero_is_refused_whether_linked_or_named(sample, tmp_path):
    root = sample("math-tutoring")
    link(root, "config/rubric.yaml", "/dev/zero")
    found = [d for d in check_json(root) if d["file"] == "config/rubric.yaml" and d["severity"] == "error"]
    assert [d["rule"] for d in found] == ["FIL007"]  # /dev/zero is outside the project
    zero = tmp_path / "zero.yaml"
    os.symlink("/dev/zero", zero)
    t0 = time.monotonic()
    g = run("get", zero, "a", timeout=30)
    assert g.returncode == 2 and "FIL008" in g.stderr and "character device" in g.stderr
    assert time.monotonic() - t0 < 30


def test_the_cap_is_counted_while_reading_not_taken_from_st_size():
    """/proc files are regular files whose st_size is 0 whatever they hold: the cap still stops them."""
    from ftd_tui.core.project.boundary import FileRefused, read_regular

    path = "/proc/self/maps"
    if not os.path.exists(path):
        pytest.skip("no /proc on this system")
    assert os.stat(path).st_size == 0 and stat.S_ISREG(os.stat(path).st_mode)
    with pytest.raises(FileRefused) as exc:
        read_regular(path, limit=64)
    assert exc.value.rule == "FIL002"
    assert len(read_regular(path, limit=1 << 20)) > 64


def test_a_file_growing_while_read_stops_at_the_cap(tmp_path):
    from ftd_tui.core.project.boundary import FileRefused, read_regular

    f = tmp_path / "growing.yaml"
    f.write_bytes(b"note: started\n")
    stop = threading.Event()

    def grow():
        with open(f, "ab") as fh:
            while not stop.is_set():
                fh.write(b"- another line the log keeps appending, encore et encore\n" * 2000)
                fh.flush()

    t = threading.Thread(target=grow, daemon=True)
    t.start()
    try:
        time.sleep(0.05)
        with pytest.raises(FileRefused) as exc:
            for _ in range(200):  # the cap holds however fast the file grows
                read_regular(f, limit=256 * 1024)
        assert exc.value.rule == "FIL002"
    finally:
        stop.set()
        t.join(5)


# --------------------------------------------------------------------------- file modes, as a non-root user


def _nobody_python() -> list[str] | None:
    """A command that runs python as an unprivileged user with ftd importable, or None."""
    if os.geteuid() != 0:
        return [f"PYTHONPATH={REPO}", sys.executable]
    if shutil.which("setpriv") is None:
        return None
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    site = next((p for p in sys.path if p.endswith("site-packages") and str(REPO) in p), None)
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for exe in (sys.executable, f"/usr/bin/{minor}", f"/usr/local/bin/{minor}"):
        if not os.path.exists(exe):
            continue
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}:{site}" if site else str(REPO), "HOME": "/tmp"}
        try:
            ok = subprocess.run(drop + [exe, "-c", "import ftd_tui.cli, pydantic"], env=env, capture_output=True,
                                timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return [f"PYTHONPATH={env['PYTHONPATH']}", *drop, exe]
    return None


NOBODY = _nobody_python()
needs_nobody = pytest.mark.skipif(NOBODY is None, reason="no way to run python as a non-root user here "
                                                         "(setpriv missing, or no python readable by uid 65534)")


@pytest.fixture
def shared(tmp_path):
    """A project (and user folders) that uid 65534 owns: pytest's tmp folders are private to root."""
    base = Path(tempfile.mkdtemp(prefix="ftd-modes-"))
    os.chmod(base, 0o755)
    shutil.copytree(REPO / "sample_projects" / "math-tutoring", base / "p")
    for d in ("config", "state", "cache"):
        (base / d).mkdir()
    if os.geteuid() == 0:
        for dirpath, dirs, files in os.walk(base):
            for n in [dirpath] + [os.path.join(dirpath, x) for x in dirs + files]:
                os.lchown(n, 65534, 65534)
    yield base
    for dirpath, dirs, _ in os.walk(base):
        for d in dirs:
            try:
                os.chmod(os.path.join(dirpath, d), 0o755)
            except OSError:
                pass
    shutil.rmtree(base, ignore_errors=True)


def as_nobody(base: Path, *args) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(base), "LANG": "C.UTF-8",
           "FTD_CONFIG_DIR": str(base / "config"), "FTD_STATE_DIR": str(base / "state"),
           "FTD_CACHE_DIR": str(base / "cache")}
    cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *NOBODY]  # NOBODY: PYTHONPATH=…, setpriv …, python
    return subprocess.run(cmd + ["-m", "ftd_tui", *map(str, args)], capture_output=True, text=True, cwd=base,
                          timeout=120)


@needs_nobody
def test_mode_000_file_and_folder_are_located_findings(shared):
    p = shared / "p"
    os.chmod(p / "config/rubric.yaml", 0)
    r = as_nobody(shared, "check", p, "--format", "json")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1
    found = [d for d in json.loads(r.stdout)["diagnostics"] if d["rule"] == "FIL006"]
    assert [(d["file"], d["line"], d["column"]) for d in found] == [("config/rubric.yaml", 1, 1)]
    assert "permission denied" in found[0]["message"] and "chmod" in found[0]["hint"]
    g = as_nobody(shared, "get", p / "config/rubric.yaml", "pass_threshold")
    assert g.returncode == 2 and "Traceback" not in g.stderr and "FIL006" in g.stderr
    assert len(g.stderr.strip().splitlines()) == 1 and "config/rubric.yaml" in g.stderr
    s = as_nobody(shared, "set", p / "config/rubric.yaml", "pass_threshold", "0.85")
    assert s.returncode == 2 and "Traceback" not in s.stderr and "FIL006" in s.stderr
    os.chmod(p / "config/rubric.yaml", 0o644)
    os.chmod(p / "config", 0)  # the whole folder
    r = as_nobody(shared, "check", p, "--format", "json")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1
    files = {d["file"] for d in json.loads(r.stdout)["diagnostics"] if d["rule"] == "FIL006"}
    assert "config/rubric.yaml" in files and "config/system-prompt.md" in files
    text = as_nobody(shared, "check", p)
    assert "config/rubric.yaml:1:1  FIL006" in text.stdout and "folder config/" in text.stdout
    g = as_nobody(shared, "get", p / "config/rubric.yaml", "pass_threshold")
    assert g.returncode == 2 and "Traceback" not in g.stderr


@needs_nobody
def test_a_mode_000_settings_file_or_critiques_folder_is_no_traceback(shared):
    p = shared / "p"
    os.chmod(p / "ftd.yaml", 0)
    r = as_nobody(shared, "check", p)
    assert "Traceback" not in r.stderr and r.returncode in (1, 2), r.stderr
    assert "ftd.yaml" in r.stdout + r.stderr
    os.chmod(p / "ftd.yaml", 0o644)
    os.chmod(p / "critiques", 0)
    r = as_nobody(shared, "check", p)
    assert "Traceback" not in r.stderr and r.returncode in (0, 1, 2), r.stderr


@needs_nobody
def test_a_read_only_folder_is_a_message_and_the_file_is_untouched(shared):
    p = shared / "p"
    before = (p / "config/rubric.yaml").read_bytes()
    os.chmod(p / "config", 0o555)
    s = as_nobody(shared, "set", p / "config/rubric.yaml", "pass_threshold", "0.85")
    assert s.returncode == 2 and "Traceback" not in s.stderr, s.stderr
    assert "cannot be written" in s.stderr and "config/" in s.stderr
    assert (p / "config/rubric.yaml").read_bytes() == before
    g = as_nobody(shared, "get", p / "config/rubric.yaml", "pass_threshold")  # reading still works
    assert g.returncode == 0 and g.stdout.strip() in ("0.8", "0.80")


@needs_nobody
def test_set_refuses_a_mode_444_file_unless_forced_as_a_user(shared):
    p = shared / "p"
    f = p / "config/rubric.yaml"
    os.chmod(f, 0o444)
    before = f.read_bytes()
    s = as_nobody(shared, "set", f, "pass_threshold", "0.85")
    assert s.returncode == 1 and "read-only" in s.stderr and "--force" in s.stderr, s.stderr
    assert f.read_bytes() == before
    s = as_nobody(shared, "set", f, "pass_threshold", "0.85", "--force")
    assert s.returncode == 0, s.stderr
    assert b"pass_threshold: 0.85" in f.read_bytes() and stat.S_IMODE(f.stat().st_mode) == 0o444


def test_set_refuses_a_mode_444_file_unless_forced_as_root_too(sample):
    """Root may write anything, so for root the mode bits decide."""
    root = sample("math-tutoring")
    f = root / "config/rubric.yaml"
    os.chmod(f, 0o444)
    before = f.read_bytes()
    s = run("set", f, "pass_threshold", "0.85")
    assert s.returncode == 1 and "read-only (mode 0444)" in s.stderr and "--force" in s.stderr
    assert f.read_bytes() == before
    s = run("set", f, "pass_threshold", "0.85", "--force")
    assert s.returncode == 0 and b"pass_threshold: 0.85" in f.read_bytes()
    assert stat.S_IMODE(f.stat().st_mode) == 0o444


def test_save_atomic_refuses_read_only_with_a_permission_error(tmp_path):
    from ftd_tui.core.project.storage import FileStamp, ReadOnlyError, save_atomic

    f = tmp_path / "notes.yaml"
    f.write_text("remarque: à relire\n", encoding="utf-8")
    os.chmod(f, 0o444)
    stamp = FileStamp.of(f, f.read_bytes())
    with pytest.raises(ReadOnlyError) as exc:
        save_atomic(f, b"remarque: relu\n", stamp)
    assert isinstance(exc.value, PermissionError)  # every `except OSError` caller reports it
    assert f.read_text(encoding="utf-8") == "remarque: à relire\n"
    assert not list(tmp_path.glob("*.ftd-tmp"))


# --------------------------------------------------------------------------- concurrent writers (item 5)

RACER = r"""
import io, json, sys, contextlib, time
from ftd_tui.cli import main
path, who, rounds, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
time.sleep(max(0.0, start_at - time.time()))  # both start together, after their imports
codes = []
for i in range(rounds):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["set", path, f"notes.{who}{i}", f"tour {i}, {who} était là", "--create"])
    codes.append([code, err.getvalue().strip()])
print(json.dumps(codes))
"""


@pytest.mark.slow
def test_two_concurrent_set_processes_never_lose_an_update(tmp_path):
    f = tmp_path / "shared.yaml"
    f.write_text("# both writers edit this file at once\nnotes:\n  start: \"début\"\n", encoding="utf-8")
    rounds = 60
    start_at = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(f), who, str(rounds), str(start_at)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO) for who in ("a", "b")]
    results = {}
    for who, proc in zip(("a", "b"), procs):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[who] = json.loads(out)
    data = yget(tmp_path, "shared.yaml", "notes")
    lost = []
    for who, codes in results.items():
        for i, (code, err) in enumerate(codes):
            assert "Traceback" not in err
            present = data.get(f"{who}{i}") == f"tour {i}, {who} était là"
            if code == 0 and not present:
                lost.append(f"{who}{i}")
            if code != 0:
                assert "changed on disk" in err or "another ftd process" in err, err
    assert not lost, f"reported as saved but gone: {lost}"
    assert sum(1 for codes in results.values() for c, _ in codes if c == 0) >= rounds  # the lock lets both land
    assert data["start"] == "début"


def test_the_folder_lock_does_not_hang_on_a_stuck_writer(tmp_path):
    from ftd_tui.core.project.storage import ConflictError, folder_lock

    f = tmp_path / "a.yaml"
    f.write_text("a: 1\n")
    held, release = threading.Event(), threading.Event()

    def holder():
        with folder_lock(f):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        t0 = time.monotonic()
        with pytest.raises(ConflictError, match="another ftd process"):
            with folder_lock(f, wait=0.3):
                pass
        assert time.monotonic() - t0 < 3
    finally:
        release.set()
        t.join(5)
    with folder_lock(f, wait=0.3):  # free again
        pass


# --------------------------------------------------------------------------- stale temp files (item 7)


def test_stale_temp_files_are_removed_on_load_and_fresh_ones_kept(sample):
    from ftd_tui.core.project.project import Project

    root = sample("math-tutoring")
    old = root / "config" / ".rubric.yaml.k2x9_q0a.ftd-tmp"
    fresh = root / "config" / ".rubric.yaml.ab12cd34.ftd-tmp"
    top_old = root / ".ftd.yaml.zz99yy88.ftd-tmp"
    mine = root / "config" / ".my-notes.ftd-tmp"  # not ftd's naming pattern: never touched
    for p in (old, fresh, top_old, mine):
        p.write_text("criteria:\n  CQ1: {half a save that was killed", encoding="utf-8")
    hour_ago = time.time() - 3600
    for p in (old, top_old, mine):
        os.utime(p, (hour_ago, hour_ago))
    outside = root.parent / "outside.txt"
    outside.write_text("keep me")
    linked = root / "config" / ".persona-template.yaml.aaaa1111.ftd-tmp"
    os.symlink(outside, linked)
    os.utime(linked, (hour_ago, hour_ago), follow_symlinks=False)
    p = run("check", root)
    assert ".ftd-tmp" not in p.stdout and p.returncode == 0, p.stdout
    assert not old.exists() and not top_old.exists()
    assert fresh.exists() and mine.exists() and linked.is_symlink() and outside.read_text() == "keep me"
    Project.load(root)
    assert fresh.exists()


def test_a_save_cleans_stale_temp_files_in_its_folder(tmp_path):
    from ftd_tui.core.project.storage import save_atomic

    (tmp_path / "eval").mkdir()
    stale = tmp_path / "eval" / ".scenarios.yaml.0a1b2c3d.ftd-tmp"
    stale.write_bytes(b"x" * 100_000)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    save_atomic(tmp_path / "eval" / "scenarios.yaml", "scénarios: []\n".encode(), create=True)
    assert not stale.exists()
    assert sorted(p.name for p in (tmp_path / "eval").iterdir()) == ["scenarios.yaml"]


# --------------------------------------------------------------------------- the app


@pytest.mark.slow
def test_the_app_says_a_read_only_file_was_not_saved_and_keeps_the_text(sample):
    from apphelp import editor, run as run_app, running, wait_until

    root = sample("math-tutoring")
    f = root / "config/persona-template.yaml"
    os.chmod(f, 0o444)
    before = f.read_bytes()

    async def go():
        async with running(root) as (app, pilot):
            notes = []
            real = app.notify
            app.notify = lambda msg, *a, **k: (notes.append(str(msg)), real(msg, *a, **k))[1]
            app.open_artifact("personas", focus=True)
            ed = editor(app)
            ed.move_cursor((0, 0))
            await pilot.press("#", " ", "à", " ", "r", "e", "v", "o", "i", "r", "enter")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: any("read-only" in n for n in notes), what="the read-only notice")
            assert ed.dirty and ed.text.startswith("# à revoir")
            assert f.read_bytes() == before

    run_app(go())


def test_the_app_loads_a_project_with_a_fifo_and_a_link_out_without_hanging(sample, outside):
    from apphelp import findings, loaded, run as run_app, running, wait_until

    root = sample("math-tutoring")
    (root / "config/rubric.yaml").unlink()
    os.mkfifo(root / "config/rubric.yaml")
    link(root, "config/system-prompt.md", outside)

    async def go():
        async with running(root) as (app, pilot):
            await loaded(pilot)
            app.poll_disk()  # polling the FIFO must not block either
            seen = []
            for aid, rule in (("rubric", "FIL008"), ("system-prompt", "FIL007")):
                app.open_artifact(aid, focus=True)
                await wait_until(pilot, lambda: any(rule in x for x in findings(app)), what=f"{rule} on {aid}")
                seen += findings(app)
            assert not any(CANARY in x for x in seen)

    run_app(go())
