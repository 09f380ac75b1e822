"""Thousands of malformed documents through `ftd check`, `ftd get` and `ftd set`: zero
tracebacks, zero hangs (a deadline per document), always a location.

Where the time goes: a whole-project check costs ~30-70 ms, a parse and an edit of a small
document ~2 ms. So 400 mutated documents go through the check (80 of them the CLI from disk,
raw bytes included), every crafted hostile document through check, get and set, and 5,000
mutated documents through parse, get and set in-process -- the issue's 5,000, in well under
a minute on a shared machine."""

from __future__ import annotations

import contextlib
import io
import json
import random
import signal
from pathlib import Path

import pytest

from ftd_tui.cli import main
from ftd_tui.core.rules.diagnostics import RULES
from ftd_tui.core.text.yamldoc import EditError, YamlDocument, YamlError
from ftd_tui.core.text.yamlpath import PathSyntaxError, format_path, parse_path

TARGETS = ["config/rubric.yaml", "config/input-taxonomy.yaml", "config/persona-template.yaml", "ftd.yaml",
           "model-choice.md", "config/prompts/user_sim.md", "critiques/experts.yaml"]
TOKENS = [": ", "- ", "{", "}", "[", "]", "&a ", "*a", "*nope", "!!python/object:os.system ", "!custom ", "\t", '"', "'",
          "|", ">", "|+", "---\n", "...\n", "%YAML 1.1\n", "\x00", "\xff", "<<: *a\n", "? ", "#", "\r", "\ufeff",
          "x" * 3000, "\n  \n", "1e999", ".nan", "~", "null", "{{", "{persona}", "```", "## ", "\x1b[31m", "\\u0000",
          # the crafted cases of issue 12, as fragments a mutation can drop anywhere
          "[" * 400, "{a: " * 150, "]" * 50, "\n: x\n", "\n~: x\n", "? [a, b]\n: 1\n", "&a [*a]", "&r {k: *r}", "\n*a : 1\n",
          "\u202e", "\u009b", "\u200d", "\u2028", "\ufffe", "\U0001f469\u200d\U0001f4bb", "\u0644\u0627", "é́", "：", "1.5: ", "2026-11-25: "]


