"""A sample project wired to the local fake server, and a responder that plays every role."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from helpers import yset

REPO = Path(__file__).resolve().parent.parent


def wire(root: Path, base_url: str, *, judges: int = 2, scenarios: int = 4, min_per_gate: int = 1,
         price: bool = False) -> None:
    """Every role of ftd.yaml points at the fake server; small eval settings keep tests quick."""
    def role(name: str) -> dict:
        r = {"model": f"openai/{name}", "api_base": base_url, "max_concurrency": 8}
        if price:
            r["price"] = {"input_per_mtok": 1.0, "output_per_mtok": 2.0}
        return r

    yset(root, "ftd.yaml", "models", {"critic": role("critic"), "user_sim": role("sim"), "base": role("base"),
                                      "judges": [role(f"judge-{chr(97 + i)}") for i in range(judges)]})
    yset(root, "ftd.yaml", "eval", {"scenarios": scenarios, "min_per_gate": min_per_gate, "seed_start": 9000})


class Roles:
    """Answers by model name. ``no`` maps a criterion id to NO; ``judge_text`` overrides a
    judge's whole reply (malformed output) for criteria whose id it names."""

    def __init__(self):
        self.count = 0
        self.no: set[str] = set()
        self.judge_text: dict[str, str] = {}
        self.sim_text: str | None = None
        self.base_entry: dict | None = None
        self.calls: dict[str, int] = {}

    def __call__(self, body: dict) -> dict:
        self.count += 1
        model = str(body.get("model", ""))
        self.calls[model] = self.calls.get(model, 0) + 1
        msgs = body.get("messages") or []
        last = str(msgs[-1].get("content", "")) if msgs else ""
        if model == "critic":
            return {"text": json.dumps({"situation": f"You are juggling a deadline and a sick parent (case {self.count})."})}
        if model == "sim":
            if self.sim_text is not None:
                return {"text": self.sim_text}
            m = re.search(r"exchange (\d+)", last)
            return {"text": f"i keep putting things off, message {m.group(1) if m else '?'} number {self.count}"}
        if model == "base" or model.startswith("gemma"):  # gemma: the ollama_chat/ route
            return dict(self.base_entry) if self.base_entry else {"text": "That sounds like a lot. What feels most pressing right now?"}
        if model.startswith("judge"):
            m = re.search(r"Criterion (\S+):", " ".join(str(x.get("content", "")) for x in msgs))
            cid = m.group(1) if m else "?"
            for key, text in self.judge_text.items():
                if key == cid:
                    return {"text": text}
            answer = "NO" if cid in self.no else "YES"
            return {"text": json.dumps({"reasoning": f"Quoted evidence for {cid}.", "answer": answer})}
        return {"text": "ok"}


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`ftd ARGS` run by the same main() in this process (stdout and stderr captured apart), or
    in a child process with FTD_TEST_SUBPROCESS=1. A child pays litellm's import, ~7 s of CPU on
    the CI machine, on every call: in-process, a worker pays it once. What needs a real process
    (a kill, a second process holding the run's lock) uses ``cli_process``."""
    import os

    if os.environ.get("FTD_TEST_SUBPROCESS") == "1":
        return cli_process(*args, timeout=timeout)
    import contextlib
    import io

    from ftd_tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return subprocess.CompletedProcess(["ftd", *args], code, out.getvalue(), err.getvalue())


def cli_process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ftd_tui", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO)


def only_run(root: Path) -> Path:
    runs = sorted((root / "eval" / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def records(run: Path, kind: str | None = None) -> list[dict]:
    out = []
    for line in (run / "calls.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if kind is None or rec.get("kind") == kind:
            out.append(rec)
    return out


def judgments(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "judgments.jsonl").read_text().splitlines() if x.strip()]
