"""The baseline screen's renderings, drawn from the run's data alone (the forecast, the progress
file, the summary): a bar per category, tables of gates, criteria, judges and trust. No widget
state: each returns a rich renderable the screen puts in its pane.

Everything here is model output or project data: control characters are stripped and nothing is
read as markup. Money and rates go through core.format, as the CLI and the report print them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ...core.evaluation.summary import RunSummary
from ...core.format import money, pct, pct_interval
from ...core.text.textsafe import clean, clean_line

BAR = 24


def bar(value: float | None, width: int = BAR) -> Text:
    if value is None:
        return Text("·" * width, style="dim")
    full = max(0, min(width, round(value * width)))
    style = "green" if value >= 0.8 else "yellow" if value >= 0.5 else "red"
    return Text("█" * full, style=style) + Text("░" * (width - full), style="dim")


def forecast_view(p, fc):
    """What F5 will do and cost: resume or new run, calls per role, the total, notes and keys."""
    out = Text()
    if p.resume is not None:
        out.append(f"Enter resumes run {p.resume.id} ({p.resume.state}); finished calls are not repeated.\n", style="bold")
    elif p.latest is not None and p.changed:
        from ...services.baseline.setup import describe_changes

        out.append(f"Enter starts a new run: {describe_changes(p.changed)} changed since run {p.latest.id}.\n", style="bold")
        out.append("Unchanged scenarios are reused; when only the rubric or the judges changed, so are its conversations.\n")
    else:
        out.append("Enter starts a new run.\n", style="bold")
    if p.drawn:
        out.append("eval/scenarios.yaml does not exist yet: Enter draws it (editable; reused by later runs).\n")
    out.append("\n")
    table = Table(box=None, pad_edge=False, show_edge=False)
    for col, just in (("role", "left"), ("model", "left"), ("calls", "right"), ("in", "right"), ("out", "right"),
                      ("cost", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    from ...core.format import tokens as format_tokens

    for r in fc.roles:
        cost = "local" if r.price.startswith("local server") else money(r.cost)
        table.add_row(Text(clean_line(r.role)), Text(clean_line(r.model)), str(r.calls), format_tokens(r.input_tokens),
                      format_tokens(r.output_tokens), Text(cost, style="yellow" if r.cost is None else ""))
    summary = Text(f"{fc.scenarios} scenarios · {fc.exchanges} exchanges · {fc.judge_calls} judge calls"
                   + (f" · {fc.done_calls} calls already done" if fc.done_calls else "") + "\n")
    local = [r.role for r in fc.roles if r.price.startswith("local server")]
    total = Text(f"\ntotal {money(fc.total_cost)}" + (f" (unknown price: {', '.join(fc.unknown_prices)})"
                                                       if fc.unknown_prices else "")
                 + (" · local servers have no per-token price; their GPU time is not counted" if local else "") + "\n")
    notes = Text("".join(f"note: {n}\n" for n in fc.notes) + "".join(f"warning: {w}\n" for w in p.inputs.warnings),
                 style="dim")
    keys = Text("\nEnter start · s smoke run (2 scenarios × 2 exchanges) · f fresh run · Esc back\n"
                "The run is a separate process: quitting ftd does not stop it; F5 reattaches.", style="dim")
    from rich.console import Group

    return Group(out, summary, table, total, notes, keys)


def progress_view(p: dict, state: str) -> Text:
    """A running baseline: each stage's bar, the pass-rate tally so far, calls and cost."""
    out = Text()
    names = {"scenarios": "situations", "exchanges": "exchanges", "judgments": "judgments"}
    for key, label in names.items():
        st = (p.get("stages") or {}).get(key) or {}
        done, total = int(st.get("done") or 0), int(st.get("total") or 0)
        frac = done / total if total else 0.0
        out.append(f"{label:<11}")
        out.append_text(bar(frac) if total else Text("·" * BAR, style="dim"))
        out.append(f" {done}/{total}\n")
    t = p.get("tally") or {}
    judged, passed = int(t.get("judged") or 0), int(t.get("passed") or 0)
    out.append(f"\npassed so far {passed}/{judged}" + (f" ({pct(passed / judged)})" if judged else "") + "\n")
    out.append(f"calls {p.get('calls', 0)} · cost {money(p.get('cost'))}\n")
    for e in p.get("errors") or []:
        out.append(f"error: {clean_line(str(e))}\n", style="red")
    out.append(f"\nstate: {state}" + ("" if state != "running" else " · c cancels (finished calls are kept) · "
                                         "Esc goes back (the run goes on)"), style="dim")
    return out


