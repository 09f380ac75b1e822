"""Thousands of malformed documents through `ftd check`: zero crashes, always a location."""

from __future__ import annotations

import contextlib
import io
import json
import random

from ftd_tui.cli import main

TARGETS = ["config/rubric.yaml", "config/input-taxonomy.yaml", "config/persona-template.yaml", "ftd.yaml",
           "model-choice.md", "config/prompts/user_sim.md", "critiques/experts.yaml"]
TOKENS = [": ", "- ", "{", "}", "[", "]", "&a ", "*a", "*nope", "!!python/object:os.system ", "!custom ", "\t", '"', "'",
          "|", ">", "|+", "---\n", "...\n", "%YAML 1.1\n", "\x00", "\xff", "<<: *a\n", "? ", "#", "\r", "\ufeff",
          "x" * 3000, "\n  \n", "1e999", ".nan", "~", "null", "{{", "{persona}", "```", "## ", "\x1b[31m", "\\u0000"]


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


def test_fuzz_check_never_crashes(sample):
    root = sample("math-tutoring")
    originals = {t: (root / t).read_bytes() for t in TARGETS}
    rng = random.Random(20261125)
    runs = 0
    for _ in range(2000):
        target = rng.choice(TARGETS)
        (root / target).write_bytes(mutate(rng, originals[target]))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["check", str(root), "--format", "json"])
        assert code in (0, 1), target
        report = json.loads(out.getvalue())
        for d in report["diagnostics"]:
            assert d["line"] >= 1 and d["column"] >= 1 and d["message"]
        (root / target).write_bytes(originals[target])
        runs += 1
    assert runs == 2000