def mutate(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8", "replace")
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(len(text) + 1)
        if op == 0:
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif op == 1:
            j = min(len(text), i + rng.randint(1, 200))
            text = text[:i] + text[j:]
        elif op == 2:
            text = text[:i]
        elif op == 3:
            lines = text.splitlines(keepends=True)
            if lines:
                k = rng.randrange(len(lines))
                lines[k] = " " * rng.randint(0, 7) + lines[k].lstrip(" ")
                text = "".join(lines)
        elif op == 4:
            lines = text.splitlines(keepends=True)
            if lines:
                k = rng.randrange(len(lines))
                lines.insert(k, lines[k])
                text = "".join(lines)
        else:
            raw = bytearray(text.encode("utf-8", "surrogatepass"))
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            return bytes(raw)
    return text.encode("utf-8", "surrogatepass")


class Hang(BaseException):
    """A document that took longer than its deadline (BaseException: no `except Exception`
    in the code under test can swallow it)."""


@contextlib.contextmanager
def deadline(seconds: float, what: str):
    def fire(signum, frame):
        raise Hang(f"{what} took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def cli(*argv: str) -> tuple[int, str, str]:
    """ftd's own main() in-process: its exit code, stdout and stderr. Any exception that
    escapes main() is what a user would have seen as a traceback: the test fails on it."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def check_json(root: Path, what: str) -> dict:
    with deadline(20, f"ftd check on {what}"):
        code, out, err = cli("check", str(root), "--format", "json")
    assert code in (0, 1), (what, err)
    report = json.loads(out)
    for d in report["diagnostics"]:
        assert d["line"] >= 1 and d["column"] >= 1 and d["message"] and d["rule"] in RULES, (what, d)
    return report


def assert_one_located_line(code: int, err: str, what: str) -> None:
    assert code in (0, 1, 2), what
    assert "Traceback" not in err, (what, err)
    if code:
        assert err.startswith("ftd: ") and err.count("\n") == 1, (what, err)


@pytest.mark.slow
def test_fuzz_check_never_crashes(sample):
    """400 mutated project files: 80 written to disk through `ftd check` (raw bytes too), 320
    through the same check on the project as the app sees it (the buffer in place of the file)."""
    from ftd_tui.core.rules.checks import check_project
    from ftd_tui.core.rules.gates import compute_gates
    from ftd_tui.core.project.project import BY_ID, Project

    root = sample("math-tutoring")
    originals = {t: (root / t).read_bytes() for t in TARGETS}
    ids = {spec.path: spec.id for spec in BY_ID.values()}
    project = Project.load(root)
    rng = random.Random(20261125)
    runs = 0
    for i in range(400):
        target = rng.choice(TARGETS)
        data = mutate(rng, originals[target])
        if i % 5 == 0:
            (root / target).write_bytes(data)
            check_json(root, f"document {i} ({target})")
            (root / target).write_bytes(originals[target])
        else:
            text = data.decode("utf-8", "replace")
            with deadline(20, f"document {i} ({target})"):
                view = project.overlay({ids[target]: text})
                result = check_project(view)
                compute_gates(view, result)
            for d in result.diagnostics:
                assert d.line >= 1 and d.column >= 1 and d.message and d.rule in RULES, (i, target, d)
        runs += 1
    assert runs == 400


def _alias_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * width) + "]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


# The crafted cases of issue 12 and their kin: each goes in as a whole file.
CRAFTED = {
    "flow nesting 400": "notes: " + "[" * 400 + "]" * 400 + "\n",
    "flow nesting 1000, mappings": "notes: " + "{niveau: " * 1000 + "fin" + "}" * 1000 + "\n",
    "flow nesting 100000": "notes: " + "[" * 100_000 + "\n",
    "block nesting 150": "".join(" " * i + f"k{i}:\n" for i in range(150)) + " " * 150 + "v\n",
    "depth through aliases": "g: &g " + "[" * 60 + "]" * 60 + "\nh: &h [" + "*g, " * 3 + "*g]\nu: " + "[" * 45 + "*h" + "]" * 45 + "\n",
    "libyaml refuses, then deep": "image: [docker:24-dind]\nnotes: " + "[" * 5000 + "]" * 5000 + "\n",
    "null key at the top": ": x\n",
    "null key then keys": ": une valeur sans clé\npass_threshold: 0.8\n",
    "null key, nested": "criteria:\n  ~: {name: Empathie}\n  null: {name: Ton}\n",
    "null key in flow": "categories: {? : 1, tone: 0.5}\n",
    "collection key": "? [tone, safety]\n: 0.5\n",
    "alias to a collection as a key": "l: &l [a, b]\n*l : 1\n",
    "recursive alias": "a: &a [*a]\n",
    "recursive alias, mapping": "criteria:\n  CQ1: &moi\n    name: Réflexion\n    parent: *moi\n",
    "alias bomb": _alias_bomb(),
    "alias fan-out under the budget": _alias_bomb(levels=5, width=10),
    "keys as numbers, dates, bools": "1.5: x\n2026-11-25: relu\ntrue: oui\n.nan: rien\n0x1F: hex\n",
    "5,000 unknown keys": "".join(f"note_{i:05d}: garder\n" for i in range(5_000)),
    "odd unicode": ("taxonomy:\n  \"t\\u202eopics\": [\"\\u009b31m\", \"\u0627\u0644\u062a\u0639\u0644\u0645\"]\n"
                    "  \"\U0001f469\u200d\U0001f4bb\": \"e\u0301t\u00e9\"\n  \"a.b [c]\": \"\\u2028\\ufffe\"\n"),
    "a 1 MB scalar": "notes: " + "mot " * 250_000 + "\n",
    "2,000 anchors": "".join(f"k{i}: &a{i} v\n" for i in range(2_000)) + "last: *a1999\n",
}
YAML_TARGETS = ["config/rubric.yaml", "ftd.yaml", "critiques/experts.yaml"]


@pytest.mark.parametrize("name", sorted(CRAFTED))
@pytest.mark.slow
def test_crafted_documents_through_check_get_and_set(sample, name):
    text = CRAFTED[name]
    root = sample("math-tutoring")
    for target in YAML_TARGETS + ["model-choice.md"]:
        original = (root / target).read_bytes()
        body = f"---\n{text}---\n\n# Choice\n" if target.endswith(".md") else text
        (root / target).write_text(body, encoding="utf-8")
        report = check_json(root, f"{name} in {target}")
        if target.endswith(".yaml"):
            f = str(root / target)
            for argv in (["get", f, "notes"], ["get", f, "a[0]"], ["get", f, "criteria.CQ1.parent.name"],
                         ["set", f, "notes", "une note, avec une virgule"], ["set", f, "pass_threshold", "0.85", "--create"],
                         ["set", f, "criteria.CQ1", "{name: Réflexion, na_valid: false}"]):
                before = (root / target).read_bytes()
                with deadline(20, f"ftd {argv[0]} on {name}"):
                    code, out, err = cli(*argv)
                assert_one_located_line(code, err, f"{argv} on {name}")
                if code == 2:  # unreadable: located as file:line:column: RULE, and nothing written
                    assert err.startswith(f"ftd: {f}:") and (root / target).read_bytes() == before, err
                (root / target).write_bytes(body.encode("utf-8"))
        (root / target).write_bytes(original)
    assert report is not None


def _paths(rng: random.Random, data, limit: int = 3) -> list[tuple]:
    """A few paths that exist in ``data``, found by random walks from the root."""
    out = []
    for _ in range(limit):
        path, cur = (), data
        while isinstance(cur, (dict, list)) and cur and rng.random() < 0.8:
            if isinstance(cur, dict):
                key = rng.choice(list(cur))
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    break
                path, cur = path + (key,), cur[key]
            else:
                i = rng.randrange(len(cur))
                path, cur = path + (i,), cur[i]
        if path:
            out.append(path)
    return out


VALUES = ["une réponse, posée", "multi\nligne\n", "", None, 0.25, -3, True, "#pas un commentaire", "a: b",
          {"weight": 0.2, "criteria": ["A1"]}, ["x", {"y": [1, 2]}], "\u202emirror", "\u0627\u0644\u0646\u0635", "~", "'"]


@pytest.mark.slow
def test_fuzz_parse_get_set_5000():
    """5,000 mutated YAML documents (small slices of the samples, so each costs ~2 ms) through
    YamlDocument as `ftd get` and `ftd set` use it: every failure is a located YamlError, an
    EditError or a missing path, within a deadline; an edit reads back as exactly its value."""
    repo = Path(__file__).resolve().parent.parent / "sample_projects"
    seeds = []
    for f in sorted(repo.glob("*/config/*.yaml")) + sorted(repo.glob("*/ftd.yaml")) + sorted(repo.glob("*/critiques/*.yaml")):
        text = f.read_text(encoding="utf-8")
        cut = text.rfind("\n", 0, 2500) + 1 if len(text) > 2500 else len(text)
        seeds.append(text[:cut].encode("utf-8"))
    seeds += [t.encode("utf-8") for t in CRAFTED.values() if len(t) < 20_000]
    rng = random.Random(125_2026)
    counts = {"refused": 0, "read": 0, "edited": 0}
    for i in range(5000):
        data = mutate(rng, rng.choice(seeds))
        with deadline(10, f"document {i}"):
            try:
                doc = YamlDocument.from_bytes(data)
                value = doc.data
            except YamlError as exc:
                assert exc.line >= 1 and exc.column >= 1 and exc.rule in RULES and exc.message, (i, exc.rule)
                counts["refused"] += 1
                continue
            counts["read"] += 1
            for path in _paths(rng, value):
                text_path = format_path(path)
                try:
                    assert parse_path(text_path) == path or any(isinstance(p, str) and ('"' in p or "'" in p) for p in path)
                except PathSyntaxError:
                    pass  # a key holding a quote cannot be written as a path; get/set refuse it as a bad path
                doc.get(path)
                new_value = rng.choice(VALUES)
                try:
                    edited = doc.set(path, new_value, create=rng.random() < 0.3)
                except (EditError, KeyError):
                    continue
                counts["edited"] += 1
                got = edited.get(path)
                assert got == new_value or (new_value == "" and got in ("", None)), (i, text_path, new_value, got)
    assert sum(counts.values()) - counts["edited"] == 5000
    assert min(counts.values()) > 200, counts  # every outcome well exercised
