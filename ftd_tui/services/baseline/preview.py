"""`ftd prompts show ROLE`: the exact messages a role would receive, for the current artifacts,
built by the same functions a run and a critique call — and nothing is called.

A methodologist reads every prompt ftd sends; this is where they read it. Where a message needs
text that only a run produces (a conversation, the experts' answers) the latest run or critique
log supplies it, and when there is none the stand-in is said plainly in the notes: the prompt
shown is then the real layout around illustrative content, never passed off as a real request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads ROLES while it builds its parser: nothing heavy at import
    from ...core.project.project import Project

ROLES = ("judge", "simulator", "base", "scenario-writer", "expert", "synthesis")
UNITS = ("taxonomy", "rubric", "personas", "prompts")


class PreviewError(Exception):
    """A choice that names nothing in the project (an unknown criterion, scenario or expert)."""


@dataclass
class Preview:
    role: str
    model: str | None
    messages: list[dict]
    response_format: str | None = None  # the JSON schema's name when the answer is structured
    subject: list[str] = field(default_factory=list)  # what it is about: criterion, scenario, exchange
    notes: list[str] = field(default_factory=list)  # every stand-in, said plainly


def _model(inputs, role: str, i: int = 0) -> str | None:
    models = inputs.settings.get("models") if isinstance(inputs.settings.get("models"), dict) else {}
    spec = models.get(role)
    if isinstance(spec, list):
        spec = spec[i] if i < len(spec) else None
    return spec.get("model") if isinstance(spec, dict) and isinstance(spec.get("model"), str) else None


def _scenario(inputs, sid: str | None, gate: str | None = None) -> tuple[dict, list[str]]:
    from ...core.evaluation import runs
    from .setup import load_or_draw

    notes: list[str] = []
    scenarios, _, drawn = load_or_draw(inputs, None, False, write=False)
    if drawn:
        notes.append(f"{runs.SCENARIOS_FILE} does not exist yet: the scenarios are drawn as a run would draw them "
                     "(not saved)")
    if not scenarios:
        raise PreviewError("the taxonomy gives no scenario to show")
    if sid is not None:
        for s in scenarios:
            if s.get("id") == sid:
                return s, notes
        raise PreviewError(f"no scenario '{sid}' in {runs.SCENARIOS_FILE}; there are: "
                           + ", ".join(str(s.get("id")) for s in scenarios[:20]))
    if gate is not None:
        for s in scenarios:
            if s.get("gate") == gate:
                return s, notes
    return scenarios[0], notes


def _transcript(root, sid: str) -> tuple[list[dict], str] | None:
    """The newest run's transcript of scenario ``sid`` with at least one exchange: (exchanges, run id)."""
    from ...core.evaluation import runs
    from ...core.project.boundary import FileRefused, read_inside

    base = root / runs.RUNS
    found = sorted((p for p in base.iterdir() if p.is_dir()), reverse=True) if base.is_dir() else []
    for run in found:
        rel = str((run / runs.TRANSCRIPTS / f"{sid}.json").relative_to(root))
        try:
            data = json.loads(read_inside(root, rel).decode("utf-8", errors="replace"))
        except (FileRefused, OSError, ValueError):
            continue
        exchanges = [e for e in data.get("exchanges") or [] if isinstance(e, dict)
                     and isinstance(e.get("user"), str) and isinstance(e.get("assistant"), str)]
        if exchanges:
            return exchanges, run.name
    return None


def _criterion(inputs, cid: str | None) -> tuple[str, dict]:
    criteria = inputs.criteria
    if not criteria:
        raise PreviewError("the rubric has no criteria")
    if cid is None:
        cid = next(iter(criteria))
    if cid not in criteria:
        raise PreviewError(f"no criterion '{cid}' in the rubric; there are: " + ", ".join(list(criteria)[:30]))
    return cid, criteria[cid]


