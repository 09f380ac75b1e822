"""One conversation of a baseline run, and the person reviewing it: per criterion each judge's
answer and reasoning, the person's own YES / NO / NA on single keys (saved in the run folder),
and the labels sent to the rubric as candidate calibration examples.

Everything shown is model output or project data: cleaned, never read as markup."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ...core.evaluation import runs
from ...core.text.textsafe import clean, clean_line
from ..messages import LabelsExported
from ..modals.decision import login_name


def failing_marks(recs: list[dict]) -> dict[int, list[str]]:
    """Exchange number -> marks such as "✗ PD1 (judge-a, judge-b)": for each criterion, the judges
    that said NO and named that exchange as the first failing one (judgments.jsonl `exchanges`)."""
    named: dict[int, dict[str, list[str]]] = {}
    # a computed criterion sits in every judge's record, but no judge answered it: say "computed"
    computed = {str(c) for r in recs if r.get("judge") == "combined" for c in r.get("computed") or []}
    for r in recs:
        if r.get("judge") == "combined" or not isinstance(r.get("exchanges"), dict):
            continue
        short = str(r.get("judge")).rsplit("/", 1)[-1]
        for cid, n in r["exchanges"].items():
            if isinstance(n, int) and not isinstance(n, bool) and (r.get("answers") or {}).get(cid) == "NO":
                who = named.setdefault(n, {}).setdefault(str(cid), [])
                mark = "computed" if str(cid) in computed else short
                if mark not in who:
                    who.append(mark)
    return {n: [f"✗ {cid} ({', '.join(js)})" for cid, js in sorted(by.items())] for n, by in named.items()}


class TranscriptScreen(Screen[None]):
    """One conversation, and the reviewer: per criterion each judge's answer and reasoning, and
    the person's own YES / NO / NA on single keys, saved in the run folder with who and when.
    Model output: cleaned, never markup."""

    DEFAULT_CSS = """
    TranscriptScreen #review-title { height: 1; background: $boost; padding: 0 1; }
    TranscriptScreen #review-body { height: 1fr; }
    TranscriptScreen #conversation { width: 1fr; border: round $primary-muted; padding: 0 1; }
    TranscriptScreen #review-side { width: 56; }
    TranscriptScreen.narrow #review-side { width: 40; }
    TranscriptScreen #criteria { height: 1fr; border: round $primary-muted; }
    TranscriptScreen #criterion-detail { height: 1fr; border: round $primary-muted; padding: 0 1; }
    TranscriptScreen #conversation:focus, TranscriptScreen #criteria:focus { border: round $primary; }
    """
    BINDINGS = [
        Binding("y", "label('YES')", "Label YES", id="review-yes"),
        Binding("n", "label('NO')", "Label NO", id="review-no"),
        Binding("a", "label('NA')", "Label NA", id="review-na"),
        Binding("u,backspace", "label('CLEAR')", "Clear label", id="review-clear"),
        Binding("x", "export", "Export as examples", id="review-export"),
        Binding("tab", "switch_focus", "Conversation / criteria", id="review-switch", show=False, priority=True),
        Binding("escape,q", "close", "Close", id="transcript-close"),
    ]

    def __init__(self, run_dir: Path, conv_id: str) -> None:
        super().__init__()
        self.run_dir, self.conv_id = run_dir, conv_id
        self.changed = False
        self.reviewer = login_name() or "reviewer"

    def compose(self) -> ComposeResult:
        yield Static(Text(clean_line(f"Conversation {self.conv_id} · label each criterion: y YES · n NO · a NA · "
                                     f"u clear · x export · reviewer {self.reviewer}")), id="review-title")
        with Horizontal(id="review-body"):
            with VerticalScroll(id="conversation"):
                yield Static(self._render_text(), id="conversation-text")
            with Vertical(id="review-side"):
                yield OptionList(id="criteria")
                with VerticalScroll(id="criterion-detail"):
                    yield Static(Text(""), id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(self.app.size.width < 120, "narrow")
        self._fill()
        self.query_one("#criteria", OptionList).focus()

    # ---------------------------------------------------------------- data
    def _records(self) -> list[dict]:
        return [r for r in runs.read_jsonl(self.run_dir / runs.JUDGMENTS) if r.get("id") == self.conv_id]

    def _labels(self) -> dict[str, str]:
        from ...core.evaluation.run_analysis import human_labels

        return {cid: r["label"] for (conv, cid), r in human_labels(self.run_dir).items() if conv == self.conv_id}

    def _fill(self, keep: int | None = None) -> None:
        recs = self._records()
        combined = next((r for r in recs if r.get("judge") == "combined"), None)
        judges = [r for r in recs if r.get("judge") != "combined"]
        labels = self._labels()
        ol = self.query_one("#criteria", OptionList)
        ol.clear_options()
        self._order = list((combined or {}).get("answers") or {})
        failed = set((combined or {}).get("failed_checks") or [])
        # failed checks first: that is where a person's eye is worth most
        self._order.sort(key=lambda cid: (cid not in failed, cid))
        for cid in self._order:
            answer = str((combined or {}).get("answers", {}).get(cid))
            computed = cid in ((combined or {}).get("computed") or [])
            per = "computed" if computed else " ".join(str((j.get("answers") or {}).get(cid, "–"))[:3] for j in judges)
            mine = labels.get(cid)
            mark, style = ("✗", "red") if cid in failed else ("✓", "green")
            text = Text(f"{mark} ", style=style) + Text(clean_line(f"{cid:<9} {answer:<5} judges {per}"))
            at = ((combined or {}).get("exchanges") or {}).get(cid)
            if isinstance(at, int) and not isinstance(at, bool):  # where it first failed, as a judge cited it
                text.append(f" · ex {at}", style="red")
            text.append(f"  you: {mine}" if mine else "  you: –", style="bold cyan" if mine else "dim")
            ol.add_option(Option(text, id=f"crit-{cid}"))
        if self._order:
            ol.highlighted = min(keep if keep is not None else 0, len(self._order) - 1)
            self._show(self._order[ol.highlighted])

    @on(OptionList.OptionHighlighted, "#criteria")
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(str(event.option.id or "")[5:])

    def _show(self, cid: str) -> None:
        out = Text()
        criterion = self._criterion(cid)
        out.append(clean_line(f"{cid}: {criterion.get('name', '')}") + "\n", style="bold")
        if criterion.get("question"):
            out.append(clean(str(criterion["question"])) + "\n\n")
        recs = self._records()
        combined = next((r for r in recs if r.get("judge") == "combined"), {})
        if cid in (combined.get("computed") or []):  # ftd's own answer: one evidence, no judges
            out.append(clean_line(f"computed by ftd: {(combined.get('answers') or {}).get(cid)}") + "\n", style="bold")
            out.append(clean(str((combined.get("reasonings") or {}).get(cid) or ""))[:2000] + "\n", style="dim")
            recs = []
        for r in recs:
            answer = (r.get("answers") or {}).get(cid)
            at = (r.get("exchanges") or {}).get(cid) if isinstance(r.get("exchanges"), dict) else None
            out.append(clean_line(f"{r.get('judge')}: {answer}" + (f" (first failed at exchange {at})" if at else "")) + "\n",
                       style="bold" if r.get("judge") == "combined" else "")
            reason = (r.get("reasonings") or {}).get(cid)
            if reason and r.get("judge") != "combined":
                out.append(clean(str(reason))[:1200] + "\n", style="dim")
        mine = self._labels().get(cid)
        out.append(f"\nyour label: {mine or 'none yet'}", style="bold cyan" if mine else "dim")
        self.query_one("#detail", Static).update(out)

    def _criterion(self, cid: str) -> dict:
        try:
            data = self.app.project.files["rubric"].ensure_parsed().data
            c = (data or {}).get("criteria", {}).get(cid)
            return c if isinstance(c, dict) else {}
        except Exception:  # a rubric mid-edit can be any shape (criteria a list, a string…): show no criterion text
            return {}

    # ---------------------------------------------------------------- actions
    def action_label(self, label: str) -> None:
        from ...core.evaluation.run_analysis import record_label

        ol = self.query_one("#criteria", OptionList)
        if ol.highlighted is None or not self._order:
            return
        cid = self._order[ol.highlighted]
        try:
            record_label(self.run_dir, self.conv_id, cid, label, self.reviewer)
        except OSError as exc:
            self.app.notify(f"label not saved: {clean_line(str(exc))}", severity="error", markup=False)
            return
        self.changed = True
        step = 0 if label == "CLEAR" else 1
        self._fill(keep=min(ol.highlighted + step, len(self._order) - 1))

    def action_export(self) -> None:
        # the workspace owns the rubric's buffer: it adds the examples there (you save)
        self.post_message(LabelsExported(self.run_dir, self.conv_id, self._labels()))

    def action_switch_focus(self) -> None:
        ol = self.query_one("#criteria", OptionList)
        (self.query_one("#conversation") if ol.has_focus else ol).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def _render_text(self) -> Text:
        t = runs.read_json(self.run_dir / runs.TRANSCRIPTS / f"{self.conv_id}.json") or {}
        recs = self._records()
        out = Text()
        scen = t.get("scenario") or {}
        out.append(clean_line(f"Conversation {self.conv_id}") + "\n", style="bold")
        cell = ", ".join(f"{k}: {v}" for k, v in (scen.get("cell") or {}).items())
        out.append(clean(f"{cell}" + (f" · built to test {scen.get('gate')}" if scen.get("gate") else "")) + "\n", style="dim")
        if scen.get("situation"):
            out.append(clean(str(scen["situation"])) + "\n", style="italic")
        if t.get("fault"):
            f = t["fault"]
            out.append(clean_line(f"excluded: {f.get('kind')} at exchange {f.get('exchange')}: {f.get('detail', '')}") + "\n",
                       style="yellow")
            if f.get("excerpt"):  # the exact text that excluded it, so a person can overrule the check
                out.append(clean_line(f"  the text: “{f['excerpt']}”")[:400] + "\n", style="yellow")
        combined = next((r for r in recs if r.get("judge") == "combined"), None)
        if combined is not None:
            verdict = "PASS" if combined.get("pass") else "FAIL"
            out.append(f"\n{verdict} · score {combined.get('score', 0):.2f} (threshold {combined.get('threshold')})"
                       + (" · a safety gate failed" if combined.get("safety_gate_failed") else "") + "\n",
                       style="bold green" if combined.get("pass") else "bold red")
            if combined.get("failed_checks"):
                out.append(clean_line("failed checks: " + ", ".join(map(str, combined["failed_checks"]))) + "\n", style="red")
            out.append(_floor_lines(combined), style="red")
        marks = failing_marks(recs)
        for i, ex in enumerate(t.get("exchanges") or [], 1):
            out.append(f"\n[{i}] user", style="bold cyan")
            if ex.get("user_flaws"):
                out.append(clean_line(f"  (flaws: {', '.join(map(str, ex['user_flaws']))})"), style="dim")
            out.append("\n" + clean(str(ex.get("user", ""))) + "\n")
            out.append(f"[{i}] assistant", style="bold magenta")
            if marks.get(i):  # the reply a judge named as the first to fail a criterion
                out.append(clean_line("  " + " · ".join(marks[i])), style="bold red")
            out.append("\n" + clean(str(ex.get("assistant", ""))) + "\n")
        return out


def _floor_lines(rec: dict) -> str:
    """Why a category floor failed the conversation: "below the floor of pedagogy: 0.50 < 0.67"."""
    from ...core.evaluation.scoring import floor_text

    scores, floors = rec.get("category_scores") or {}, rec.get("floors") or {}
    lines = [floor_text(str(n), float(scores.get(n) or 0.0), float(floors.get(n) or 0.0))
             for n in rec.get("floor_failures") or [] if n in floors]
    return "".join(clean_line(line) + "\n" for line in lines)
