"""The expert critique (F6): fictional experts read an artifact, a synthesis proposes edits, and
the person decides each one. This module opens the critique screen, runs its worker, and applies
what the person decides to the buffers and the critique's log; the screen only shows and asks."""

from __future__ import annotations

from textual import work

from ...core.text.textsafe import clean_line
from ..messages import (CandidateDecided, CritiqueLeftToPerson, CritiqueMarkedReviewed, CritiqueProgressed,
                        ProposalDecided, SynthesisRetryAsked)
from ..modals.dialogs import Choice, DiffScreen


class CritiqueFlow:
    """Mixed into FtdApp: everything F6 starts."""

    @property
    def CRITIQUE_UNIT(self) -> dict[str, str]:
        from ...services.critique.prompts import UNIT_FILES

        return {aid: unit for unit, ids in UNIT_FILES.items() for aid in ids}

    def action_critique_with_transcripts(self) -> None:
        from ...services.critique.transcripts import latest_run

        if self.project is None or latest_run(self.project.root) is None:
            self.notify("no baseline run with transcripts yet: a plain critique is F6", markup=False)
            return
        self.action_run_critique(fresh=True, with_transcripts=True)

    def action_run_critique(self, fresh: bool = False, with_transcripts: bool = False) -> None:
        if self.project is None or self.snapshot is None:
            return
        unit = self.CRITIQUE_UNIT.get(self.current or "")
        if unit is None:
            self.notify("the expert critique covers the taxonomy, the rubric, the personas and the prompts; "
                        "open one of them first", markup=False)
            return
        hidden = self._critique_screen
        if hidden is not None and hidden not in self.screen_stack and hidden.unit == unit:
            self.push_screen(hidden)  # the critique sent to the background (streaming, or waiting for decisions)
            return
        merged, settings = self.model_settings()
        status = self.snapshot.result.critiques.get(unit)
        if not fresh and status is not None and status.latest and not status.dispositioned \
                and "await a decision" in status.reason:
            def chosen(choice: str | None) -> None:
                if choice == "decide":
                    self.open_critique_log(unit, self.root / status.latest)
                elif choice == "new":
                    self.action_run_critique(fresh=True)

            self.push_screen(Choice(f"The last critique of the {unit} has proposals waiting for a decision.",
                                    [("decide", "Decide them", "d"), ("new", "Run a new critique", "n"),
                                     ("cancel", "Cancel", "c")], clean_line(status.reason)), chosen)
            return
        if not fresh and status is not None and status.latest and not status.dispositioned \
                and "no synthesis" in status.reason:
            latest = self.root / status.latest

            def after_empty(choice: str | None) -> None:
                if choice == "open":
                    self.open_critique_log(unit, latest)
                elif choice == "reviewed":
                    self.ask_reviewed(unit, latest)
                elif choice == "new":
                    self.action_run_critique(fresh=True, with_transcripts=with_transcripts)

            self.push_screen(Choice(f"The last critique of the {unit} gave no proposals.",
                                    [("open", "Open it (answers, candidates)", "o"),
                                     ("reviewed", "Mark it reviewed, nothing to change", "v"),
                                     ("new", "Run a new critique", "n"), ("cancel", "Cancel", "c")],
                                    f"{status.latest}: a reviewed critique, with your reason, closes the critique gate "
                                    "until the artifact changes"), after_empty)
            return
        if not self.ask_approval(settings, lambda: self.action_run_critique(fresh=True,
                                                                             with_transcripts=with_transcripts)):
            return
        self.forecast_critique(unit, merged, with_transcripts)

    def forecast_critique(self, unit: str, merged: dict, with_transcripts: bool) -> None:
        """F6's forecast (calls, tokens, cost per role), from the very requests the run will send:
        Enter starts the critique, Escape cancels."""
        from ...services.critique.forecast import critique_forecast, lines
        from ...services.critique.run import CritiqueError, plan_critique

        try:
            plan = plan_critique(self.project, unit, buffers=self.dirty_buffers(), with_transcripts=with_transcripts,
                                 settings=merged)
            shown = lines(critique_forecast(plan, merged))
        except CritiqueError as exc:
            self.notify(clean_line(str(exc)), title="No critique", severity="error", markup=False)
            return

        def answered(choice: str | None) -> None:
            if choice == "start":
                self.start_critique(unit, merged, with_transcripts, plan=plan)

        self.push_screen(Choice(f"Critique of the {unit}: the forecast", [("start", "Start", "enter"),
                                                                        ("cancel", "Cancel", "escape")],
                                "\n".join(shown)), answered)

    def start_critique(self, unit: str, merged: dict, with_transcripts: bool = False, *, plan=None,
                       synthesis_cache: bool = True) -> None:
        from ...services.critique.run import panel_source
        from ..screens.critique import CritiqueScreen

        if panel_source(self.project, unit)[1]:
            self.notify(f"critiques/experts.yaml has no {unit} panel: using ftd's default, domain-general one",
                        severity="warning", timeout=6, markup=False)
        screen = CritiqueScreen(unit, self.buffer_text)
        self._critique_screen = screen
        # installed, so that sending it to the background keeps its widgets (a popped screen
        # that is not installed is taken apart)
        name = f"critique-{id(screen)}"
        self.install_screen(screen, name=name)

        def closed(_: object) -> None:
            self._critique_screen = None
            self.call_later(lambda: self.uninstall_screen(name) if name in self._installed_screens else None)
            self.refresh_status()

        self.push_screen(name, closed)
        self.critique_worker(screen, unit, merged, with_transcripts, plan=plan, synthesis_cache=synthesis_cache)

    @work(exclusive=True, group="critique")
    async def critique_worker(self, screen, unit: str, settings: dict, with_transcripts: bool = False, *,
                              plan=None, synthesis_cache: bool = True) -> None:
        from ...services.critique.run import CritiqueError, run_critique
        from ...services.llm.door import LLMError

        # the project's roles were approved before this ran
        door = self.session.door(settings, self.session.project_settings(self.project), trusted=True)
        try:
            run = await run_critique(door, self.project, unit, screen.voice_event, buffers=self.dirty_buffers(),
                                     with_transcripts=with_transcripts, plan=plan, synthesis_cache=synthesis_cache)
            screen.finished(run, None)
            self.notify(f"critique of the {unit} saved: {run.log_path.name}", timeout=4, markup=False)
        except (CritiqueError, LLMError) as exc:
            screen.finished(None, clean_line(str(exc)))
            self.notify(clean_line(str(exc)), title="Critique failed", severity="error", markup=False)
        finally:
            if door.cache is not None:
                door.cache.close()
            self.schedule_validation()

    def open_critique_log(self, unit: str, path) -> None:
        """The proposals of an earlier critique, to decide them now."""
        from ...services.critique.run import run_from_log
        from ..screens.critique import CritiqueScreen

        try:
            run = run_from_log(self.project, unit, path, self.dirty_buffers())
        except Exception as exc:  # a log damaged or written by another version, in any way: said, not raised
            self.notify(f"cannot read {path.name}: {clean_line(str(exc))}", severity="error", markup=False)
            return
        screen = CritiqueScreen(unit, self.buffer_text)
        screen.running = False
        self.push_screen(screen)
        def show() -> None:
            for v in run.voices:  # its answers, as logged
                screen.voice_event("status", v)
            screen.finished(run, None)  # no proposals: the error view and its three ways on, never a blank tab

        self.call_after_refresh(show)

    def action_past_critiques(self) -> None:
        from ...services.critique.run import logs_of
        from ..screens.critique import PastCritiquesScreen

        unit = self.CRITIQUE_UNIT.get(self.current or "")
        if unit is None or self.project is None:
            self.notify("open the taxonomy, the rubric, the personas or a prompt to see its critiques", markup=False)
            return
        logs = logs_of(self.project, unit)
        if not logs:
            self.notify(f"no critique of the {unit} yet (F6 runs one)", markup=False)
            return

        def opened(path) -> None:
            if path is not None:
                if path == logs[0]:
                    self.open_critique_log(unit, path)
                else:
                    self.push_screen(DiffScreen(f"{path.name} (an earlier critique; decisions count on the latest)",
                                                "", path.read_text(encoding="utf-8", errors="replace"), "", path.name))

        self.push_screen(PastCritiquesScreen(unit, logs), opened)

    def action_suggest_panel(self) -> None:
        unit = self.CRITIQUE_UNIT.get(self.current or "")
        if unit is None or self.project is None:
            self.notify("open the taxonomy, the rubric, the personas or a prompt first", markup=False)
            return
        merged, settings = self.model_settings()
        if self.session.needs_approval(settings):
            self.notify("approve the project's endpoints first (F6 asks, or ftd trust)", severity="warning", markup=False)
            return
        self.notify(f"asking the critic for a {unit} panel…", timeout=3, markup=False)
        self.suggest_worker(unit, merged)

    @work(exclusive=True, group="suggest")
    async def suggest_worker(self, unit: str, settings: dict) -> None:
        from ...services.critique.prompts import SuggestedPanel, panel_messages
        from ...services.critique.run import critique_context
        from ...services.llm.door import LLMError

        door = self.session.door(settings, self.session.project_settings(self.project), cache=False, trusted=True)
        try:
            suggestion, _ = await door.structured(door.role("critic"), panel_messages(unit, critique_context(self.project)),
                                                  SuggestedPanel, use_cache=False)
        except LLMError as exc:
            self.notify(clean_line(exc.message), title="No panel suggested", severity="error", markup=False)
            return
        if not suggestion.experts:
            self.notify(f"the critic suggested no experts for the {unit} panel: nothing to insert (ask again, or "
                        "write the panel in critiques/experts.yaml)", title="No panel suggested", severity="warning",
                        timeout=8, markup=False)
            return
        panel = {"experts": [{**e.model_dump(exclude_none=True), "fictional": True} for e in suggestion.experts],
                 "difficult_users": [{**u.model_dump(), "fictional": True} for u in suggestion.difficult_users]}
        lines = [f"{e['name']} ({e['kind']}{', ' + e['school'] if e.get('school') else ''}) — fictional: "
                 f"{e['background']} Catches: {e['blind_spot']}" for e in panel["experts"]]
        lines += [f"{u['name']} (difficult user) — fictional: {u['description']}" for u in panel["difficult_users"]]

        def answered(choice: str | None) -> None:
            if choice == "use":
                self.put_panel(unit, panel)

        self.push_screen(Choice(f"Suggested {unit} panel (every person is invented):",
                                [("use", "Put it in experts.yaml", "u"), ("cancel", "Discard", "x")],
                                "\n".join(clean_line(l) for l in lines)), answered)

    def put_panel(self, unit: str, panel: dict) -> None:
        """Into the experts.yaml buffer as an exact edit; the user reviews and saves it."""
        from ...core.text.yamldoc import EditError, YamlDocument

        self.open_artifact("experts", focus=True)
        ed = self.editors["experts"]
        try:
            doc = YamlDocument.from_text(ed.text if ed.text.strip() else "panels: {}\n")
            new = doc.set(f"panels.{unit}", panel, create=True)
        except (EditError, Exception) as exc:  # noqa: B014 - a malformed buffer: say so, change nothing
            self.notify(f"cannot put the panel into experts.yaml: {clean_line(str(exc))}", severity="error", markup=False)
            return
        ed.replace(new.text, (0, 0), ed.document.end)
        self.notify(f"the suggested {unit} panel is in critiques/experts.yaml; review it and save", markup=False)

    # ------------------------------------------------------------------ what the critique screen reports
    def on_critique_progressed(self, message: CritiqueProgressed) -> None:
        self.refresh_status()

    def on_proposal_decided(self, message: ProposalDecided) -> None:
        if message.disposition == "accepted":
            applied = self.accept_proposal(message.run, message.index)
        else:
            self.record_disposition(message.run, message.index, message.disposition, message.reason)
            applied = True
        message.screen.proposal_decided(message.index, applied)

    def on_candidate_decided(self, message: CandidateDecided) -> None:
        run, j = message.run, message.index
        done = self.take_candidate(run, j) if message.disposition == "accepted" else self.drop_candidate(run, j)
        if done:
            message.screen.candidate_decided(j)

    def on_critique_marked_reviewed(self, message: CritiqueMarkedReviewed) -> None:
        screen = message.screen
        if self.record_reviewed(screen.unit, screen.run.log_path, message.reason):
            screen.marked_reviewed(message.reason)

    def on_synthesis_retry_asked(self, message: SynthesisRetryAsked) -> None:
        self.retry_synthesis(message.screen)

    def on_critique_left_to_person(self, message: CritiqueLeftToPerson) -> None:
        self.write_them_yourself(message.unit)

    def cancel_critique(self) -> None:
        self.workers.cancel_group(self, "critique")

    def critique_progress(self) -> str | None:
        """The status line's words while a critique runs behind the editor (sent back with b / F6)."""
        screen = self._critique_screen
        if screen is None or not screen.running or screen in self.screen_stack:
            return None
        done = sum(1 for v in screen.voices if v.status in ("done", "error", "cancelled"))
        doing = " · synthesising proposals" if screen.synthesising else ""
        return f"critique of the {screen.unit} running · {done}/{len(screen.voices)} answered{doing} · F6 shows it"

    def retry_synthesis(self, screen) -> None:
        """After an empty synthesis: a new critique of the same unit whose experts' answers come from
        the response cache (their requests are byte-identical), the synthesis asked again uncached."""
        run = screen.run
        merged, _ = self.model_settings()
        screen.dismiss(None)
        self.notify("asking the synthesis again; the experts' answers come from the response cache",
                    timeout=4, markup=False)
        self.call_later(lambda: self.start_critique(screen.unit, merged, bool(run and run.with_transcripts),
                                                    synthesis_cache=False))

    def write_them_yourself(self, unit: str) -> None:
        from ...services.critique.prompts import UNIT_FILES

        self.open_artifact(UNIT_FILES[unit][0], focus=True)
        self.notify(f"write the changes yourself; the critique gate of the {unit} stays open until a new critique "
                    "is decided or this one is marked reviewed (F6, then v)", timeout=8, markup=False)

    def ask_reviewed(self, unit: str, log_path) -> None:
        from ..screens.critique import ReasonScreen

        def given(reason: str | None) -> None:
            if reason:
                self.record_reviewed(unit, log_path, reason)

        self.push_screen(ReasonScreen(f"Reviewed the {unit}, nothing to change: why?"), given)

    def record_reviewed(self, unit: str, log_path, reason: str) -> bool:
        """"Reviewed, nothing to change" with a reason on the critique's log: it closes the gate like
        a disposition (with the hash the artifact will have once the buffers are saved)."""
        from ...services.critique.log import record_reviewed

        try:
            record_reviewed(log_path, reason, self.unit_hash(unit))
        except Exception as exc:  # the log is ours, but the disk may be full or the file moved
            self.notify(f"could not record it: {clean_line(str(exc))}", severity="error", markup=False)
            return False
        self.notify(f"the {unit} critique is recorded as reviewed, nothing to change", markup=False)
        self.schedule_validation()
        return True

    def unit_hash(self, unit: str) -> str:
        """The hash the artifact will have once the buffers are saved (Project.artifact_hash's form)."""
        from ...services.critique.prompts import UNIT_FILES

        ids = [aid for aid in UNIT_FILES[unit] if aid in self.editors]
        return self.session.unit_hash(unit, {aid: self.editors[aid].text for aid in ids},
                                      {aid: self.editors[aid].bom for aid in ids}, project=self.project)

    def accept_proposal(self, run, index: int) -> bool:
        """Every edit of the proposal into the editor buffers, as one undoable change per file (you
        save); when any edit no longer applies to the buffers, nothing is applied, the reason is
        shown and the proposal is not marked accepted."""
        from ...services.critique.edits import EditFailed
        from ...services.critique.run import apply_proposal

        p = run.proposals[index]
        p.apply_error = ""
        try:
            changed = apply_proposal(p.data, self.project, {aid: self.buffer_text(aid) for aid in run.texts})
        except EditFailed as exc:
            p.apply_error = clean_line(str(exc))
        except Exception as exc:  # an edit yamldoc cannot make in a way not foreseen: said, never raised
            p.apply_error = f"an edit could not be made ({clean_line(str(exc)) or type(exc).__name__})"
        else:
            if not changed:
                p.apply_error = "its edits change nothing in the buffers now"
        for aid in changed if not p.apply_error else ():
            self.open_artifact(aid)
            ed = self.editors.get(aid)
            if ed is None or ed.read_only:
                p.apply_error = f"{self.project.files[aid].rel} cannot be edited here"
                break
        if p.apply_error:
            self.notify(f"{p.data.get('id')} no longer applies, so nothing was changed: {p.apply_error}",
                        severity="error", markup=False)
            return False
        for aid, text in changed.items():
            self._replace_buffer(self.editors[aid], text)  # one undoable edit per file
        self.open_artifact(next(iter(changed)))
        self.record_disposition(run, index, "accepted", "")
        files = ", ".join(self.project.files[a].rel for a in changed)
        self.notify(f"applied {p.data.get('id')} to {files}; save to keep it", markup=False)
        return True

    def record_disposition(self, run, index: int, disposition: str, reason: str) -> None:
        from ...services.critique.log import record_disposition

        p = run.proposals[index]
        p.disposition, p.reason = disposition, reason
        try:
            record_disposition(run.log_path, index, disposition, reason, self.unit_hash(run.unit))
        except Exception as exc:  # the log is ours, but the disk may be full or the file moved
            self.notify(f"could not record the decision: {clean_line(str(exc))}", severity="error", markup=False)
        self.schedule_validation()

    def take_candidate(self, run, index: int) -> bool:
        """An expert's test material into the design: an example into the rubric buffer typed
        UNREVIEWED (one undoable edit; you save), a user message into eval/scenarios.yaml."""
        from ...core.project.storage import FileStamp, save_atomic
        from ...services.critique.candidates import CandidateError, add_example, add_scenario

        c = run.candidates[index]
        source = run.log_path.stem if run.log_path is not None else "(unsaved)"
        try:
            if c.get("kind") == "example":
                self.open_artifact("rubric")
                ed = self.editors.get("rubric")
                if ed is None:
                    return False
                self._replace_buffer(ed, add_example(ed.text, c, source))
                where = f"config/rubric.yaml criteria.{c.get('criterion')} (UNREVIEWED)"
                self.notify(f"{c.get('id')} is in {c.get('criterion')}'s examples as UNREVIEWED: type it "
                            f"{c.get('label')} once you agree, then save", markup=False)
            else:
                path = self.root / "eval" / "scenarios.yaml"
                if not path.is_file():
                    self.notify("eval/scenarios.yaml is drawn by the first baseline run (F5): take this message "
                                "after that", severity="warning", markup=False)
                    return False
                data = path.read_bytes()
                lf = self.project.files["taxonomy"].ensure_parsed()
                rub = self.project.overlay(self.dirty_buffers()).files["rubric"].ensure_parsed().data
                gates = [str(g) for g in (rub.get("safety_gates") or [])] if isinstance(rub, dict) else []
                new, sid = add_scenario(data.decode("utf-8"), c, source, lf.data, gates)
                save_atomic(path, new.encode("utf-8"), FileStamp.of(path, data))
                where = f"eval/scenarios.yaml {sid}"
                self.notify(f"{c.get('id')} is scenario {sid} in eval/scenarios.yaml: the next baseline run "
                            "holds it", markup=False)
        except (CandidateError, OSError, UnicodeDecodeError) as exc:
            self.notify(f"cannot take {c.get('id')}: {clean_line(str(exc))}", severity="error", markup=False)
            return False
        return self._record_candidate(run, index, "taken", where)

    def drop_candidate(self, run, index: int) -> bool:
        return self._record_candidate(run, index, "dropped", None)

    def _record_candidate(self, run, index: int, disposition: str, where: str | None) -> bool:
        from ...services.critique.log import record_candidate

        run.candidates[index]["disposition"] = disposition
        if where:
            run.candidates[index]["taken_into"] = where
        try:
            record_candidate(run.log_path, index, disposition, where)
        except Exception as exc:  # the log is ours, but the disk may be full or the file moved
            self.notify(f"could not record it in the log: {clean_line(str(exc))}", severity="error", markup=False)
        return True