def _illustration(cid: str, c: dict) -> list[dict]:
    """The criterion's first reviewed example, framed as calibration frames it for a judge."""
    from .calibration import example_exchanges

    for ex in c.get("calibration_examples") or []:
        if isinstance(ex, dict) and ex.get("type") != "UNREVIEWED" and ex.get("context") and ex.get("response"):
            return example_exchanges(str(ex["context"]).strip(), str(ex["response"]).strip())
    return [{"user": "(the user's message)", "assistant": "(the assistant's reply)"}]


def preview(project: Project, role: str, *, criterion: str | None = None, scenario: str | None = None,
            exchange: int | None = None, unit: str = "rubric", expert: str | None = None,
            settings: dict | None = None) -> Preview:
    if role not in ROLES:
        raise PreviewError(f"no role '{role}': choose one of {', '.join(ROLES)}")
    if role in ("expert", "synthesis"):
        return _critique_preview(project, role, unit, expert)
    from .setup import gather

    inputs = gather(project, settings, require_models=False)
    if role == "judge":
        return _judge_preview(inputs, criterion, scenario)
    s, notes = _scenario(inputs, scenario)
    if role == "scenario-writer":
        return _writer_preview(inputs, s, notes)
    return _conversation_preview(inputs, role, s, exchange, notes)


def _judge_preview(inputs, cid_arg: str | None, sid: str | None) -> Preview:
    from . import prompts as P
    cid, c = _criterion(inputs, cid_arg)
    s, notes = _scenario(inputs, sid, gate=cid)
    from ...core.evaluation.computed import is_computed

    if is_computed(c):
        return Preview("judge", None, [], subject=[f"criterion {cid}"],
                       notes=[f"{cid} is computed by ftd from the transcript ({c['check'].get('kind')}): "
                              "no judge is asked, nothing is sent"])
    got = _transcript(inputs.project.root, str(s.get("id")))
    if got is not None:
        exchanges, run_id = got
        notes.append(f"the conversation is scenario {s.get('id')}'s transcript from run {run_id}")
    else:
        exchanges = _illustration(cid, c)
        notes.append(f"no run holds a transcript of scenario {s.get('id')} yet: the conversation shown is an "
                     f"illustration (the context and response of {cid}'s first calibration example)")
    msgs = P.judge_messages(cid, c, exchanges, inputs.system_message, reference=s.get("reference"))
    return Preview("judge", _model(inputs, "judges"), msgs, "Verdict",
                   [f"criterion {cid}", f"scenario {s.get('id')}", f"{len(exchanges)} exchange(s)"], notes)


def _writer_preview(inputs, s: dict, notes: list[str]) -> Preview:
    from . import prompts as P
    from ...core.evaluation.personas import persona_from_seed

    domain = str(inputs.settings.get("domain") or "")
    desc = str(inputs.settings.get("description") or "")
    gate = inputs.criteria.get(str(s.get("gate"))) if s.get("gate") else None
    persona = persona_from_seed(inputs.personas, int(s.get("persona_seed") or 0))
    if s.get("situation"):
        notes.append(f"scenario {s.get('id')} already has a situation: a run sends this only for scenarios without one")
    ev = inputs.settings.get("eval") if isinstance(inputs.settings.get("eval"), dict) else {}
    msgs = P.situation_messages(s, domain, desc, gate, persona.text(), taxonomy=inputs.taxonomy,
                                references=ev.get("references") is True)
    return Preview("scenario-writer", _model(inputs, "critic") or _model(inputs, "user_sim"), msgs, "Situation",
                   [f"scenario {s.get('id')}"], notes)