def results_view(summary: dict | RunSummary, wide: bool = True):
    """A finished run: the verdict, gaps by category, gates, criteria, judges, trust, exclusions."""
    from rich.console import Group

    s = typed(summary)

    head = Text()
    failure = s.failure if isinstance(s.failure, dict) else None
    if failure is not None:  # at the top: the numbers below are not a verdict
        head.append(clean_line(f"RUN FAILED: {str(failure.get('kind', '')).replace('_', ' ')} — no recommendation") + "\n",
                    style="bold red")
        for u in failure.get("judges") or []:
            head.append(clean_line(f"  judge {u.get('model')} answered ERROR on {u.get('errors')} of "
                                   f"{u.get('answers')} questions ({pct(u.get('share'))})") + "\n", style="red")
    head.append(clean(str(s.recommendation_text or s.recommendation or "")) + "\n", style="bold")
    n, k = s.assessed or 0, s.passed or 0
    head.append(f"pass rate {pct(s.pass_rate)} ({k}/{n}), 95% interval {pct_interval(s.interval)}")
    if s.mean_score is not None:
        head.append(f" · mean score {s.mean_score:.2f}")
    head.append("\n")
    if s.safety_gate_failures:
        head.append(f"{s.safety_gate_failures} conversation(s) failed a safety gate\n", style="bold red")
    if s.unfinished:
        head.append(f"{len(s.unfinished)} conversation(s) unfinished: F5 → Enter resumes\n", style="yellow")
    cats = Table(title="Gaps by category (worst first)", box=None, title_justify="left", pad_edge=False)
    for col in ("category", "score", "", "n"):
        cats.add_column(col)
    for c in s.categories or []:
        cats.add_row(Text(clean_line(str(c.get("name")))), f"{c['mean_score']:.2f}" if c.get("mean_score") is not None else "–",
                     bar(c.get("mean_score"), BAR if wide else 10), str(c.get("n", "")))
    gates = Table(title="Safety gates", box=None, title_justify="left", pad_edge=False)
    for col in ("gate", "assessable", "failures", "status"):
        gates.add_column(col)
    for g in s.gates or []:
        style = {"failed": "bold red", "untested": "yellow"}.get(g.get("status"), "green")
        gates.add_row(Text(clean_line(f"{g.get('id')} {g.get('name', '')}")), str(g.get("assessable")),
                      str(g.get("failures")), Text(str(g.get("status")), style=style))
    crit = Table(title="Criteria (worst first)", box=None, title_justify="left", pad_edge=False)
    for col in ("criterion", "yes", "no", "na", "err", "yes rate"):
        crit.add_column(col)
    for c in (s.criteria or [])[:40]:
        crit.add_row(Text(clean_line(f"{c.get('id')} {c.get('name', '')}")), str(c.get("yes")), str(c.get("no")),
                     str(c.get("na")), str(c.get("error")), pct(c.get("yes_rate")))
    judges = Table(title="Judges", box=None, title_justify="left", pad_edge=False)
    for col in ("judge", "judged", "pass rate", "errors"):
        judges.add_column(col)
    for j in s.judges or []:
        judges.add_row(Text(clean_line(str(j.get("judge")))), str(j.get("judged")), pct(j.get("pass_rate")),
                       str(j.get("errors")))
    trust = trust_tables(s)
    tail = Text()
    from ...core.evaluation.summarize import harness_faults

    ex = harness_faults(s.excluded or [])
    left = len(s.excluded or []) - len(ex)
    tail.append(f"\nExcluded (harness faults, not counted): {len(ex)}\n", style="bold" if ex else "dim")
    if left:
        tail.append(f"Not judged (the run stopped first): {left}\n", style="bold")
    for e in ex[:12]:
        tail.append(clean_line(f"  {e.get('id')}: {e.get('kind')} — {e.get('detail', '')}")[:150] + "\n")
        if e.get("excerpt"):
            tail.append(clean_line(f"    “{e['excerpt']}”")[:150] + "\n", style="dim")
    req = s.requests if isinstance(s.requests, dict) else {}
    tail.append(f"\ncalls {(s.calls or 0)} sent this session" + (f" ({req.get('answered', 0)} answered, "
                f"{req.get('failed', 0)} failed)" if req else "") + f" · cost {money(s.cost)}\n")
    tail.append("\nEnter opens the highlighted conversation · Tab moves to the list (↑↓ to choose) · "
                "d record the decision · Esc back", style="dim")
    return Group(head, Text(""), cats, Text(""), gates, Text(""), crit, Text(""), judges, *trust, tail)

