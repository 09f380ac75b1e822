"""`ftd calibrate`: the judges' self-test on the rubric's own calibration examples, leave-one-out,
before a baseline is paid for (the engine is services/baseline/calibration.py)."""

from __future__ import annotations

import asyncio
import sys

from ..core.evaluation import runs
from ..core.format import money
from ..core.text.textsafe import clean, json_text
from .errors import EXIT_CANCELLED, EXIT_FINDINGS, EXIT_OK, CommandError
from .output import ProgressLine
from .project import effective


def cmd_calibrate(args) -> int:
    from ..services.baseline.calibration import (Calibration, calibration_dir, calibration_inputs, examples_of,
                                                 prepare_dir, summary_lines)
    from ..services.baseline.process import run_cancellable
    from ..services.baseline.setup import BaselineError

    project, session, settings, project_settings = effective(args.dir)
    quiet = args.format == "json"
    out = sys.stderr if quiet else sys.stdout
    try:
        inputs = calibration_inputs(project, settings)
    except BaselineError as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    unapproved = session.needs_approval(project_settings)
    if unapproved:
        raise CommandError("approve this project's model endpoints first (ftd trust, or the app): "
                           + "; ".join(unapproved), EXIT_FINDINGS)
    try:
        run_dir, resumed = prepare_dir(project.root, inputs, args.fresh)
    except OSError as exc:
        raise CommandError(f"cannot create {calibration_dir(project.root)}: {exc}", EXIT_FINDINGS) from None
    n = len(examples_of(inputs))
    print(clean(f"{'Resuming' if resumed else 'New self-test'} {run_dir.name}: {len(inputs.judges)} judge(s) x "
                f"{n} example(s)"), file=out)
    door = session.door(settings, project_settings, cache=not args.no_cache, trusted=True)  # approved above
    line = ProgressLine(out, out.isatty(), _progress_text)
    cal = Calibration(inputs, run_dir, door, on_progress=line.update, use_cache=not args.no_cache)

    try:
        summary = run_cancellable(cal.run)
    except runs.LockHeld as exc:
        h = exc.holder
        raise CommandError(f"another ftd calibrate is writing {run_dir.name}: {h.get('user', '?')}@{h.get('host', '?')} "
                           f"(pid {h.get('pid', '?')}, since {h.get('started', '?')})", EXIT_FINDINGS) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        line.done()
        print(f"cancelled; every answered example is kept — run `ftd calibrate {args.dir}` to resume", file=out)
        return EXIT_CANCELLED
    finally:
        if door.cache is not None:
            door.cache.close()
    line.done()
    if quiet:
        print(json_text(public(summary), indent=1, default=str))
    else:
        for text in summary_lines(summary):
            print(clean(text))
    return exit_code(summary)


def _progress_text(p: dict) -> str:
    cost = p.get("cost")
    return f"examples judged {p.get('done', 0)}/{p.get('total', 0)} · " + ("cost unknown" if cost is None else money(cost))


def public(summary: dict) -> dict:
    """What --format json prints: the summary without the run's bookkeeping."""
    keep = ("id", "name", "n", "n_yes", "n_no", "n_na", "tpr", "tnr", "na_accuracy", "accuracy", "errors", "wrong",
            "unanswered", "why")
    return {"run": summary.get("run"),
            "judges": [{"model": j["model"], "criteria": [{k: c.get(k) for k in keep} for c in j["criteria"]],
                        "cannot_apply": j["cannot_apply"]} for j in summary.get("judges") or []],
            "computed": list(summary.get("computed") or []),
            "calls": summary.get("calls", 0), "cost": summary.get("cost")}


def exit_code(summary: dict) -> int:
    """0 only for a whole self-test in which every judge can apply every criterion."""
    whole = summary.get("state") == "done" and summary.get("answered", 0) >= summary.get("total", 0)
    clean_bill = not any(j.get("cannot_apply") for j in summary.get("judges") or [])
    return EXIT_OK if whole and clean_bill else EXIT_FINDINGS
