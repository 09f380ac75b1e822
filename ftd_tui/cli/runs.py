"""`ftd runs [list|show|prune]`: the baseline runs of a project."""

from __future__ import annotations

import json

from ..core.evaluation import runs
from ..core.evaluation.runs import inputs_hash_of
from ..core.format import pct
from ..core.evaluation.summary import read_summary
from .baseline import summary_lines
from .errors import EXIT_FINDINGS, EXIT_OK, CommandError
from .project import load_project


def cmd_runs(args) -> int:
    words = list(args.words)
    args.action = words.pop(0) if words and words[0] in ("list", "show", "prune") else "list"
    if len(words) > 1:
        raise CommandError("usage: ftd runs [list|show|prune] [DIR]")
    args.dir = words[0] if words else "."
    project = load_project(args.dir)
    infos = runs.list_runs(project.root)
    if args.action == "prune":
        ev = project.files["eval-results"].ensure_parsed()
        protect = []
        if ev.md is not None and ev.md.front_matter is not None and isinstance(ev.md.front_matter.data, dict):
            run = ev.md.front_matter.data.get("run")
            if isinstance(run, dict) and isinstance(run.get("id"), str):
                protect.append(run["id"])
        gone = runs.prune(project.root, args.keep, dry_run=args.dry_run, protect=protect)
        verb = "would delete" if args.dry_run else "deleted"
        if args.format == "json":
            print(json.dumps({"deleted": gone, "dry_run": args.dry_run}))
        else:
            print(f"{verb} {len(gone)} run(s)" + (": " + ", ".join(gone) if gone else "")
                  + (f"; kept the report's run {protect[0]}" if protect else ""))
        return EXIT_OK
    if args.action == "show":
        chosen = next((i for i in infos if i.id == args.id), None) if args.id else (infos[0] if infos else None)
        if chosen is None:
            raise CommandError("no such run" if args.id else "no baseline runs yet", EXIT_FINDINGS)
        if args.format == "json":  # summary.json as it is on disk
            summary = runs.read_json(chosen.path / runs.SUMMARY)
            print(json.dumps({"run": chosen.as_json(), "summary": summary}, indent=1, default=str))
        else:
            typed = read_summary(chosen.path)
            print(f"{chosen.id}  {chosen.state}  {chosen.path}")
            for line in summary_lines(typed) if typed is not None else ["  no summary yet"]:
                print(line)
        return EXIT_OK
    current = inputs_hash_of(project)
    if args.format == "json":
        print(json.dumps([dict(i.as_json(), current=i.inputs_hash == current) for i in infos], indent=1))
        return EXIT_OK
    if not infos:
        print("no baseline runs yet: ftd baseline")
        return EXIT_OK
    for i in infos:
        mark = "current" if i.inputs_hash == current else "stale  "
        holder = f"  writing: {i.holder.get('user')}@{i.holder.get('host')} pid {i.holder.get('pid')}" if i.holder else ""
        print(f"{i.id}  {i.state:<11} {mark}  {'smoke ' if i.smoke else ''}pass {pct(i.pass_rate)}"
              f" (n={i.assessed if i.assessed is not None else '–'})  {i.recommendation or ''}{holder}")
    return EXIT_OK
