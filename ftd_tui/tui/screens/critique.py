"""F6: the expert critique of the artifact in view. Experts stream side by side with a status
strip; Esc cancels and keeps what arrived; then the proposals, each with its diff, to accept
(an exact edit into the editor's buffer; you save), reject or defer with a reason."""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from ...core.text.diffing import unified
from ...core.text.textsafe import clean, clean_line
from ..messages import (CandidateDecided, CritiqueLeftToPerson, CritiqueMarkedReviewed, CritiqueProgressed,
                        ProposalDecided, SynthesisRetryAsked)

STATUS_MARK = {"waiting": ("·", "dim"), "streaming": ("…", "yellow"), "done": ("✓", "green"),
               "error": ("✗", "bold red"), "cancelled": ("–", "dim")}
SEVERITY_STYLE = {"critical": "bold red", "major": "yellow", "minor": "dim"}


class ReasonScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    ReasonScreen { align: center middle; }
    ReasonScreen > Vertical { width: 80; max-width: 95%; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-reason")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question, style="bold"))
            yield Input(placeholder="one line: why", id="reason")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class CritiqueScreen(Screen[None]):
    DEFAULT_CSS = """
    CritiqueScreen #strip { height: 1; background: $boost; padding: 0 1; }
    CritiqueScreen #body { height: 1fr; }
    CritiqueScreen #voices, CritiqueScreen #proposals { width: 34; border: round $primary-muted; }
    CritiqueScreen #voices:focus, CritiqueScreen #proposals:focus { border: round $primary; }
    CritiqueScreen.narrow #voices, CritiqueScreen.narrow #proposals { display: none; }
    CritiqueScreen #answer-scroll { width: 1fr; border: round $primary-muted; padding: 0 1; }
    CritiqueScreen #diff { width: 1fr; border: round $primary-muted; padding: 0 1; }
    CritiqueScreen #synthesis-error { width: 1fr; border: round $error; padding: 1 2; }
    CritiqueScreen .hidden { display: none; }
    """
    BINDINGS = [
        # when the synthesis gave nothing (the error view): the three ways on, first in the footer
        Binding("s", "retry_synthesis", "Retry", id="critique-retry-synthesis"),
        Binding("w", "write_yourself", "Write", id="critique-write-yourself"),
        Binding("v", "mark_reviewed", "Reviewed", id="critique-mark-reviewed"),
        Binding("escape", "cancel_or_close", "Cancel / close", id="critique-cancel"),
        Binding("right,n", "step(1)", "Next", id="critique-next"),
        Binding("left,p", "step(-1)", "Previous", id="critique-prev"),
        Binding("a", "decide('accepted')", "Accept", id="proposal-accept"),
        Binding("r", "decide('rejected')", "Reject", id="proposal-reject"),
        Binding("d", "decide('deferred')", "Defer", id="proposal-defer"),
        Binding("tab", "toggle_view", "Answers / proposals", id="critique-toggle"),
        Binding("f6,b", "background", "Back to the editor", id="critique-background"),
    ]

    def __init__(self, unit: str, buffer_text: Callable[[str], str]) -> None:
        """``buffer_text(artifact_id)``: the text in that artifact's editor now (what a proposal's
        diff is drawn against). Decisions go to the workspace as messages; it applies them and
        calls back proposal_decided / candidate_decided / marked_reviewed to redraw."""
        super().__init__()
        self.unit = unit
        self.buffer_text = buffer_text
        self.run = None  # CritiqueRun once finished
        self.voices: list = []
        self.index = 0
        self.view = "answers"
        self.running = True
        self._list_stale = False
        self._shown: tuple[str, str] = ("", "")
        self.synthesising = False
        self.nothing_came = False  # finished, not cancelled, no proposals: the error view and its three ways on

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Expert critique · {self.unit} · starting…"), id="strip")
        with Horizontal(id="body"):
            yield OptionList(id="voices")
            with VerticalScroll(id="answer-scroll"):
                yield Markdown("", id="answer")
            yield OptionList(id="proposals", classes="hidden")
            with VerticalScroll(id="diff", classes="hidden"):
                yield Static("", id="diff-body")
            with VerticalScroll(id="synthesis-error", classes="hidden"):
                yield Static("", id="synthesis-error-body")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 100, "narrow")
        self.set_interval(0.05, self.refresh_answer)  # display lag stays under ~60 ms

    def on_screen_resume(self) -> None:
        if self.view == "proposals":
            self.query_one("#proposals", OptionList).focus()

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < 100, "narrow")

    # ---- streaming
    def voice_event(self, kind: str, voice) -> None:
        # pieces of text only mark the view stale; the 50 ms refresh draws them (cheap per piece)
        if voice is not None and voice not in self.voices:
            self.voices.append(voice)
            self._list_stale = True
        if kind == "synthesis":
            self.synthesising = True
            self.update_strip("synthesising proposals…")
        if kind == "status":
            self._list_stale = True
        if kind in ("status", "synthesis") and self.app.screen is not self:
            self.app.post_message(CritiqueProgressed())  # sent to the background: the status line counts the answers

    def refresh_voices(self) -> None:
        lv = self.query_one("#voices", OptionList)
        options = []
        for i, v in enumerate(self.voices):
            mark, style = STATUS_MARK.get(v.status, ("?", ""))
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append(f"{mark} ", style=style)
            label.append(clean_line(v.name))
            label.append(f" {len(v.text.split())}w", style="dim")
            options.append(Option(label, id=f"voice-{i}"))
        highlighted = lv.highlighted
        lv.clear_options()
        lv.add_options(options)
        if options:
            lv.highlighted = min(highlighted if highlighted is not None else 0, len(options) - 1)
        self.update_strip()

    def update_strip(self, extra: str = "") -> None:
        if self.view == "answers" and self.voices:
            v = self.voices[min(self.index, len(self.voices) - 1)]
            line = (f"{self.unit} · {self.index + 1}/{len(self.voices)} · {clean_line(v.name)} (fictional {v.kind}) · "
                    f"{v.status} · {len(v.text.split())} words")
        else:
            line = f"{self.unit} · " + ("no proposals" if self.view == "error" else "proposals")
            if self.run is not None and self.run.candidates:
                taken = sum(1 for c in self.run.candidates if c.get("disposition") == "taken")
                line += f" · {len(self.run.candidates)} candidates ({taken} taken)"
        done = sum(1 for v in self.voices if v.status in ("done", "error", "cancelled"))
        line += f"   [{done}/{len(self.voices)} answered]" + (f" {extra}" if extra else "")
        self.query_one("#strip", Static).update(Text(line))

    def refresh_answer(self) -> None:
        if self.view != "answers" or not self.voices:
            return
        if self._list_stale:
            self._list_stale = False
            self.refresh_voices()
        v = self.voices[min(self.index, len(self.voices) - 1)]
        text = clean(v.text) + (f"\n\n> {clean_line(v.error)}" if v.error else "")
        md = self.query_one("#answer", Markdown)
        if self._shown != (v.key, text):
            scroll = self.query_one("#answer-scroll", VerticalScroll)
            at_bottom = scroll.scroll_y >= scroll.max_scroll_y - 1
            before_key, before = self._shown
            if before_key == v.key and text.startswith(before):
                md.append(text[len(before):])  # the new piece only: no re-parse of the whole answer
            else:
                md.update(text)  # another voice, or an error note: draw it whole
            self._shown = (v.key, text)
            if at_bottom:  # follow the stream only when the reader is already at the end
                scroll.scroll_end(animate=False)
            self.update_strip()

    @on(OptionList.OptionHighlighted, "#voices")
    def voice_chosen(self, event: OptionList.OptionHighlighted) -> None:
        self.index = int(event.option.id.removeprefix("voice-"))
        self.refresh_answer()

    def action_step(self, delta: int) -> None:
        if self.view == "answers" and self.voices:
            self.index = (self.index + delta) % len(self.voices)
            self.query_one("#voices", OptionList).highlighted = self.index
            self.refresh_answer()
        elif self.view == "proposals" and self.run and self.items():
            lv = self.query_one("#proposals", OptionList)
            lv.highlighted = ((lv.highlighted or 0) + delta) % len(self.items())

    # ---- the end of the run
    def finished(self, run, error: str | None) -> None:
        self.running = False
        self.run = run
        self.app.post_message(CritiqueProgressed())  # the status line's "critique … running" ends with it
        if error:
            self.update_strip(f"— {error}")
            return
        if run is None:
            return
        if run.synthesis_error:
            self.update_strip(f"— {clean_line(run.synthesis_error)}")
        if run.proposals or run.candidates:
            self.refresh_proposals()
        if run.proposals:
            self.set_view("proposals")
        elif not run.cancelled:
            self.nothing_came = True
            self.show_synthesis_error()
            self.set_view("error")
        self.refresh_bindings()

    def items(self) -> list[tuple[str, int]]:
        """What the proposals list holds, in order: the proposals, then the experts' candidates
        (test material a person takes or drops)."""
        if self.run is None:
            return []
        return [("proposal", i) for i in range(len(self.run.proposals))] + \
            [("candidate", j) for j in range(len(self.run.candidates))]

    def selected(self) -> tuple[str, int] | None:
        items = self.items()
        if not items:
            return None
        return items[min(self.query_one("#proposals", OptionList).highlighted or 0, len(items) - 1)]

    def refresh_proposals(self) -> None:
        lv = self.query_one("#proposals", OptionList)
        highlighted = lv.highlighted
        options = []
        for i, p in enumerate(self.run.proposals):
            sev = str(p.data.get("severity"))
            label = Text(no_wrap=True, overflow="ellipsis")
            state = {"accepted": "✓ ", "rejected": "✗ ", "deferred": "… "}.get(p.disposition or "", "  ")
            label.append(state, style="bold")
            label.append(f"{sev[:4]:<5}", style=SEVERITY_STYLE.get(sev, ""))
            if p.warned:
                label.append("⚠ ", style="bold yellow")
            label.append(clean_line(str(p.data.get("title"))))
            options.append(Option(label, id=f"proposal-{i}"))
        for j, c in enumerate(self.run.candidates):
            label = Text(no_wrap=True, overflow="ellipsis")
            label.append({"taken": "✓ ", "dropped": "✗ "}.get(c.get("disposition") or "", "  "), style="bold")
            label.append(f"{clean_line(str(c.get('id'))):<5}", style="cyan")
            what = (f"example {c.get('criterion')} {c.get('label')}" if c.get("kind") == "example"
                    else f"message: {c.get('message')}")
            label.append(clean_line(what))
            options.append(Option(label, id=f"candidate-{j}"))
        lv.clear_options()
        lv.add_options(options)
        if options:
            lv.highlighted = min(highlighted if highlighted is not None else 0, len(options) - 1)

    @on(OptionList.OptionHighlighted, "#proposals")
    def proposal_chosen(self, event: OptionList.OptionHighlighted) -> None:
        kind, _, n = event.option.id.partition("-")
        self.show_candidate(int(n)) if kind == "candidate" else self.show_proposal(int(n))

    def show_candidate(self, j: int) -> None:
        c = self.run.candidates[j]
        body = Text()
        if c.get("kind") == "example":
            body.append(f"{clean_line(str(c.get('id')))} · candidate calibration example for {clean_line(str(c.get('criterion')))}"
                        f" · suggested {clean_line(str(c.get('label')))}\n", style="bold")
        else:
            body.append(f"{clean_line(str(c.get('id')))} · candidate scenario: a user message that should break the "
                        "design\n", style="bold")
        body.append(f"from the fictional {clean_line(str(c.get('expert')))} · "
                    + ("UNREVIEWED until a person types it" if c.get("kind") == "example" else
                       "nothing uses it until you take it") + "\n\n", style="dim")
        fields = (("context", "context"), ("response", "response"), ("reasoning", "reasoning")) \
            if c.get("kind") == "example" else (("message", "message"), ("why", "why"), ("topic", "topic"),
                                                ("criterion", "should be caught by"))
        for key, title in fields:
            if c.get(key):
                body.append(f"{title}\n", style="bold")
                body.append(clean(str(c[key])) + "\n\n")
        where = ("into the rubric's examples typed UNREVIEWED (one undoable edit; you save)" if c.get("kind") == "example"
                 else "into eval/scenarios.yaml as a hand-written scenario")
        if c.get("disposition"):
            body.append(f"{c['disposition']}" + (f": {clean_line(str(c.get('taken_into')))}" if c.get("taken_into") else ""),
                        style="bold")
        else:
            body.append(f"a takes it {where} · r drops it", style="bold")
        self.query_one("#diff-body", Static).update(body)

    def show_selected(self) -> None:
        sel = self.selected()
        if sel is not None:
            self.show_candidate(sel[1]) if sel[0] == "candidate" else self.show_proposal(sel[1])

    def show_proposal(self, i: int) -> None:
        p = self.run.proposals[i]
        body = Text()
        edits = len(p.edits)
        body.append(f"{clean_line(str(p.data.get('id')))} · {clean_line(str(p.data.get('severity')))} · "
                    f"{clean_line(str(p.data.get('title')))}" + (f" · {edits} edits, applied together" if edits > 1 else "")
                    + "\n", style="bold")
        if p.flagged:
            body.append(f"⚠ touches {', '.join(p.flagged)}: a change to what rejects or passes a conversation\n",
                        style="bold yellow")
        for m in p.marks:
            body.append(f"⚠ {clean_line(m)}\n", style="bold yellow")
        for f in p.findings:
            body.append(f"⚠ new finding once applied: {clean_line(f)}\n", style="bold yellow")
        body.append(f"experts: {clean_line(', '.join(map(str, p.data.get('experts') or [])))}\n", style="dim")
        if p.disagreement:
            body.append(f"the experts disagree: {clean(p.disagreement)}\n", style="magenta")
        body.append(clean(str(p.data.get("rationale"))) + "\n\n")
        if p.problem:
            body.append(f"cannot be applied as written: {clean_line(p.problem)} (reject or defer it)\n", style="bold red")
        else:
            from ...services.critique.run import apply_proposal

            project = self.app.project
            try:
                changed = apply_proposal(p.data, project, {aid: self.buffer_text(aid) for aid in self.run.texts})
            except Exception as exc:  # an EditFailed says which edit and why
                changed = {}
                body.append(f"no longer applies to the buffers, so accepting it changes nothing: "
                            f"{clean_line(str(exc))}\n", style="bold red")
            for aid, after in changed.items():
                rel = project.files[aid].rel
                if len(changed) > 1:
                    body.append(f"── {clean_line(rel)}\n", style="bold")
                for line in unified(self.buffer_text(aid), after, f"{rel} now", f"{rel} proposed"):
                    style = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else ""
                    body.append(clean_line(line) + "\n", style=style)
        if p.apply_error and p.disposition != "accepted":
            body.append(f"\nnot accepted: {clean_line(p.apply_error)}\n", style="bold red")
        if p.disposition:
            body.append(f"\n{p.disposition}" + (f": {clean_line(p.reason)}" if p.reason else ""), style="bold")
        self.query_one("#diff-body", Static).update(body)

    def set_view(self, view: str) -> None:
        self.view = view
        answers, error = view == "answers", view == "error"
        for wid, show in (("#voices", answers), ("#answer-scroll", answers), ("#proposals", view == "proposals"),
                          ("#diff", view == "proposals"), ("#synthesis-error", error)):
            self.query_one(wid).set_class(not show, "hidden")
        self.refresh_bindings()
        if error:
            self.query_one("#synthesis-error").focus()
        elif not answers:
            lv = self.query_one("#proposals", OptionList)
            lv.focus()
            self.show_selected()
        self.update_strip()

    def action_toggle_view(self) -> None:
        # answers → proposals and candidates (when any) → the no-proposals view (when it applies)
        views = ["answers"] + (["proposals"] if self.items() else []) + (["error"] if self.nothing_came else [])
        if len(views) > 1:
            self.set_view(views[(views.index(self.view) + 1) % len(views)] if self.view in views else views[0])

    # ---- when the synthesis gave nothing
    def show_synthesis_error(self, recorded: str = "") -> None:
        from ...services.critique.prompts import UNIT_FILES

        files = ", ".join(self.app.project.files[a].rel for a in UNIT_FILES[self.unit])
        body = Text()
        body.append(clean_line(self.run.synthesis_error or "the synthesis returned no proposals") + "\n\n", style="bold red")
        body.append("The experts' answers are kept in the log (tab shows them)"
                    + (f", with {len(self.run.candidates)} candidate test cases to take or drop (tab)"
                       if self.run.candidates else "") + ". Three ways on:\n\n")
        for key, what, detail in (
                ("s", "retry the synthesis", "a new critique: the experts' answers come from the response cache "
                                             "(identical requests), only the synthesis is asked again"),
                ("w", "write them yourself", f"back to the editor on {files}"),
                ("v", "mark it reviewed, nothing to change", "with a reason; this closes the critique gate until "
                                                            "the artifact changes")):
            body.append(f"  {key}  ", style="bold reverse")
            body.append(f" {what}", style="bold")
            body.append(f" — {detail}\n\n")
        if recorded:
            body.append(f"recorded: reviewed, nothing to change: {clean_line(recorded)}\n", style="bold green")
        self.query_one("#synthesis-error-body", Static).update(body)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("retry_synthesis", "write_yourself", "mark_reviewed"):
            # shown in the footer only when the synthesis gave nothing, and in its view: on the list
            # of candidates the footer names a (take) and r (drop) instead
            return self.nothing_came and self.view != "proposals"
        if action == "decide":
            return self.view == "proposals"  # the footer names the keys that act here
        if action in ("step", "background"):
            return self.view != "error"  # in the error view: esc closes, and its three keys fit the footer
        return True

    def action_retry_synthesis(self) -> None:
        if self.nothing_came and self.run is not None:
            self.post_message(SynthesisRetryAsked(self))

    def action_write_yourself(self) -> None:
        if self.nothing_came:
            self.dismiss(None)
            self.app.post_message(CritiqueLeftToPerson(self.unit))  # to the app: this screen is leaving

    def action_mark_reviewed(self) -> None:
        if not self.nothing_came or self.run is None or self.run.log_path is None:
            return

        def reason_given(reason: str | None) -> None:
            if reason:
                self.post_message(CritiqueMarkedReviewed(self, reason))

        self.app.push_screen(ReasonScreen(f"Reviewed the {self.unit}, nothing to change: why?"), reason_given)

    def action_decide(self, disposition: str) -> None:
        if self.view != "proposals" or self.run is None:
            return
        sel = self.selected()
        if sel is None:
            return
        if sel[0] == "candidate":
            self.decide_candidate(sel[1], disposition)
            return
        i = sel[1]
        p = self.run.proposals[i]
        if disposition == "accepted":
            if p.problem:
                self.app.notify("this proposal cannot be applied as written: reject or defer it", markup=False)
                return
            self.post_message(ProposalDecided(self, i, "accepted"))
            return

        def reason_given(reason: str | None) -> None:
            if reason:
                self.post_message(ProposalDecided(self, i, disposition, reason))

        self.app.push_screen(ReasonScreen(f"{disposition.capitalize()} {p.data.get('id')}: why?"), reason_given)

    def decide_candidate(self, j: int, disposition: str) -> None:
        if self.run.candidates[j].get("disposition"):
            self.app.notify(f"{self.run.candidates[j].get('id')} is already {self.run.candidates[j]['disposition']}",
                            markup=False)
            return
        if disposition == "deferred":
            self.app.notify("a candidate is taken (a) or dropped (r); leaving it undecided costs nothing", markup=False)
            return
        self.post_message(CandidateDecided(self, j, disposition))

    # ---- the workspace applied a decision: redraw what changed
    def proposal_decided(self, i: int, applied: bool) -> None:
        if applied:
            self.refresh_proposals()
        self.show_proposal(i)  # when nothing was applied, it says plainly why

    def candidate_decided(self, j: int) -> None:
        self.refresh_proposals()
        self.show_candidate(j)
        self.update_strip()

    def marked_reviewed(self, reason: str) -> None:
        self.show_synthesis_error(reason)
        self.set_view("error")

    def action_background(self) -> None:
        """Back to the editor while the experts keep streaming; F6 returns here."""
        if self.app.screen is self:
            self.app.pop_screen()
            self.app.post_message(CritiqueProgressed())  # the status line now counts the answers

    def action_cancel_or_close(self) -> None:
        if self.running:
            self.app.cancel_critique()
            self.update_strip("— cancelled; what arrived is kept in the log")
            self.running = False
            return
        self.dismiss(None)


