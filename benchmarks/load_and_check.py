"""Load + check time for each sample project and a generated large one. Prints figures;
it is not a test. Aims: samples under 100 ms, the large project under 300 ms (warm, in-process).

    .venv/bin/python benchmarks/load_and_check.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def generate_large(dest: Path, criteria: int = 60, examples: int = 8, topics: int = 40) -> Path:
    shutil.copytree(REPO / "sample_projects" / "math-tutoring", dest)
    per = round(0.85 / (topics - 1), 6)
    lines = ["taxonomy:", "  topics:"]
    for i in range(topics - 1):
        w = per if i < topics - 2 else round(0.85 - per * (topics - 2), 6)
        lines += [f"    - name: topic_{i:02d}", f"      weight: {w}", f"      subtopics: [a_{i}, b_{i}, c_{i}, d_{i}]"]
    lines += ["    - name: edge_cases", "      weight: 0.15", "      subtopics: [out_of_scope, crisis, hostile, ambiguous_intent]",
              "  difficulty: {easy: 0.3, medium: 0.5, hard: 0.2}",
              "  communication_pattern: {standard: 0.7, literal: 0.1, limited_vocabulary: 0.1, text_speak: 0.1}",
              "  experience: {first_time: 0.6, returning: 0.4}",
              "  turn_ranges: {default: {min: 4, max: 16}}"]
    (dest / "config/input-taxonomy.yaml").write_text("\n".join(lines) + "\n")
    out = ["categories:"]
    cats = 6
    ids = [f"C{i:02d}" for i in range(criteria)]
    for c in range(cats):
        members = ids[c::cats]
        out.append(f"  cat_{c}: {{weight: {1 / cats if c < cats - 1 else 1 - (cats - 1) * (1 / cats)!r}, criteria: [{', '.join(members)}]}}")
    out.append("criteria:")
    kinds = ["PASS", "FAIL", "BORDERLINE_PASS", "BORDERLINE_FAIL", "PASS", "FAIL", "PASS", "FAIL"]
    for n, cid in enumerate(ids):
        out += [f"  {cid}:", f"    name: Criterion {n}", f"    question: Does the reply do thing number {n} correctly?",
                f"    category: cat_{n % cats}", "    na_valid: false", "    calibration_examples:"]
        for k in range(examples):
            out += [f"      - type: {kinds[k % len(kinds)]}", "        context: |",
                    "          user: I have been stuck on this for a while and I am not sure what to do next.",
                    "          assistant: That sounds frustrating. What have you tried so far?",
                    "          user: I tried the obvious things but nothing worked, honestly.",
                    "        response: >-", "          It sounds like the obvious routes are used up. Which one came closest,",
                    "          and what happened when it stopped working?",
                    "        reasoning: The reply reflects the user's words and asks one focused question."]
    out += ["safety_gates: []", "pass_threshold: 0.80", "scoring: {na: skip, error: fail, gates_weighted: false, empty_category: one}"]
    (dest / "config/rubric.yaml").write_text("\n".join(out) + "\n")
    return dest


def with_unknown_keys(dest: Path, n: int) -> Path:
    """A sample whose rubric carries ``n`` keys the schema does not know: ``n`` findings in one file."""
    shutil.copytree(REPO / "sample_projects" / "math-tutoring", dest)
    with open(dest / "config/rubric.yaml", "a", encoding="utf-8") as f:
        f.writelines(f"reviewer_note_{i:05d}: keep this wording\n" for i in range(n))
    return dest


def many_findings(tmp: Path, sizes=(2_000, 8_000, 16_000, 50_000)) -> str:
    """`ftd check` (in-process, text output, capped at 50 per file) on N findings in one file.
    Before issue 12 this was quadratic: 0.75 s, 6.5 s, 23 s and over 60 s."""
    import contextlib
    import io

    from ftd_tui.cli import main as ftd

    parts = []
    for n in sizes:
        root = with_unknown_keys(tmp / f"unknown-{n}", n)
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            ftd(["check", str(root)])
        parts.append(f"{n:,}: {time.perf_counter() - t:.2f} s")
    return "ftd check with N unknown keys in one file (in-process): " + " · ".join(parts)


def measure(root: Path, runs: int) -> tuple[float, float, int]:
    from ftd_tui.core.rules.checks import check_project
    from ftd_tui.core.rules.gates import compute_gates
    from ftd_tui.core.project.project import Project

    times = []
    n = 0
    for _ in range(runs):
        t = time.perf_counter()
        p = Project.load(root)
        r = check_project(p)
        compute_gates(p, r)
        times.append((time.perf_counter() - t) * 1000)
        n = len(r.diagnostics)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1 if len(times) > 1 else 0], n


def cold(cmd: list[str], runs: int = 5) -> float:
    best = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        best.append((time.perf_counter() - t) * 1000)
    return statistics.median(best)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, warm (imports done), median / p95")
    print(f"{'project':<28}{'lines':>8}{'median ms':>12}{'p95 ms':>10}{'findings':>10}")
    for sample in sorted((REPO / "sample_projects").iterdir()):
        if (sample / "ftd.yaml").exists():
            lines = sum(len(f.read_text(errors='replace').splitlines()) for f in sample.rglob("*") if f.is_file())
            med, p95, n = measure(sample, args.runs)
            print(f"{sample.name:<28}{lines:>8}{med:>12.1f}{p95:>10.1f}{n:>10}")
    with tempfile.TemporaryDirectory() as tmp:
        big = generate_large(Path(tmp) / "large")
        lines = len((big / "config/rubric.yaml").read_text().splitlines())
        med, p95, n = measure(big, max(5, args.runs // 3))
        print(f"{'large (60x8 rubric, 40 topics)':<28}{lines:>8}{med:>12.1f}{p95:>10.1f}{n:>10}")
        from ftd_tui.core.text.yamldoc import YamlDocument

        text = (big / "config/rubric.yaml").read_text()
        t = time.perf_counter()
        for _ in range(10):
            YamlDocument(text).data
        print(f"\nparse + construct the {lines}-line rubric: {(time.perf_counter() - t) * 100:.1f} ms")
        print(many_findings(Path(tmp)))
    py = sys.executable
    print(f"cold `python -c 'import ftd_tui.core'`: {cold([py, '-c', 'import ftd_tui.core']):.0f} ms")
    print(f"cold `ftd check sample_projects/math-tutoring`: {cold([py, '-m', 'ftd_tui', 'check', str(REPO / 'sample_projects/math-tutoring')]):.0f} ms")
    print(f"cold `python -c 'import sys'` (interpreter floor): {cold([py, '-c', 'import sys']):.0f} ms")


if __name__ == "__main__":
    main()