def _conversation_preview(inputs, role: str, s: dict, exchange: int | None, notes: list[str]) -> Preview:
    from . import prompts as P
    from ...core.evaluation.personas import persona_from_seed

    target = max(1, int(s.get("target_exchanges") or 1))
    n = exchange or 1
    if not 1 <= n <= target:
        raise PreviewError(f"scenario {s.get('id')} has {target} exchanges: choose --exchange 1..{target}")
    earlier: list[dict] = []
    if n > 1:
        got = _transcript(inputs.project.root, str(s.get("id")))
        if got is None or len(got[0]) < n - 1:
            raise PreviewError(f"exchange {n} needs the {n - 1} exchange(s) before it, and no run holds them for "
                               f"scenario {s.get('id')}: show exchange 1, or run a baseline first")
        earlier = got[0][: n - 1]
        notes.append(f"the earlier exchanges are scenario {s.get('id')}'s transcript from run {got[1]}")
    if not s.get("situation"):
        notes.append(f"scenario {s.get('id')} has no situation yet: the critic writes it at the start of a run")
    persona = persona_from_seed(inputs.personas, int(s.get("persona_seed") or 0))
    flaws = persona.flaws_for_message(n)
    if role == "simulator":
        msgs = P.simulator_request(inputs, s, persona, earlier, n, target, flaws)
        return Preview("simulator", _model(inputs, "user_sim"), msgs, None,
                       [f"scenario {s.get('id')}", f"exchange {n} of {target}",
                        "flaws rolled for this message: " + (", ".join(flaws) or "none")], notes)
    user = "(the simulated user's message of this exchange)"
    notes.append("the last user message is a stand-in: the simulator writes it during the run")
    msgs = P.base_messages(inputs.system_message, earlier, user)
    return Preview("base", _model(inputs, "base"), msgs, None, [f"scenario {s.get('id')}", f"exchange {n} of {target}"],
                   notes)


def _critique_preview(project: Project, role: str, unit: str, expert: str | None) -> Preview:
    from ..critique import run as R

    if unit not in UNITS:
        raise PreviewError(f"no critique unit '{unit}': choose one of {', '.join(UNITS)}")
    try:
        plan = R.plan_critique(project, unit)
    except R.CritiqueError as exc:
        raise PreviewError(str(exc)) from None
    notes = ["ftd's default panel (critiques/experts.yaml has none for this unit)"] if plan.default_panel else []
    settings = project.files["settings"].data if isinstance(project.files["settings"].data, dict) else {}
    critic = ((settings.get("models") or {}).get("critic") or {}).get("model") if isinstance(settings.get("models"), dict) else None
    notes += [f"shown beside the artifact: {line}" for line in plan.digest.shown]
    notes += [f"cut to fit the digest's {plan.digest.budget:,} tokens: {line}" for line in plan.digest.cut]
    if role == "expert":
        v = _voice(plan.voices, expert)
        return Preview("expert", critic, plan.expert_request(v), None,
                       [f"unit {unit}", f"{v.name} ({v.kind}) — fictional", f"answer budget {plan.words} words"], notes)
    answers = [(f"{v.name} ({v.kind})", f"(the answer {v.name} gives: the critique log holds it once the panel has spoken)")
               for v in plan.voices]
    notes.append("the experts' answers are stand-ins: a critique sends the synthesis what the panel actually said")
    return Preview("synthesis", critic, plan.synthesis_request(answers), "Synthesis", [f"unit {unit}"], notes)


def _voice(voices: list, expert: str | None):
    if expert is None:
        return voices[0]
    if expert.isdigit() and 1 <= int(expert) <= len(voices):
        return voices[int(expert) - 1]
    for v in voices:
        if v.name.lower() == expert.lower() or v.name.lower().startswith(expert.lower()):
            return v
    raise PreviewError(f"no expert '{expert}' on the panel; choose a number 1..{len(voices)} or a name: "
                       + ", ".join(v.name for v in voices))


def render_text(p: Preview) -> str:
    """Plain text: a header, the notes, then each message whole under its role."""
    head = f"# {p.role}" + (f" · {p.model}" if p.model else " · (no model configured for this role)")
    lines = [head]
    if p.subject:
        lines.append(" · ".join(p.subject))
    lines += [f"note: {n}" for n in p.notes]
    if p.response_format:
        lines.append(f"answer format: JSON schema {p.response_format} (sent as response_format)")
    for m in p.messages:
        content = str(m.get("content", ""))
        lines += ["", f"──── {m.get('role')} ({len(content):,} characters) ────", content]
    return "\n".join(lines) + "\n"