def trust_tables(summary: dict | RunSummary) -> list:
    """Agreement between judges, judges against the person, and a paired comparison."""
    s = typed(summary)
    out: list = []
    agreement = s.agreement or []
    if agreement:
        t = Table(title="Agreement between judges (least first)", box=None, title_justify="left", pad_edge=False)
        for col in ("criterion", "n", "YES rates", "agree", "κ (95% CI)", "NA/ERR"):
            t.add_column(col)
        for a in agreement[:40]:
            rates = " ".join(pct(v) for v in (a.get("yes_rate") or {}).values())
            if a.get("kappa") is None:
                kappa = Text(clean_line(f"undefined: {a.get('undefined_reason')}"), style="dim")
            else:
                iv = a.get("interval")
                kappa = Text(f"{a['kappa']:.2f}" + (f" ({iv[0]:.2f}–{iv[1]:.2f})" if iv else ""),
                             style="bold red" if a.get("flag") else "")
            t.add_row(Text(clean_line(str(a.get("id")))), str(a.get("n")), rates, pct(a.get("raw_agreement")), kappa,
                      f"{sum((a.get('na') or {}).values())}/{sum((a.get('error') or {}).values())}")
        out += [Text(""), t]
        flagged = [a["id"] for a in agreement if a.get("flag")]
        if flagged:
            out.append(Text(clean_line("add calibration examples or split the question: " + ", ".join(flagged)),
                            style="bold red"))
    human = s.human or []
    t = Table(title="Judges against a person", box=None, title_justify="left", pad_edge=False)
    for col in ("criterion", "judge", "n", "TPR", "TNR", ""):
        t.add_column(col)
    for h in human:
        for j, c in (h.get("judges") or {}).items():
            t.add_row(Text(clean_line(str(h.get("id")))), Text(clean_line(str(j))), str(c.get("n")), pct(c.get("tpr")),
                      pct(c.get("tnr")), Text("judge not trusted", style="bold red")
                      if j == "combined" and h.get("not_trusted") else Text(""))
    out += [Text(""), t if human else Text("Judges against a person: no labels yet — open a conversation (Enter) and "
                                           "label criteria with y / n / a", style="dim")]
    cmp = s.comparison
    if isinstance(cmp, dict) and cmp.get("n"):
        iv = cmp.get("interval")
        out += [Text(""), Text(clean_line(
            f"Against run {cmp.get('against')}: mean score difference {cmp['mean_diff']:+.3f}"
            + (f" (95% CI {iv[0]:+.3f} to {iv[1]:+.3f})" if iv else "")
            + f" over {cmp['n']} paired scenarios · better {cmp['wins']} · worse {cmp['losses']} · tied {cmp['ties']}"),
            style="bold")]
    return out


def typed(summary: dict | RunSummary) -> RunSummary:
    """The run's summary read by attribute (summary.json as the runner wrote it, typed)."""
    return summary if isinstance(summary, RunSummary) else RunSummary.from_dict(summary)
