"""`ftd doctor`: a tiny call per model role; `--setup` proposes a models block for the user config."""

from __future__ import annotations

import sys

from .errors import EXIT_FINDINGS, EXIT_OK, CommandError
from .project import session_of, settings_of


def cmd_doctor(args) -> int:
    import asyncio

    from ..core.user.providers import iter_roles
    from ..core.text.textsafe import clean_line
    from ..services.llm.doctor import probe_roles

    project, project_settings = settings_of(args.dir)
    session = session_of(project)
    settings, sources = session.effective_settings(project_settings)
    results = []
    if iter_roles(settings):
        unapproved = session.needs_approval(project_settings)
        if unapproved:
            print("these need your approval before any call (run `ftd trust`):")
            for item in unapproved:
                print(f"  {clean_line(item)}")
            print("not tested: nothing was sent; approve with `ftd trust` (or in the app), then run ftd doctor again")
            return EXIT_FINDINGS
        results = asyncio.run(probe_roles(settings))
        for r in results:
            top = r.role.split(".")[0]
            where = f" [{sources.get(top, 'ftd.yaml')}]"
            print(f"{'✓' if r.ok else '✗'} {r.role:<10} {clean_line(r.model):<40} {r.key:<24} {clean_line(r.verdict)}{where}")
    else:
        print("no model roles in ftd.yaml or your user config (models: critic, user_sim, judges, base)")
    working = bool(results) and all(r.ok for r in results)
    if working:
        print(f"ok: all {len(results)} role(s) answered")
        return EXIT_OK
    if args.setup:
        return _setup_models(args.write)
    if not results or not any(r.ok for r in results):
        print("run `ftd doctor --setup` to propose a models block from the keys and local servers found")
    print(_doctor_verdict(results))  # the last line says why the exit is 1
    return EXIT_FINDINGS


def _doctor_verdict(results: list) -> str:
    if not results:
        return "not working: no model role is configured"
    failed = [r.role for r in results if not r.ok]
    return (f"not working: {len(results) - len(failed)} of {len(results)} role(s) answered; "
            f"failing: {', '.join(failed)}")


def _local_servers() -> list[tuple[str, str]]:
    """OpenAI-compatible or Ollama servers answering on this machine (loopback only)."""
    import json as _json
    import urllib.request

    found = []
    for base, probe, kind in (("http://localhost:11434", "/api/tags", "ollama"),
                              ("http://localhost:8000/v1", "/models", "openai"),
                              ("http://localhost:8080/v1", "/models", "openai")):
        try:
            with urllib.request.urlopen(base + probe, timeout=0.5) as resp:
                data = _json.loads(resp.read().decode() or "{}")
        except Exception:  # a probe of a port: refused, timed out, not HTTP, not JSON — all mean no server there
            continue
        if kind == "ollama":
            names = [m.get("name") for m in data.get("models", []) if isinstance(m, dict)]
            if names:
                found.append((f"ollama_chat/{names[0]}", base))
        else:
            names = [m.get("id") for m in data.get("data", []) if isinstance(m, dict)]
            if names:
                found.append((f"hosted_vllm/{names[0]}", base))
    return found


def _setup_models(write: bool) -> int:
    from ..core.project.storage import ConflictError, FileStamp, save_atomic
    from ..core.user.roles import suggest_models
    from ..core.text.textsafe import clean_line
    from ..core.user.dirs import config_file
    from ..core.text.yamldoc import YamlDocument, YamlError, render_flow

    models, notes = suggest_models(_local_servers())
    for note in notes:
        print(f"note: {clean_line(note)}")
    if not models:
        return EXIT_FINDINGS
    print("proposed for your user config (every project without its own roles uses them):")
    print("models:")
    for name, value in models.items():
        print(f"  {name}: {render_flow(value)}")
    path = config_file()
    if not write:
        if not sys.stdin.isatty():
            print(f"rerun with --write to put it in {path}")
            return EXIT_FINDINGS
        answer = input(f"write it to {path}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            return EXIT_FINDINGS
    try:
        if path.exists():
            data = path.read_bytes()
            doc = YamlDocument.from_bytes(data)
            new = doc.set("models", models, create=True)
            save_atomic(path, new.to_bytes(), FileStamp.of(path, data))
        else:
            save_atomic(path, ("models:\n" + "".join(f"  {k}: {render_flow(v)}\n" for k, v in models.items())).encode(),
                        None, create=True)
    except (YamlError, ConflictError, OSError) as exc:
        raise CommandError(f"{path}: {exc}", EXIT_FINDINGS) from None
    print(f"written to {path}; `ftd doctor` tests it")
    return EXIT_OK