class PastCritiquesScreen(ModalScreen):
    """The critiques of a unit, newest first. Enter on the latest decides its proposals."""

    DEFAULT_CSS = """
    PastCritiquesScreen { align: center middle; }
    PastCritiquesScreen > Vertical { width: 100; max-width: 98%; height: auto; max-height: 90%; border: thick $primary; background: $surface; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="close-past-critiques")]

    def __init__(self, unit: str, logs: list) -> None:
        super().__init__()
        self.unit = unit
        self.logs = logs

    def compose(self) -> ComposeResult:
        from ...services.critique.log import read_front

        options = []
        for i, path in enumerate(self.logs):
            try:
                front = read_front(path)
            except Exception:  # a log damaged or from another version, in any way: listed with no counts
                front = {}
            props = front.get("proposals") or []
            open_ = sum(1 for p in props if isinstance(p, dict) and p.get("severity") in ("critical", "major")
                        and not p.get("disposition"))
            label = Text()
            label.append(f"{path.stem}  ", style="bold" if i == 0 else "")
            label.append(f"{len(props)} proposals, {open_} critical/major open  ")
            label.append(clean_line(str(front.get("model", ""))), style="dim")
            if i == 0:
                label.append("  (latest)", style="green")
            options.append(Option(label, id=str(i)))
        with Vertical():
            yield Static(Text(f" Critiques of the {self.unit}", style="bold"))
            yield OptionList(*options, id="past")
            yield Footer()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.logs[int(event.option.id)])

    def action_close(self) -> None:
        self.dismiss(None)
