"""Simulator-fault detector accuracy on the hand-labelled corpus. Prints figures; it is not a
test (tests/test_sim_faults.py holds the aims). Aims: no false positive ("fault") on ordinary
or tricky messages, recall >= 90% on real breaks.

A break counts as caught only when the detector is certain ("fault": the conversation is
excluded); "unsure" findings are kept by default and are listed apart, since they are what the
optional second opinion (eval.fault_second_opinion) would be asked about.

    .venv/bin/python benchmarks/sim_fault_accuracy.py [--show-held-out]   (held-out misses: never on a set still held out)
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ftd_tui.services.baseline.sim_faults import detect  # noqa: E402

CORPUS = REPO / "tests" / "data" / "sim_faults.yaml"
# Held-out sets: every tests/data/sim_faults_heldout*.yaml, each printed apart. A set says whether it
# has been used to tune the detector with `tuned: true|false`, in its header comment ("# tuned: true")
# or as a top-level key; a set that does not say is taken as not tuned on. By default only figures are
# printed (by kind), never messages: whoever tunes the detector runs this script, and reading what a
# set still held out missed would spoil it. --show-held-out lists the misses of every set.
DATA = REPO / "tests" / "data"
_TUNED = re.compile(r"^\s*#?\s*tuned\s*:\s*(true|false|yes|no)\b", re.I | re.M)


def held_out_sets() -> list[tuple[Path, bool]]:
    """(path, tuned) for every held-out file, in order: heldout, heldout2, heldout3, …"""
    def order(p: Path) -> int:
        m = re.search(r"(\d+)$", p.stem)
        return int(m.group(1)) if m else 1
    out = []
    for path in sorted(DATA.glob("sim_faults_heldout*.yaml"), key=order):
        text = path.read_text(encoding="utf-8")
        header = "\n".join(ln for ln in text.split("\n") if ln.startswith("#") or re.match(r"tuned\s*:", ln))
        top = yaml.safe_load(text)
        key = top.get("tuned") if isinstance(top, dict) else None
        m = _TUNED.search(header)
        tuned = key is True or str(key).lower() in ("true", "yes") if key is not None else \
            bool(m and m.group(1).lower() in ("true", "yes"))
        out.append((path, tuned))
    return out


def load(path: Path = CORPUS) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]


def short(text: str, n: int = 110) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def held_out(path: Path, note: str, show: bool) -> None:
    """Figures for a held-out set, printed apart: false positives, recall, and (if ``show``) what it missed."""
    held = [(m, detect(m["text"])) for m in load(path)]
    h_breaks = [f for m, f in held if m["label"] == "break"]
    h_tp = sum(1 for f in h_breaks if f and f.is_fault)
    h_fp = [(m, f) for m, f in held if m["label"] != "break" and f and f.is_fault]
    h_unsure = sum(1 for _, f in held if f and not f.is_fault)
    recall = f"recall {h_tp}/{len(h_breaks)} ({h_tp / len(h_breaks):.3f})" if h_breaks else "no breaks"
    print(f"\nheld out ({path.relative_to(REPO)}, {note}): {len(held)} messages, "
          f"false positives {len(h_fp)} of {len(held) - len(h_breaks)}, {recall}, unsure {h_unsure}")
    if not show:
        kinds = Counter(m.get("kind") for m, _ in held if m["label"] == "break")
        caught = Counter(m.get("kind") for m, f in held if m["label"] == "break" and f and f.is_fault)
        print("  recall by kind: " + ", ".join(f"{k} {caught[k]}/{v}" for k, v in sorted(kinds.items())))
        print("  false positives by kind: " + (", ".join(f"{k} {v}" for k, v in sorted(Counter(f.kind for _, f in h_fp).items()))
                                               or "none") + "   (messages not shown: --show-held-out)")
        return
    for m, f in h_fp:
        print(f"  false positive [{m['domain']}/{m['label']}] {f.kind}: {short(m['text'])!r}")
    for m, f in held:
        if m["label"] == "break" and not (f and f.is_fault):
            got = f"unsure {f.kind}" if f else "nothing found"
            print(f"  missed [{m['domain']}/{m.get('kind')}] {got}: {short(m['text'])!r}")


def main() -> None:
    corpus = load()
    results = [(m, detect(m["text"])) for m in corpus]
    fp = [(m, f) for m, f in results if m["label"] != "break" and f and f.is_fault]
    fn = [(m, f) for m, f in results if m["label"] == "break" and not (f and f.is_fault)]
    tp = sum(1 for m, f in results if m["label"] == "break" and f and f.is_fault)
    unsure = [(m, f) for m, f in results if f and not f.is_fault]
    wrong_kind = [(m, f) for m, f in results if m["label"] == "break" and f and f.is_fault and f.kind != m.get("kind")]

    counts = Counter((m["label"], m["domain"]) for m in corpus)
    print(f"corpus: {len(corpus)} messages ({CORPUS.relative_to(REPO)})")
    for label in ("ordinary", "tricky", "break"):
        per = ", ".join(f"{d} {counts[(label, d)]}" for d in ("wellbeing", "maths", "support"))
        print(f"  {label:<9} {sum(v for (lab, _), v in counts.items() if lab == label):>4}   ({per})")
    breaks = sum(1 for m in corpus if m["label"] == "break")
    precision = tp / (tp + len(fp)) if tp + len(fp) else 1.0
    recall = tp / breaks if breaks else 1.0
    print(f"\nprecision {precision:.3f} ({tp} of {tp + len(fp)} faults are real breaks)")
    print(f"recall    {recall:.3f} ({tp} of {breaks} breaks excluded)")
    kinds = Counter(m.get("kind") for m in corpus if m["label"] == "break")
    caught = Counter(m.get("kind") for m, f in results if m["label"] == "break" and f and f.is_fault)
    print("recall by kind: " + ", ".join(f"{k} {caught[k]}/{v}" for k, v in sorted(kinds.items())))
    print(f"breaks caught under another kind than labelled: {len(wrong_kind)}"
          + "".join(f"\n  labelled {m.get('kind')}, found {f.kind}: {short(m['text'], 80)!r}" for m, f in wrong_kind))

    print(f"\nfalse positives ({len(fp)}): ordinary messages the detector would exclude")
    for m, f in fp:
        print(f"  [{m['domain']}/{m['label']}] {f.kind}: {short(m['text'])!r}\n      excerpt {short(f.excerpt, 90)!r}")
    print(f"\nfalse negatives ({len(fn)}): breaks the detector keeps")
    for m, f in fn:
        got = f"unsure {f.kind}" if f else "nothing found"
        print(f"  [{m['domain']}/{m.get('kind')}] {got}: {short(m['text'])!r}")
    ordinary_unsure = sum(1 for m, _ in unsure if m["label"] != "break")
    print(f"\nunsure (kept unless the second opinion says otherwise): {len(unsure)} "
          f"({ordinary_unsure} ordinary or tricky, {len(unsure) - ordinary_unsure} breaks)")
    for m, f in unsure:
        print(f"  [{m['domain']}/{m['label']}] {f.kind}: {short(f.excerpt, 90)!r}")

    for path, tuned in held_out_sets():
        note = "used to generalise the detector" if tuned else "not tuned on"
        held_out(path, note, "--show-held-out" in sys.argv[1:])

    reps = 20
    t = time.perf_counter()
    for _ in range(reps):
        for m in corpus:
            detect(m["text"])
    dt = time.perf_counter() - t
    print(f"\nspeed: {reps * len(corpus) / dt:,.0f} messages/s ({dt / (reps * len(corpus)) * 1e6:.0f} µs each, "
          f"{reps} passes over the corpus)")


if __name__ == "__main__":
    main()
