"""One project as both shells work on it: the settings in force, the approval policy, the door to
the models, the person's decision, the report, labels turned into calibration examples, and the
hash a critique log records.

The TUI and the CLI each used to assemble these themselves (effective settings in three places,
a Door and a cache in five, four approval checks, two copies of writing a decision). They ask a
ProjectSession now, so a feature offered by one shell is the same code in the other.

Cheap to build and import: nothing here imports litellm or pydantic at module level (the app
builds its session before its first frame)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.project.project import BY_ID, Project, unit_hash
from ..core.text.textsafe import clean_line

if TYPE_CHECKING:
    from .llm.door import Door

REPORT_FILE = BY_ID["eval-results"].path
CONTEXT_CHARS = 1500  # an exported example's context: the end of the conversation, where the judged reply is


class SessionError(Exception):
    """What went wrong, in one line fit to show (cleaned of anything a terminal would act on)."""

    def __init__(self, message: str):
        super().__init__(clean_line(message))


@dataclass
class ProjectSession:
    root: Path
    user_models: dict | None = None  # the user config's `models` (trusted: the user's own)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    @classmethod
    def from_user_config(cls, root: Path | str) -> ProjectSession:
        """The session with the user config's models, as the CLI starts (the app passes its own)."""
        from ..core.user.prefs import load_prefs

        prefs, _ = load_prefs()
        models = getattr(prefs, "models", None)
        return cls(Path(root), models if isinstance(models, dict) else None)

    # ------------------------------------------------------------------ settings and trust
    @property
    def report_path(self) -> Path:
        return self.root / REPORT_FILE

    def project_settings(self, project: Project | None = None) -> dict:
        """ftd.yaml's data, or {} when it is missing or unreadable (the checks say why)."""
        if project is None:
            project = Project.load(self.root)
        lf = project.files["settings"].ensure_parsed()
        return lf.data if lf.readable and isinstance(lf.data, dict) else {}

    def effective_settings(self, project_settings: dict | None = None) -> tuple[dict, dict[str, str]]:
        """(the roles in force: ftd.yaml role by role over the user config, where each came from)."""
        from ..core.user.roles import effective_settings

        if project_settings is None:
            project_settings = self.project_settings()
        return effective_settings(project_settings, self.user_models)

    def needs_approval(self, project_settings: dict) -> list[str]:
        """What must be approved before any call (spec §9): [] once approved or when nothing needs it.
        Each item says what goes where, a key variable included."""
        from ..core.user.trust import is_approved, needs_approval

        return [] if is_approved(project_settings) else needs_approval(project_settings)

    def approve(self, project_settings: dict) -> None:
        from ..core.user.trust import approve

        approve(project_settings, self.root)

    def door(self, merged: dict, project_settings: dict, *, cache: bool = True, trusted: bool | None = None,
             max_attempts: int | None = None) -> Door:
        """The door to the models for the roles in force, with the response cache unless ``cache``
        is off. ``trusted`` defaults to whether the project's endpoints are approved; a caller
        that asked first passes True."""
        from ..core.user.dirs import cache_dir
        from ..core.user.trust import is_approved
        from .llm.cache import ResponseCache
        from .llm.door import Door

        kwargs: dict[str, Any] = {}
        if max_attempts is not None:
            kwargs["max_attempts"] = max_attempts
        return Door(merged, cache=ResponseCache(cache_dir() / "responses.sqlite") if cache else None,
                    trusted=is_approved(project_settings) if trusted is None else trusted, **kwargs)

    def hosts(self, project_settings: dict) -> list[str]:
        """Where project text goes when a model is called: each role's host, in role order."""
        from ..core.user.providers import host_of, iter_roles, provider_of

        hosts: list[str] = []
        for _, role in iter_roles(project_settings):
            model = role.get("model")
            if not isinstance(model, str):
                continue
            base = role.get("api_base")
            host = host_of(base) if isinstance(base, str) else provider_of(model)
            if host and host not in hosts:
                hosts.append(host)
        return hosts

    # ------------------------------------------------------------------ the report and the decision
    def record_decision(self, decision: str, decided_by: str, rationale: str, *, expected=None,
                        today: str | None = None) -> Path:
        """Write the person's go / no-go into the report's front matter (an exact edit, atomic).
        ``expected`` is the FileStamp the caller read (a conflict is refused); else the file as
        read here. Raises SessionError with a line to show."""
        from ..core.evaluation.report import record_decision
        from ..core.project.storage import ConflictError, FileStamp, save_atomic

        path = self.report_path
        try:
            data = path.read_bytes()
            new = record_decision(data.decode("utf-8"), decision, decided_by, rationale,
                                  today or dt.date.today().isoformat())
            save_atomic(path, new.encode("utf-8"), expected or FileStamp.of(path, data))
        except FileNotFoundError:
            raise SessionError(f"no report yet: the run writes {REPORT_FILE} when it finishes") from None
        except (ConflictError, ValueError, UnicodeDecodeError, OSError) as exc:
            raise SessionError(str(exc)) from exc
        return path

    def refresh_report(self, summary: dict) -> bool:
        """Regenerate the report's generated parts for this run (after a review session); the
        decision and the person's prose are kept. False when there is no report or it shows
        another run (the labels stay in the run folder). Raises SessionError."""
        from ..core.evaluation.report import update_report
        from ..core.project.storage import ConflictError, FileStamp, save_atomic
        from ..core.text.markdown import parse_markdown

        path = self.report_path
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return False
        text = data.decode("utf-8", errors="replace")
        doc = parse_markdown(text)
        fm = doc.front_matter.data if doc.front_matter is not None else None
        if not isinstance(fm, dict) or (fm.get("run") or {}).get("id") != summary.get("run"):
            return False
        try:
            new = update_report(text, summary)
            if new != text:
                save_atomic(path, new.encode("utf-8"), FileStamp.of(path, data))
        except (ConflictError, ValueError, OSError) as exc:
            raise SessionError(str(exc)) from exc
        return True

    # ------------------------------------------------------------------ labels and hashes
    def calibration_examples(self, rubric_text: str, run_dir: Path, conv_id: str,
                             labels: dict[str, str]) -> tuple[str, int]:
        """A person's labels on one conversation as candidate calibration examples, added to the
        rubric text: typed UNREVIEWED (they count once a person types them), suggested by the
        label. (the new rubric text, how many were added). Raises SessionError."""
        from ..core.evaluation import runs
        from ..core.text.yamldoc import EditError, YamlDocument, YamlError
        from .critique.candidates import add_calibration_example

        t = runs.read_json(Path(run_dir) / runs.TRANSCRIPTS / f"{conv_id}.json") or {}
        exchanges = t.get("exchanges") or []
        if not labels or not exchanges:
            return rubric_text, 0
        history = "\n".join(f"User: {e.get('user', '')}\nAssistant: {e.get('assistant', '')}" for e in exchanges[:-1])
        context = (history + "\n" if history else "") + f"User: {exchanges[-1].get('user', '')}"
        if len(context) > CONTEXT_CHARS:
            context = "…" + context[-CONTEXT_CHARS:]
        response = str(exchanges[-1].get("assistant", ""))
        try:
            doc = YamlDocument.from_text(rubric_text)
            added = 0
            for cid, label in sorted(labels.items()):
                example = {"type": "UNREVIEWED", "suggested_type": {"YES": "PASS", "NO": "FAIL", "NA": "NA"}[label],
                           "context": context, "response": response,
                           "reasoning": f"from human review of conversation {conv_id} in run {Path(run_dir).name}: "
                                        f"the reviewer answered {label}; explain why before typing it"}
                try:
                    doc = add_calibration_example(doc, cid, example)
                except KeyError:  # a label for a criterion the rubric no longer has
                    continue
                added += 1
        except (YamlError, EditError, KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"could not add the examples: {exc}") from exc
        return doc.text, added

    def unit_hash(self, unit: str, texts: dict[str, str], boms: dict[str, bool] | None = None,
                  project: Project | None = None) -> str:
        """The hash a unit's files will have once these texts are saved (Project.artifact_hash's
        form): what a critique log records, so a later edit marks the critique stale."""
        from .critique.prompts import UNIT_FILES

        if project is None:
            project = Project.load(self.root, parse=False)
        parts = []
        for aid in UNIT_FILES[unit]:
            lf = project.files[aid]
            bom = (boms or {}).get(aid, lf.bom)
            text = texts[aid] if aid in texts else (lf.text or "")
            parts.append((lf.rel, hashlib.sha256((("\ufeff" if bom else "") + text).encode("utf-8")).hexdigest()))
        return unit_hash(parts)

    # --- for the TUI (methods only the app needs; helpers add here)
    def report_front_matter(self) -> dict | None:
        """The report's front matter as it is on disk now; None with no report or no front matter
        (undecodable bytes are replaced, as refresh_report reads them)."""
        from ..core.text.markdown import parse_markdown

        try:
            text = self.report_path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return None
        doc = parse_markdown(text)
        fm = doc.front_matter.data if doc.front_matter is not None else None
        return fm if isinstance(fm, dict) else None

    def report_shows(self, run_id: str | None) -> bool:
        """Whether the report on disk is this run's (the app asks before it refreshes a report whose
        pane has unsaved edits: refused only when the refresh would write)."""
        fm = self.report_front_matter()
        return fm is not None and (fm.get("run") or {}).get("id") == run_id

    # --- for the CLI (methods only the command line needs; helpers add here)
