"""A critique run: every expert (and difficult user) of the unit's panel answers, streamed
concurrently; then a synthesis into proposals; then a log. Cancelling keeps what arrived."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from pathlib import Path

from ...core.project.project import Project
from ...core.text.yamldoc import YamlDocument
from ...core.text.textsafe import clean
from ..llm.door import Door, LLMError
from .digest import (MATERIAL_TOKENS, OVERHEAD_TOKENS, TOKENS_PER_WORD, Digest, answer_tokens, answer_words,
                     build_digest)
from .log import text_hash, write_log
from .prompts import UNIT_FILES, Synthesis, expert_messages, synthesis_messages

MIN_FIT_WORDS = 200  # below this, an expert cannot answer five questions with fixes and test material


class CritiqueError(Exception):
    pass


# an error, never a blank tab: the CLI and the app's error view then offer the three ways on
# (retry the synthesis, write the changes yourself, mark it reviewed with a reason)
NO_PROPOSALS = "the synthesis returned no proposals"


@dataclass
class Voice:
    key: str
    name: str
    kind: str
    spec: dict
    difficult_user: bool = False
    text: str = ""
    status: str = "waiting"  # waiting, streaming, done, error, cancelled
    error: str = ""


@dataclass
class ProposalView:
    data: dict
    file_id: str | None  # the first file its edits change (file_ids: all of them)
    problem: str = ""  # why it cannot be applied as written
    flagged: list[str] = field(default_factory=list)
    disposition: str | None = None
    reason: str = ""
    file_ids: list[str] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)  # the project's rules it would break (services/critique/proposal_review.py)
    findings: list[str] = field(default_factory=list)  # `ftd check` findings the patched text adds
    apply_error: str = ""  # why accepting it into the buffers failed last time (the app)

    @property
    def edits(self) -> list[dict]:
        from .edits import proposal_edits

        return proposal_edits(self.data)

    @property
    def disagreement(self) -> str:
        return str(self.data.get("disagreement") or "")

    @property
    def warned(self) -> bool:
        """Worth a ⚠: it touches what passes or rejects, breaks a rule, or adds a finding."""
        return bool(self.flagged or self.marks or self.findings)


@dataclass
class CritiqueRun:
    unit: str
    voices: list[Voice]
    texts: dict[str, str]  # artifact id -> text judged
    judged_hash: str
    proposals: list[ProposalView] = field(default_factory=list)
    synthesis_error: str = ""
    log_path: object = None
    cancelled: bool = False
    default_panel: bool = False
    with_transcripts: bool = False
    plan: object = None  # the CritiquePlan it ran
    candidates: list[dict] = field(default_factory=list)  # the experts' test material (services/critique/material.py)
    material_notes: list[str] = field(default_factory=list)  # what was left out of it, and why


def unit_texts(project: Project, unit: str, buffers: dict[str, str] | None = None) -> dict[str, str]:
    buffers = buffers or {}
    out = {}
    for aid in UNIT_FILES[unit]:
        lf = project.files[aid]
        text = buffers.get(aid, lf.text)
        if text is None:
            raise CritiqueError(f"{lf.rel} is missing or unreadable: nothing to critique")
        out[aid] = text
    return out


DEFAULT_PANELS = Path(__file__).resolve().parents[2] / "data" / "default_panels.yaml"


def default_panel(unit: str) -> dict:
    data = YamlDocument.from_bytes(DEFAULT_PANELS.read_bytes()).data
    return data["panels"][unit]


def panel_source(project: Project, unit: str) -> tuple[dict, bool]:
    """The unit's panel from critiques/experts.yaml, else ftd's default (True when default)."""
    ex = project.files["experts"]
    data = ex.data if ex.readable else None
    panels = data.get("panels") if isinstance(data, dict) and isinstance(data.get("panels"), dict) else {}
    p = panels.get(unit) if isinstance(panels.get(unit), dict) else {}
    if not any(isinstance(e, dict) and e.get("fictional") is True for e in p.get("experts") or []):
        return default_panel(unit), True
    return p, False


def panel(project: Project, unit: str) -> list[Voice]:
    p, _ = panel_source(project, unit)
    voices = []
    for i, e in enumerate(p.get("experts") or []):
        if isinstance(e, dict) and e.get("fictional") is True and e.get("name"):
            voices.append(Voice(f"expert-{i}", clean(str(e["name"])), str(e.get("kind", "expert")), e))
    for i, u in enumerate(p.get("difficult_users") or []):
        if isinstance(u, dict) and u.get("fictional") is True and u.get("name"):
            voices.append(Voice(f"user-{i}", clean(str(u["name"])), "difficult user", u, difficult_user=True))
    if not voices:
        raise CritiqueError(f"critiques/experts.yaml has no fictional experts for the {unit} panel")
    return voices


def critique_context(project: Project) -> dict:
    """The domain, description and constraints every expert is told (public: the app's panel
    suggestion and `ftd prompts show expert` use it too)."""
    s = project.files["settings"].data if project.files["settings"].readable else {}
    s = s if isinstance(s, dict) else {}
    dep = s.get("deployment") if isinstance(s.get("deployment"), dict) else {}
    bud = s.get("budget") if isinstance(s.get("budget"), dict) else {}
    constraints = ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}"
                            for k, v in {**dep, **bud}.items() if v not in (None, ""))
    return {"domain": s.get("domain"), "description": s.get("description"), "constraints": constraints}


@dataclass
class CritiquePlan:
    """Everything a critique will send, worked out before anything is sent: the run, the
    forecast and `ftd prompts show expert|synthesis` all read it, so they cannot disagree."""
    unit: str
    voices: list[Voice]
    texts: dict[str, str]  # artifact id -> the text under critique
    artifact: dict[str, str]  # the same texts by their paths
    context: dict
    digest: Digest
    words: int  # the answer budget each expert is given
    default_panel: bool
    with_transcripts: bool
    artifact_tokens: int

    @property
    def answer_tokens(self) -> int:
        return answer_tokens(self.words)

    def expert_request(self, v: Voice) -> list[dict]:
        return expert_messages(v.spec, self.unit, self.artifact, self.context, self.digest.parts, v.difficult_user,
                               words=self.words)

    def synthesis_request(self, answers: list[tuple[str, str]]) -> list[dict]:
        return synthesis_messages(self.unit, self.artifact, answers, context=self.context, digest=self.digest.parts)


def critic_window(settings: dict | None) -> int | None:
    """The critic's context window when known: its num_ctx, else litellm's price map."""
    from ...core.economics.costs import price_map

    models = settings.get("models") if isinstance(settings, dict) and isinstance(settings.get("models"), dict) else {}
    spec = models.get("critic") if isinstance(models.get("critic"), dict) else {}
    if isinstance(spec.get("num_ctx"), int) and spec["num_ctx"] > 0:
        return spec["num_ctx"]
    model = spec.get("model")
    if not isinstance(model, str):
        return None
    table = price_map()
    bare = model.split("/", 1)[1] if "/" in model else model
    for key in (model, bare):
        entry = table.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("max_input_tokens"), int):
            return entry["max_input_tokens"]
    return None


def plan_critique(project: Project, unit: str, *, buffers: dict[str, str] | None = None,
                  with_transcripts: bool = False, settings: dict | None = None) -> CritiquePlan:
    """``settings``: the roles in force (for the critic's window); default the project's own."""
    from ...core.economics.counting import approx_counter

    if unit not in UNIT_FILES:
        raise CritiqueError(f"no critique for '{unit}': choose taxonomy, rubric, personas or prompts")
    texts = unit_texts(project, unit, buffers)
    voices = panel(project, unit)
    if settings is None:
        lf = project.files["settings"]
        settings = lf.data if lf.readable and isinstance(lf.data, dict) else {}
    counter = approx_counter(None)
    artifact = {project.files[a].rel: t for a, t in texts.items()}
    artifact_tokens = sum(counter.count(t) for t in artifact.values())
    words = answer_words(artifact_tokens)
    window = critic_window(settings)
    if window:  # the answer must fit beside the artifact: a smaller window gets a shorter answer
        fit = int((window - artifact_tokens - OVERHEAD_TOKENS - MATERIAL_TOKENS) / TOKENS_PER_WORD) // 50 * 50
        if fit < MIN_FIT_WORDS:
            raise CritiqueError(f"the {unit} ({artifact_tokens:,} tokens) and an answer do not fit the critic's "
                                f"{window:,}-token context window: choose a critic with a larger one (models.critic), "
                                "or raise its num_ctx")
        words = min(words, fit)
    digest = build_digest(project, unit, buffers=buffers, counter=counter, window=window,
                          fixed_tokens=artifact_tokens + answer_tokens(words))
    if with_transcripts:
        from .transcripts import best_and_worst, latest_run

        baseline = latest_run(project.root)
        if baseline is None:
            raise CritiqueError("no baseline run with transcripts and judgments under eval/runs/ yet")
        shown = best_and_worst(baseline)
        digest.parts.update(shown)
        digest.shown += [f"{label} (up to 3,500 characters)" for label in shown]
    return CritiquePlan(unit, voices, texts, artifact, critique_context(project), digest, words,
                        panel_source(project, unit)[1], with_transcripts, artifact_tokens)


def review_proposal(p: dict, project: Project, unit: str, texts: dict[str, str]) -> ProposalView:
    """Every edit applied to ``texts`` (artifact id -> text), `ftd check` run on the result, the
    project's rules checked (services/critique/proposal_review.py): what the person sees before deciding."""
    from .proposal_review import review

    r = review(p, project, texts)
    view = ProposalView(p, r.file_ids[0] if r.file_ids else None, r.problem, r.flagged,
                        file_ids=r.file_ids, marks=r.marks, findings=r.findings)
    return view


def apply_proposal(p: dict, project: Project, texts: dict[str, str]) -> dict[str, str]:
    """The new text of every artifact the proposal's edits change (artifact id -> text), from
    ``texts``; an EditFailed (services/critique/edits.py) says which edit no longer applies, and why."""
    from .edits import apply_edits, proposal_edits

    by_rel = {project.files[a].rel: a for a in texts}
    changed = apply_edits(proposal_edits(p), {rel: texts[a] for rel, a in by_rel.items()})
    return {by_rel[rel]: text for rel, text in changed.items()}


async def run_critique(door: Door, project: Project, unit: str, on_event: Callable[[str, Voice | None], None] | None = None,
                       *, buffers: dict[str, str] | None = None, use_cache: bool = True,
                       with_transcripts: bool = False, plan: CritiquePlan | None = None,
                       synthesis_cache: bool = True) -> CritiqueRun:
    """``synthesis_cache=False``: the experts' answers may come from the response cache (identical
    requests hit it) while the synthesis is asked again: the retry after an empty synthesis."""
    plan = plan or plan_critique(project, unit, buffers=buffers, with_transcripts=with_transcripts,
                                 settings=door.settings)
    texts, voices = plan.texts, plan.voices
    run = CritiqueRun(unit, voices, texts, text_hash(texts), default_panel=plan.default_panel,
                      with_transcripts=with_transcripts)
    run.plan = plan
    role = door.role("critic")
    emit = on_event or (lambda kind, voice: None)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    async def one(v: Voice) -> None:
        emit("status", v)  # waiting for a place at the server

        def delta(piece: str) -> None:
            if v.status == "waiting":
                v.status = "streaming"
                emit("status", v)
            v.text += piece
            emit("delta", v)

        try:
            await door.stream(role, plan.expert_request(v), delta, use_cache=use_cache)
            v.status = "done"
        except LLMError as exc:
            v.status, v.error = "error", exc.message
            if exc.partial and not v.text:
                v.text = exc.partial
        except asyncio.CancelledError:
            v.status = "cancelled"
            emit("status", v)
            raise
        emit("status", v)

    try:
        await asyncio.gather(*(one(v) for v in voices))
        answered = [(f"{v.name} ({v.kind})", v.text) for v in voices if v.status == "done" and v.text.strip()]
        if not answered:
            raise CritiqueError("no expert answered: " + "; ".join(v.error for v in voices if v.error)[:500])
        emit("synthesis", None)
        try:
            synth, _ = await door.structured(role, plan.synthesis_request(answered), Synthesis,
                                             use_cache=use_cache and synthesis_cache)
            run.proposals = [review_proposal(p.model_dump(), project, unit, texts) for p in synth.proposals]
        except LLMError as exc:
            run.synthesis_error = f"the synthesis failed: {exc.message}"
        if not run.proposals and not run.synthesis_error:
            run.synthesis_error = NO_PROPOSALS
        emit("proposals", None)
    except asyncio.CancelledError:
        run.cancelled = True
    finally:
        run.candidates, run.material_notes = collect_material(voices)
        run.log_path = write_log(project.root, unit, _front(run, role.model, started, door), [
            (f"{v.name} ({v.kind}){' — difficult user' if v.difficult_user else ''}",
             v.status + (f": {v.error}" if v.error else ""), v.text) for v in voices])
    return run


def collect_material(voices: list[Voice]) -> tuple[list[dict], list[str]]:
    """Every answered expert's test material, numbered C1, C2, … (a cut answer's too: what
    arrived is kept, and a person decides what to take)."""
    from .material import number, parse_material

    found, notes = [], []
    for v in voices:
        if v.text.strip():
            items, why = parse_material(v.text, v.name)
            found += items
            notes += why
    return number(found), notes


def _logged_edit(e: dict) -> dict:
    """An edit as the log keeps it: its fields that are set, the texts verbatim (they apply later)."""
    out = {k: str(e.get(k) or "") for k in ("file", "op")}
    if e.get("path") not in (None, ""):
        out["path"] = str(e["path"])
    if out["op"] in ("set", "append"):
        out["value"] = e.get("value")
    for k in ("find", "replace"):
        if e.get(k) is not None:
            out[k] = str(e[k])
    return out


def _front(run: CritiqueRun, model: str, started: str, door: Door) -> dict:
    usage = door.usage.get("critic")
    return {
        "artifact": run.unit, "created": started, "model": model, "artifact_hash": run.judged_hash,
        "panel": "ftd default (domain-general)" if run.default_panel else "critiques/experts.yaml",
        "with_transcripts": run.with_transcripts,
        # what every expert was shown beside the artifact, and what was cut to fit
        "context": ({**run.plan.digest.as_log(), "answer_words": run.plan.words} if run.plan is not None else None),
        "synthesis": bool(run.proposals) and not run.cancelled,
        "cancelled": run.cancelled, "synthesis_error": run.synthesis_error or None,
        "proposals": [{"id": str(p.data.get("id")), "title": clean(str(p.data.get("title"))),
                       "severity": str(p.data.get("severity")), "target": clean(str(p.data.get("target"))),
                       "experts": [clean(str(e)) for e in p.data.get("experts") or []],
                       "rationale": clean(str(p.data.get("rationale"))),
                       "disagreement": clean(p.disagreement) or None,
                       "edits": [_logged_edit(e) for e in p.edits],
                       "cannot_apply": p.problem or None, "flagged": p.flagged or None,
                       "marks": p.marks or None, "new_findings": p.findings or None,
                       "disposition": None, "reason": None} for p in run.proposals],
        # candidates: a person takes (into the rubric as UNREVIEWED, or into eval/scenarios.yaml) or drops each
        "candidates": run.candidates or None,
        "material_notes": run.material_notes or None,
        "dispositions_artifact_hash": None,
        "usage": {"calls": usage.calls if usage else 0, "input_tokens": usage.input_tokens if usage else 0,
                  "output_tokens": usage.output_tokens if usage else 0,
                  "cost_usd": (round(usage.cost, 4) if usage and usage.cost is not None else None)},
    }


def logs_of(project: Project, unit: str) -> list:
    """The unit's critique logs, newest first."""
    folder = project.root / "critiques" / unit
    from ...core.rules.critique_gate import log_order

    return sorted((p for p in folder.glob("*.md") if p.is_file()), key=log_order, reverse=True) if folder.is_dir() else []


def run_from_log(project: Project, unit: str, path, buffers: dict[str, str] | None = None) -> CritiqueRun:
    """A finished run rebuilt from its log, to decide its proposals later."""
    from .log import read_front

    front = read_front(path)
    texts = unit_texts(project, unit, buffers)
    run = CritiqueRun(unit, [], texts, str(front.get("artifact_hash") or ""), log_path=path)
    for p in front.get("proposals") or []:
        if isinstance(p, dict):
            view = review_proposal(p, project, unit, texts)
            view.disposition = p.get("disposition") or None
            view.reason = p.get("reason") or ""
            run.proposals.append(view)
    run.candidates = [c for c in front.get("candidates") or [] if isinstance(c, dict)]
    run.material_notes = [str(n) for n in front.get("material_notes") or []]
    run.synthesis_error = str(front.get("synthesis_error") or "")
    run.cancelled = front.get("cancelled") is True
    from .log import read_answers

    for i, (heading, status, text) in enumerate(read_answers(path)):  # the answers, to read again
        user = heading.endswith(" — difficult user")
        name = heading.removesuffix(" — difficult user")
        kind = name[name.rfind(" (") + 2:-1] if name.endswith(")") and " (" in name else "expert"
        v = Voice(f"logged-{i}", name[:name.rfind(" (")] if kind != "expert" else name, kind, {}, difficult_user=user,
                  text=text, status=status.split(":", 1)[0])
        v.error = status.split(": ", 1)[1] if ": " in status else ""
        run.voices.append(v)
    return run
