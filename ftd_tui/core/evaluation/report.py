"""A baseline run folder → summary numbers → the report's generated sections; the person's
go / no-go decision written into the report's front matter.

The report, base-model-eval-results.md, is shared by the tool and a person: the tool owns the
front-matter keys ``run``, ``pass_rate``, ``interval``, ``recommendation`` and the text between
the generated-section markers; everything else (the ``decision`` block, comments, the notes) is
the person's and survives every rerun byte for byte. Front-matter edits go through
YamlDocument's exact span edits, never a re-dump.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from ..artifacts.rubric import Rubric
from .scoring import (floor_text, gate_assessable, gate_fails, is_asked, normalise_answer, outcome, score_answers,
                      scored_members)
from ..format import pct, pct_interval
from .stats import recommend
from ..text.textsafe import clean_line, visible
from .textstats import stat_kinds
from ..text.yamldoc import EditError, YamlDocument, render_flow, render_scalar, same_value

START = "<!-- ftd:generated:start -->"
END = "<!-- ftd:generated:end -->"
DECISIONS = ("proceed", "prompt-engineer-first", "stop")
INVALID_SIM_SHARE = 0.20
TOOL_KEYS = ("run", "pass_rate", "interval", "recommendation")

_MARKERS = re.compile(r"^" + re.escape(START) + r"[ \t]*\r?\n.*?^" + re.escape(END) + r"[ \t]*(?:\r?\n)?", re.M | re.S)


# --------------------------------------------------------------------------- summary


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _grouped(rows: list[tuple[str, bool]]) -> list[dict]:
    groups: dict[str, list[bool]] = {}
    for value, passed in rows:
        groups.setdefault(value, []).append(passed)
    out = [{"value": v, "n": len(ps), "passed": sum(ps), "pass_rate": _rate(sum(ps), len(ps))} for v, ps in groups.items()]
    return sorted(out, key=lambda g: (g["pass_rate"], g["value"]))


def summarize(rubric: Rubric, manifest: dict, scenarios: list[dict], transcripts: list[dict], judgments: list[dict],
              usage: dict) -> dict:
    """The report's numbers, JSON-serialisable.

    ``conversations`` counts the transcripts the run held (judged or excluded): the simulator-
    fault share that invalidates a run is taken over all of them. Only the combined record of a
    conversation that was not excluded counts toward the pass rate; its ``pass``, ``score`` and
    ``assessable_weight`` are the run's verdicts, while per-criterion, per-gate and per-category
    breakdowns are re-derived from its answers with the same scoring code.
    """
    scen_by_id = {s.get("id"): s for s in scenarios if isinstance(s, dict)}
    trans_by_id = {t.get("id"): t for t in transcripts if isinstance(t, dict)}

    latest: dict[tuple[str, str], dict] = {}
    for r in judgments:
        if isinstance(r, dict) and isinstance(r.get("id"), str) and isinstance(r.get("judge"), str):
            latest[(r["id"], r["judge"])] = r  # a rejudged conversation: the last record wins
    combined = {cid: r for (cid, judge), r in latest.items() if judge == "combined"}

    excluded: list[dict] = []
    cut_replies: list[str] = []
    truncations: list[str] = []
    sim_faults = 0
    for t in trans_by_id.values():
        tid, fault, status = t.get("id"), t.get("fault"), t.get("status")
        if isinstance(fault, dict) and fault:
            kind = str(fault.get("kind") or "unknown")
            detail = str(fault.get("detail") or "")
            if fault.get("exchange") is not None:
                detail = f"exchange {fault['exchange']}" + (f": {detail}" if detail else "")
            entry = {"id": tid, "kind": kind, "detail": detail}
            if isinstance(fault.get("excerpt"), str) and fault["excerpt"]:  # the exact text that excluded it
                entry.update(excerpt=fault["excerpt"], exchange=fault.get("exchange"),
                             decided_by=fault.get("decided_by") or "fault check")
            excluded.append(entry)
            if kind == "reply_cut":
                cut_replies.append(tid)
            elif kind == "input_truncated":
                truncations.append(tid)
            if kind.startswith("sim_"):
                sim_faults += 1
        elif status == "excluded":
            excluded.append({"id": tid, "kind": "excluded", "detail": "excluded without a recorded fault"})
        elif status != "complete":
            excluded.append({"id": tid, "kind": "incomplete", "detail": f"conversation {status or 'not finished'}"})
        elif tid not in combined:
            excluded.append({"id": tid, "kind": "not_judged", "detail": "no combined judgment"})
    excluded_ids = {e["id"] for e in excluded}
    n_conversations = len(trans_by_id)
    sim_share = sim_faults / n_conversations if n_conversations else 0.0
    invalid = sim_share > INVALID_SIM_SHARE

    assessed = [(cid, r) for cid, r in combined.items() if cid not in excluded_ids]
    gates = [g for g in rubric.safety_gates if g in rubric.criteria]
    gate_stats = {g: {"assessable": 0, "failures": 0} for g in gates}
    crit_stats = {c: {"YES": 0, "NO": 0, "NA": 0, "ERROR": 0, "yes": 0, "no": 0} for c in rubric.criteria}
    crit_fails: dict[str, list[dict]] = {c: [] for c in rubric.criteria}  # where each failed: conversation, exchange
    cat_values: dict[str, list[float]] = {}
    passes, scores, weights, safety_list = [], [], [], []
    floor_list: list[dict] = []
    topic_rows: list[tuple[str, bool]] = []
    difficulty_rows: list[tuple[str, bool]] = []
    for cid, rec in assessed:
        answers = rec.get("answers") if isinstance(rec.get("answers"), dict) else {}
        t = trans_by_id.get(cid) or {}
        turns = rec.get("turns")
        if not isinstance(turns, int):
            turns = len(t.get("exchanges") or [])
        scored = score_answers(rubric, answers, turns)
        passed = rec["pass"] if isinstance(rec.get("pass"), bool) else scored.passed
        passes.append(passed)
        scores.append(rec["score"] if _num(rec.get("score")) else scored.score)
        weights.append(rec["assessable_weight"] if _num(rec.get("assessable_weight")) else scored.assessable_weight)
        safety = rec["safety_gate_failed"] if isinstance(rec.get("safety_gate_failed"), bool) else scored.safety_gate_failed
        if scored.floor_failures:  # failed whatever the total: said why, per conversation
            floor_list.append({"id": cid, "score": scored.score, "reasons": [
                floor_text(name, scored.category_scores[name] or 0.0, scored.floors[name]) for name in scored.floor_failures]})
        if safety:
            safety_list.append(f"{cid} ({', '.join(scored.gate_failures)})" if scored.gate_failures else str(cid))
        for g in gates:
            if is_asked(rubric, g, answers, turns):
                gate_stats[g]["assessable"] += gate_assessable(rubric, g, answers[g])
                gate_stats[g]["failures"] += gate_fails(rubric, g, answers[g])
        for c in rubric.criteria:
            if not is_asked(rubric, c, answers, turns):
                continue
            a = normalise_answer(answers[c])
            crit_stats[c][a] += 1
            if c in gates:
                o = "no" if gate_fails(rubric, c, a) else ("yes" if a == "YES" else None)
            else:
                o = outcome(rubric, c, a)
            if o:
                crit_stats[c][o] += 1
            if o == "no":
                crit_fails[c].append({"id": cid, "answer": a, "exchange": _first_failing(rec, c, turns)})
        for name, value in scored.category_scores.items():
            if value is not None and name not in scored.empty_categories:
                cat_values.setdefault(name, []).append(value)
        scen = t.get("scenario") if isinstance(t.get("scenario"), dict) else scen_by_id.get(cid) or {}
        cell = scen.get("cell") if isinstance(scen.get("cell"), dict) else {}
        if cell.get("topic") is not None:
            topic_rows.append((str(cell["topic"]), passed))
        if cell.get("difficulty") is not None:
            difficulty_rows.append((str(cell["difficulty"]), passed))

    n, k = len(passes), sum(passes)
    gate_rows = []
    for g in gates:
        s = gate_stats[g]
        status = "failed" if s["failures"] else ("passed" if s["assessable"] else "untested")
        gate_rows.append({"id": g, "name": rubric.criteria[g].name, **s, "status": status})
    untested = [f"{r['id']} ({r['name']})" for r in gate_rows if r["status"] == "untested"]
    rec = recommend(k, n, safety_list, untested, invalid)

    categories = []
    for name, cat in rubric.categories.items():
        if not scored_members(rubric, name):
            continue
        vals = cat_values.get(name, [])
        mean = _mean(vals)
        categories.append({"name": name, "weight": cat.weight, "mean_score": mean, "n": len(vals),
                           "gap": None if mean is None else 1 - mean})
    categories.sort(key=lambda c: (c["gap"] is None, -(c["gap"] or 0)))

    order = {c: i for i, c in enumerate(rubric.criteria)}
    criteria = []
    for c, crit in rubric.criteria.items():
        s = crit_stats[c]
        asked = s["YES"] + s["NO"] + s["NA"] + s["ERROR"]
        criteria.append({"id": c, "name": crit.name, "category": crit.category or _category_of(rubric, c),
                         "gate": c in gates, "computed": crit.check is not None,
                         # what the judges were given besides the conversation: said per criterion
                         "stats": [] if crit.check is not None else list(stat_kinds(crit.model_dump())), "yes": s["YES"], "no": s["NO"], "na": s["NA"], "error": s["ERROR"],
                         "asked": asked, "yes_rate": _rate(s["yes"], s["yes"] + s["no"]), "failures": crit_fails[c]})
    criteria.sort(key=lambda c: (c["yes_rate"] is None, c["yes_rate"] or 0, order[c["id"]]))

    judges: dict[str, dict] = {}
    for (cid, judge), r in latest.items():
        if judge == "combined" or cid in excluded_ids:
            continue
        j = judges.setdefault(judge, {"judge": judge, "judged": 0, "passed": 0, "pass_rate": None, "errors": 0})
        j["judged"] += 1
        j["passed"] += bool(r.get("pass"))
        j["errors"] += r.get("error_count") if isinstance(r.get("error_count"), int) else 0
    for j in judges.values():
        j["pass_rate"] = _rate(j["passed"], j["judged"])

    usage = usage if isinstance(usage, dict) else {}
    costs = [u.get("cost") if isinstance(u, dict) else None for u in usage.values()]
    cost = (sum(costs) if all(_num(c) for c in costs) else None) if costs else 0.0  # no call made: nothing spent
    settings = dict(manifest.get("settings") or {})
    settings["models"] = manifest.get("models") or {}
    if manifest.get("base_serving"):
        settings["base_serving"] = manifest["base_serving"]

    interval = rec["interval"]
    return {
        "run": manifest.get("id"),
        "inputs_hash": manifest.get("inputs_hash"),
        "scenarios": len(scenarios),
        "conversations": n_conversations,
        "excluded": excluded,
        "assessed": n,
        "passed": k,
        "pass_rate": _rate(k, n),
        "interval": list(interval) if interval else None,
        "mean_score": _mean(scores),
        "recommendation": rec["recommendation"],
        "recommendation_text": rec["text"],
        "needed_n": rec["needed_n"],
        "inconclusive": rec["inconclusive"],
        "invalid": invalid,
        "simulator_fault_share": sim_share,
        "safety_gate_failures": len(safety_list),
        "floors": {n: c.min_score for n, c in rubric.categories.items() if c.min_score is not None},
        "floor_failures": floor_list,
        "gates": gate_rows,
        "categories": categories,
        "criteria": criteria,
        "by_topic": _grouped(topic_rows),
        "by_difficulty": _grouped(difficulty_rows),
        "judges": list(judges.values()),
        "assessable_weight": {"mean": _mean(weights), "min": min(weights) if weights else None},
        "cut_replies": cut_replies,
        "truncations": truncations,
        "usage": usage,
        "cost": cost,
        "settings": settings,
    }


MAX_JUDGE_ERRORS = 0.20  # eval.max_judge_errors: the share of one judge's answers that may be ERROR


UNFINISHED_KINDS = ("incomplete", "not_judged")  # left for a resume: not harness faults


def harness_faults(excluded: list[dict]) -> list[dict]:
    """The excluded conversations a harness fault took out (a cut reply, a simulator refusal, …),
    not those a stopped or failed run simply left unfinished: the two must never share a label."""
    return [e for e in excluded or [] if e.get("kind") not in UNFINISHED_KINDS]


def unusable_judges(answers: list[dict], models: list[str], limit: float = MAX_JUDGE_ERRORS) -> list[dict]:
    """The judges whose share of ERROR answers (unreadable after the re-ask) is over ``limit``:
    [{judge, model, errors, answers, share}]. ERROR scores as a failed check, so a judge that
    mostly cannot answer turns into a confident-looking 0% instead of a result."""
    counts: dict[int, list[int]] = {}
    for a in answers:
        j = a.get("judge")
        if not isinstance(j, int):
            continue
        c = counts.setdefault(j, [0, 0])
        c[1] += 1
        c[0] += a.get("answer") == "ERROR"
    out = []
    for j, (errors, total) in sorted(counts.items()):
        if total and errors / total > limit:
            out.append({"judge": j, "model": models[j] if j < len(models) else f"judge {j}", "errors": errors,
                        "answers": total, "share": errors / total})
    return out


def fail_for_judges(summary: dict, unusable: list[dict], limit: float) -> dict:
    """Mark a summary "failed: judges unusable": no recommendation and no pass rate (both would be
    read as a verdict); the tables stay, as the evidence of what went wrong."""
    who = "; ".join(f"judge {u['model']} answered ERROR on {u['errors']} of {u['answers']} questions "
                    f"({pct(u['share'])})" for u in unusable)
    text = (f"none: the run failed, judges unusable — {who}, over the {pct(limit)} allowed (eval.max_judge_errors). "
            "An ERROR counts as a failed check, so this pass rate would measure the judges, not the base model. "
            "Fix the judges (`ftd doctor`, `ftd calibrate`) and run again; their good answers are kept.")
    summary.update({"state": "failed", "failure": {"kind": "judges_unusable", "judges": unusable, "limit": limit,
                                                   "text": text},
                    "recommendation": None, "recommendation_text": text, "pass_rate": None, "interval": None,
                    "mean_score": None, "inconclusive": False, "needed_n": None})
    return summary


def _first_failing(rec: dict, criterion: str, turns: int) -> int | None:
    """The combined record's first failing exchange for a criterion (judgments.jsonl `exchanges`),
    kept only when it is one of the conversation's exchanges: the file is data."""
    ex = rec.get("exchanges") if isinstance(rec.get("exchanges"), dict) else {}
    n = ex.get(criterion)
    return n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= max(turns, 0) else None


FAILURES_SHOWN = 8  # conversations listed per failing criterion in the report


def _failure_lines(criteria: list[dict]) -> list[str]:
    """Where each failing criterion first failed, per conversation, as the judges that said NO cited it."""
    out = []
    for c in criteria:
        fails = c.get("failures") or []
        if not fails:
            continue
        where = [f"{_cell(f['id'])} first failed at exchange {f['exchange']}" if f.get("exchange") is not None
                 else f"{_cell(f['id'])} (no exchange named)" if f.get("answer") == "NO"
                 else f"{_cell(f['id'])} (answered {_cell(f.get('answer'))})" for f in fails[:FAILURES_SHOWN]]
        more = f"; and {len(fails) - FAILURES_SHOWN} more" if len(fails) > FAILURES_SHOWN else ""
        out.append(f"- {_cell(c['id'])} ({_cell(c['name'])}): " + "; ".join(where) + more)
    if out:
        out = ["Where the failing criteria failed (the earliest exchange cited by a judge that said NO):", ""] + out + [""]
    return out


def _category_of(rubric: Rubric, cid: str) -> str | None:
    for name, cat in rubric.categories.items():
        if cid in cat.criteria:
            return name
    return None


# --------------------------------------------------------------------------- rendering


def _cell(value: Any, limit: int = 120) -> str:
    text = clean_line("" if value is None else str(value)).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _score(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _kappa(a: dict) -> str:
    if a.get("computed"):
        return "computed"
    if a.get("kappa") is None:
        return f"undefined: {a.get('undefined_reason') or 'not enough data'}"
    iv = a.get("interval")
    kind = "Fleiss" if a.get("kappa_kind") == "fleiss" else "Cohen"
    return f"{kind} {a['kappa']:.2f}" + (f" ({iv[0]:.2f} to {iv[1]:.2f})" if iv else " (no interval at this n)")


def _signed(x: float | None) -> str:
    return "–" if x is None else f"{x:+.3f}"


def _trust_sections(s: dict) -> list[str]:
    """Can the judges be trusted? Agreement, flip rates, a person's labels, paired comparison."""
    L: list[str] = []
    agreement = s.get("agreement") or []
    if agreement:
        L += ["## Agreement between judges", ""]
        judges = sorted({j for a in agreement if not a.get("computed") for j in (a.get("yes_rate") or {})})
        rows = []
        for a in agreement:
            yes = ", ".join(f"{pct((a.get('yes_rate') or {}).get(j))}" for j in judges) if not a.get("computed") \
                else f"computed: {pct((a.get('yes_rate') or {}).get('computed'))}"
            na = sum((a.get("na") or {}).values())
            err = sum((a.get("error") or {}).values())
            rows.append([a["id"], a["n"], yes, pct(a.get("raw_agreement")), _kappa(a), na, err,
                         a.get("advice") or ""])
        L += _table(["criterion", "n", "YES rate per judge", "raw agreement", "κ (95% bootstrap)", "NA", "ERROR", "flag"],
                    rows, {1, 5, 6})
        L += ["", "n counts the conversations where every judge answered YES or NO; NA and ERROR are counted beside, "
              "not inside. YES rates are in the order: " + (", ".join(_cell(j) for j in judges) or "–")
              + ". A criterion is flagged only when n ≥ 10 and the interval's upper bound is below 0.6."
              + (" \"computed\": answered by ftd from the transcript (the rubric's check:), the same for every judge, "
                 "so there is no agreement to measure." if any(a.get("computed") for a in agreement) else ""), ""]
    reps = s.get("judge_repeats")
    if reps:
        L += ["## Judge repeats", ""]
        L += _table(["judge", "questions re-asked", "flipped", "flip rate"],
                    [[j, r.get("n"), r.get("flipped"), pct(r.get("rate"))] for j, r in (reps.get("judges") or {}).items()],
                    {1, 2, 3})
        L += ["", f"Each sampled question asked {reps.get('k')} times in all, uncached.", ""]
    human = s.get("human") or []
    L += ["## Judges against a person", ""]
    if not human:
        L += ["No human labels yet: in the app, open a conversation from the results (Enter) and label criteria with "
              "y / n / a. Until then the judges are untested against a person.", ""]
    else:
        rows = []
        for h in human:
            for j, c in (h.get("judges") or {}).items():
                rows.append([h["id"], j, c.get("n"), pct(c.get("tpr")), pct(c.get("tnr")), pct(c.get("na_accuracy")),
                             "judge not trusted" if j == "combined" and h.get("not_trusted") else ""])
        L += _table(["criterion", "judge", "n", "TPR", "TNR", "NA accuracy", ""], rows, {2, 3, 4, 5})
        L += ["", f"{s.get('human_labels', 0)} labels by {', '.join(_cell(r) for r in s.get('reviewers') or []) or '–'}. "
              "TPR: of the conversations the person answered YES, the share the judge answered YES; TNR likewise for NO. "
              "\"judge not trusted\": the combined verdict disagrees with the person on two or more conversations.", ""]
    cmp = s.get("comparison")
    if cmp:
        L += ["## Paired comparison", "",
              f"Against run {_cell(cmp.get('against'))}, on the same scenarios and seeds: mean score difference "
              f"{_signed(cmp.get('mean_diff'))} (this run minus that one"
              + (f", 95% bootstrap interval {_signed(cmp['interval'][0])} to {_signed(cmp['interval'][1])}"
                 if cmp.get("interval") else ", no interval at this n")
              + f") over {cmp.get('n')} paired scenarios: {cmp.get('wins')} better, {cmp.get('losses')} worse, "
              f"{cmp.get('ties')} tied. Passed: {cmp['passed']['this']} here, {cmp['passed']['against']} there.", ""]
        cats = cmp.get("categories") or {}
        if cats:
            L += _table(["category", "n", "mean difference", "95% interval", "better", "worse", "tied"],
                        [[c, d.get("n"), _signed(d.get("mean_diff")),
                          f"{_signed(d['interval'][0])} to {_signed(d['interval'][1])}" if d.get("interval") else "–",
                          d.get("wins"), d.get("losses"), d.get("ties")] for c, d in cats.items()],
                        {1, 2, 4, 5, 6})
            L.append("")
    return L


def _quoted_block(text: str) -> list[str]:
    """Text shown exactly, as a fenced block inside a list item: every line is indented, so no
    line of it can pass for the report's own markers, and the fence outgrows any backtick run."""
    body = visible(text)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return ["", f"  {fence}text"] + [f"  {line}" for line in body.split("\n")] + [f"  {fence}", ""]


def _fault_texts(excluded: list[dict]) -> list[str]:
    """Every conversation a simulator fault excluded, with the exact text that excluded it."""
    rows = [e for e in excluded or [] if e.get("excerpt")]
    if not rows:
        return []
    L = ["", "What excluded each conversation (the exact text of the simulated user's message):", ""]
    for e in rows:
        by = " (the critic's second opinion)" if e.get("decided_by") == "second_opinion" else ""
        L.append(f"- **{_cell(e.get('id'))}**: {_cell(e.get('kind'))} at exchange {_cell(e.get('exchange'))}{by}")
        L += _quoted_block(str(e["excerpt"]))
    return L


def _fault_check_lines(fc: Any) -> list[str]:
    """How simulator messages were screened, stated whatever happened."""
    if not isinstance(fc, dict):
        return []
    kept = fc.get("flagged_kept") if isinstance(fc.get("flagged_kept"), list) else []
    if fc.get("second_opinion_on") == "every":
        L = [f"- Second opinion on every simulator message (eval.fault_second_opinion: every): the critic was asked "
             f"about {fc.get('asked', 0)} and excluded {fc.get('excluded_by_opinion', 0)}"]
    elif fc.get("second_opinion"):
        L = [f"- Second opinion on unsure simulator messages (eval.fault_second_opinion): on; the critic was asked "
             f"about {fc.get('asked', 0)} and excluded {fc.get('excluded_by_opinion', 0)}"]
    else:
        L = ["- Second opinion on unsure simulator messages (eval.fault_second_opinion): off; unsure messages are kept"]
    L.append(f"- Flagged but kept: {len(kept) or 'none'}")
    for f in kept[:50]:
        if isinstance(f, dict):
            L.append(f"  - {_cell(f.get('conv'))} exchange {_cell(f.get('exchange'))}, {_cell(f.get('kind'))}: "
                     f"{_cell(f.get('excerpt'), 200)}")
    if len(kept) > 50:
        L.append(f"  - … and {len(kept) - 50} more (summary.json lists them all)")
    return L


def _table(head: list[str], rows: list[list[Any]], right: set[int] = frozenset()) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i in right else "---" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out


def _money(cost: float | None) -> str:
    if cost is None:
        return "unknown"
    if cost == 0:
        return "$0"
    return f"${cost:.2f}" if cost >= 0.01 else f"${cost:.4f}"


def _tokens(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else "unknown"


def _setting(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def render_sections(summary: dict) -> str:
    """The generated part of the report, markers included."""
    s = summary
    n = s["assessed"]
    L: list[str] = [START, f"<!-- Written by ftd from run {_cell(s.get('run'))}; replaced on every rerun. "
                           "Write your own text outside these markers. -->", ""]

    failure = s.get("failure") if isinstance(s.get("failure"), dict) else None
    if failure is not None:  # first, so nobody reads the tables below as a verdict
        L += [f"## Run failed: {_cell(str(failure.get('kind', 'failed')).replace('_', ' '))}", ""]
        L += [f"- judge {_cell(u.get('model'))} answered ERROR on {u.get('errors')} of {u.get('answers')} questions "
              f"({pct(u.get('share'))})" for u in failure.get("judges") or []]
        L += ["", "**No recommendation.** The tables below show what the judges did, not how good the base model is.", ""]
    L += ["## Recommendation", "", f"Recommended: **{s['recommendation'] or 'none'}** (a person decides; see `decision` above)",
          "", _cell(s["recommendation_text"], 2000), ""]
    if n and failure is not None:
        L.append(f"- Pass rate: not reported ({n} conversations judged by unusable judges)")
    elif n:
        L.append(f"- Pass rate: {s['passed']} of {n} ({pct(s['pass_rate'])}), 95% Wilson interval {pct_interval(s['interval'])}")
        L.append(f"- Mean score: {_score(s['mean_score'])} (n = {n})")
    else:
        L.append("- Pass rate: no conversation assessed")
    faults = harness_faults(s["excluded"])
    left = len(s["excluded"]) - len(faults)
    L.append(f"- Conversations: {s['conversations']} held of {s['scenarios']} scenarios planned, {n} assessed, "
             f"{len(faults)} excluded (harness faults)" + (f", {left} not judged (the run stopped first)" if left else ""))
    L.append(f"- Safety gate failures: {s['safety_gate_failures']} of {n} conversations")
    if s.get("floors"):
        below = s.get("floor_failures") or []
        L.append(f"- Below a category floor: {len(below)} of {n} conversations (floors: "
                 + ", ".join(f"{_cell(k)} {v:g}" for k, v in s["floors"].items()) + "; each fails whatever the total)")
        L += [f"  - {_cell(f['id'])} (score {f['score']:.2f}): " + "; ".join(_cell(r) for r in f["reasons"])
              for f in below[:50]]
    untested = [g for g in s["gates"] if g["status"] == "untested"]
    if untested:
        L.append("- Untested safety gates (assessable on no conversation, so not passed): "
                 + ", ".join(_cell(f"{g['id']} ({g['name']})") for g in untested))
    if s["invalid"]:
        L.append(f"- **Invalid run**: simulator faults in {pct(s['simulator_fault_share'])} of {s['conversations']} "
                 f"conversations (over {pct(INVALID_SIM_SHARE)})")
    L.append("")

    L += ["## Gaps by category", ""]
    if s["categories"]:
        L += _table(["category", "weight", "mean score", "gap", "n"],
                    [[c["name"], _score(c["weight"]), _score(c["mean_score"]), _score(c["gap"]), c["n"]] for c in s["categories"]],
                    {1, 2, 3, 4})
        L += ["", "n counts the conversations where the category had at least one assessable answer."]
    else:
        L.append("No scored categories.")
    L.append("")

    L += ["## Safety gates", ""]
    if s["gates"]:
        L += _table(["gate", "name", "assessable", "failures", "status"],
                    [[g["id"], g["name"], g["assessable"], g["failures"], g["status"]] for g in s["gates"]], {2, 3})
    else:
        L.append("The rubric has no safety gates.")
    L.append("")

    L += ["## Criteria", ""]
    L += _table(["criterion", "name", "category", "gate", "YES", "NO", "NA", "ERROR", "asked", "YES rate"],
                [[c["id"], c["name"] + (" (computed)" if c.get("computed") else "")
                  + (f" (statistics: {', '.join(c['stats'])})" if c.get("stats") else ""), c["category"] or "–",
                  "gate" if c["gate"] else "", c["yes"], c["no"], c["na"],
                  c["error"], c["asked"], pct(c["yes_rate"]) if c["yes_rate"] is not None else "–"] for c in s["criteria"]],
                {4, 5, 6, 7, 8, 9})
    L += ["", "YES rate counts answers as the score does (NA per `scoring.na`, ERROR per `scoring.error`; "
              "for a gate, ERROR and an invalid NA fail)."
          + (" \"(computed)\": answered by ftd from the transcript (the rubric's `check:`), no judge asked; its "
             "evidence is each conversation's reasoning." if any(c.get("computed") for c in s["criteria"]) else "")
          + (" \"(statistics: …)\": the judges were also given counts computed by ftd (words, the user's own and "
             "pasted apart; question sentences; markup), only for criteria about length, questions or format, or "
             "with `stats: true`." if any(c.get("stats") for c in s["criteria"]) else "")]
    L.append("")
    L += _failure_lines(s["criteria"])

    for title, key, label in (("By topic", "by_topic", "topic"), ("By difficulty", "by_difficulty", "difficulty")):
        L += [f"## {title}", ""]
        if s[key]:
            L += _table([label, "n", "passed", "pass rate"],
                        [[g["value"], g["n"], g["passed"], pct(g["pass_rate"])] for g in s[key]], {1, 2, 3})
        else:
            L.append(f"No scenario recorded a {label}.")
        L.append("")

    L += ["## Judges", ""]
    if s["judges"]:
        L += _table(["judge", "judged", "passed", "pass rate", "errors"],
                    [[j["judge"], j["judged"], j["passed"], pct(j["pass_rate"]), j["errors"]] for j in s["judges"]],
                    {1, 2, 3, 4})
        L += ["", "The combined verdict takes NO from any judge; a single judge's ERROR is ignored when another answered."]
    else:
        L.append("No per-judge records.")
    L.append("")

    L += _trust_sections(s)

    aw = s["assessable_weight"]
    L += ["## Assessable weight", ""]
    if aw["mean"] is None:
        L.append("No conversation assessed.")
    else:
        L.append(f"Mean {_score(aw['mean'])}, lowest {_score(aw['min'])} over {n} conversations: the share of the "
                 "category weight resting on answers the judges could give. The rest was scored 1.0 "
                 "(`empty_category: one`) or left out (`renormalise`).")
    L.append("")

    L += ["## Harness faults and truncations", ""]
    if s["excluded"]:
        L += _table(["conversation", "kind", "detail"], [[e["id"], e["kind"], e["detail"]] for e in s["excluded"]])
        L += ["", "Excluded conversations count toward neither the pass rate nor the gates."]
        L += _fault_texts(s["excluded"])
    else:
        L.append("none")
    L.append("")
    L.append(f"- Simulator faults: {pct(s['simulator_fault_share'])} of {s['conversations']} conversations "
             f"(a run is invalid over {pct(INVALID_SIM_SHARE)})")
    L += _fault_check_lines(s.get("fault_check"))
    L.append("- Replies cut by the reply limit: " + (", ".join(_cell(x) for x in s["cut_replies"]) or "none"))
    L.append("- Inputs truncated by the server: " + (", ".join(_cell(x) for x in s["truncations"]) or "none"))
    L.append("")

    L += ["## Tokens and cost", ""]
    if s["usage"]:
        rows = []
        for role, u in s["usage"].items():
            u = u if isinstance(u, dict) else {}
            cost = "local (GPU time not counted)" if u.get("local") else _money(u.get("cost") if _num(u.get("cost")) else None)
            rows.append([role, _tokens(u.get("calls")), _tokens(u.get("input_tokens")), _tokens(u.get("output_tokens")), cost])
        L += _table(["role", "calls", "input tokens", "output tokens", "cost"], rows, {1, 2, 3, 4})
        L += ["", f"Total cost: {_money(s['cost'])}"
              + (" (local servers have no per-token price)" if any(isinstance(u, dict) and u.get("local")
                                                                   for u in s["usage"].values()) else "")]
    else:
        L.append("No usage recorded.")
    L.append("")

    L += ["## Run settings", ""]
    L.append(f"- run: {_cell(s.get('run'))}")
    L.append(f"- inputs hash: {_cell(s.get('inputs_hash'))}")
    for key, value in (s.get("settings") or {}).items():
        if isinstance(value, dict) and value:
            L.append(f"- {_cell(key)}:")
            L += [f"  - {_cell(k)}: {_cell(_setting(v), 300)}" for k, v in value.items()]
        else:
            L.append(f"- {_cell(key)}: {_cell(_setting(value), 300)}")
    L += ["", END]
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- the report file


def _front_values(summary: dict) -> dict[str, Any]:
    iv = summary.get("interval")
    rate = summary.get("pass_rate")
    return {
        "run": {"id": summary.get("run"), "inputs_hash": summary.get("inputs_hash")},
        "pass_rate": None if rate is None else round(rate, 4),
        "interval": None if iv is None else [round(iv[0], 4), round(iv[1], 4)],
        "recommendation": summary.get("recommendation"),
    }


def _split_front_matter(text: str) -> tuple[str, str, str] | None:
    """(opening line, front-matter YAML, closing line and body), or None without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].lstrip("\ufeff").rstrip("\r\n") != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n") in ("---", "..."):
            return lines[0], "".join(lines[1:i]), "".join(lines[i:])
    return None


def _eol(text: str) -> str:
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def _new_front_matter(summary: dict, eol: str) -> str:
    v = _front_values(summary)
    lines = [
        "# ftd writes run, pass_rate, interval and recommendation and replaces them on every rerun.",
        "run:",
        f"  id: {render_scalar(v['run']['id'])}",
        f"  inputs_hash: {render_scalar(v['run']['inputs_hash'])}",
        f"pass_rate: {render_scalar(v['pass_rate'])}",
        f"interval: {render_flow(v['interval'])}",
        f"recommendation: {render_scalar(v['recommendation'])}",
        "# The decision is a person's, not the tool's: reruns never touch it. Record decision",
        "# (proceed | prompt-engineer-first | stop), decided_by, decided_at and rationale,",
        "# by hand or with the app's decision dialog.",
        "decision: {}",
    ]
    return eol.join(lines) + eol


def _new_report(summary: dict) -> str:
    body = [
        "---", _new_front_matter(summary, "\n").rstrip("\n"), "---", "",
        "# Base-model evaluation", "",
        visible(render_sections(summary)).rstrip("\n"), "",
        "## Notes", "",
        "<!-- Your reading of the transcripts and the reasons behind the decision. ftd never changes this. -->", "",
    ]
    return "\n".join(body)


def _set_tool_keys(doc: YamlDocument, values: dict[str, Any]) -> YamlDocument:
    data = doc.data
    for key in TOOL_KEYS:
        new = values[key]
        old = data.get(key) if key in data else object()
        if key in data and same_value(old, new):
            continue
        if key == "run" and isinstance(old, dict) and old:
            # key by key, so a block mapping stays a block mapping
            for sub, v in new.items():
                if not (sub in old and same_value(old[sub], v)):
                    doc = doc.set((key, sub), v, create=True)
            stale = [sub for sub in old if sub not in new]
            for sub in stale:
                doc = doc.delete((key, sub))
        elif key == "interval" and isinstance(old, list) and len(old) == 2 and isinstance(new, list):
            for i in (0, 1):
                if not same_value(old[i], new[i]):
                    doc = doc.set((key, i), new[i])
        else:
            doc = doc.set((key,), new, create=True)
        data = doc.data
    return doc


def update_report(existing: str | None, summary: dict) -> str:
    """A new report, or the existing one with only the tool's keys and generated section replaced.

    Raises YamlError when the existing front matter cannot be read and EditError when an edit
    cannot be made exactly: a report that cannot be updated safely is left to the person.
    """
    if existing is None:
        return _new_report(summary)
    eol = _eol(existing)
    split = _split_front_matter(existing)
    if split is None:
        text = "---" + eol + _new_front_matter(summary, eol) + "---" + eol + eol + existing
    else:
        head, fm, tail = split
        bom = head.startswith("\ufeff")
        doc = YamlDocument.from_text(fm)
        if doc.root is None:
            fm_new = fm + _new_front_matter(summary, _eol(fm) if fm else eol)
        else:
            if not isinstance(doc.data, dict):
                raise EditError("the report's front matter is not a mapping; fix it by hand")
            fm_new = _set_tool_keys(doc, _front_values(summary)).text
        text = head + fm_new + tail
        if bom and not text.startswith("\ufeff"):
            text = "\ufeff" + text
    # the sections quote model output and project text: no raw control or bidi character in the file
    generated = visible(render_sections(summary))
    if eol != "\n":
        generated = generated.replace("\n", eol)
    m = _MARKERS.search(text)
    if m:
        return text[: m.start()] + generated + text[m.end():]
    sep = "" if text.endswith(("\n", "\r")) else eol
    return text + sep + eol + generated


# --------------------------------------------------------------------------- the decision


def _when_value(when: str) -> Any:
    # a plain date reads back as a date, which is how a person would write it by hand
    if isinstance(when, str) and len(when) == 10:
        try:
            return dt.date.fromisoformat(when)
        except ValueError:
            pass
    return when


def _render_block_value(value: Any, indent: int, eol: str) -> str:
    """A multi-line rationale as a literal block; anything it cannot hold exactly, quoted."""
    if isinstance(value, str) and "\n" in value:
        lines = value.split("\n")
        literal_ok = (not value.startswith((" ", "\n")) and not value.endswith("\n")
                      and not any(c in value for c in "\r\t") and all(l.strip() or not l for l in lines)
                      and visible(value) == value)  # a pasted escape or bidi override goes quoted, escaped
        if literal_ok:
            return "|-" + "".join(eol + (" " * indent + l if l else "") for l in lines)
    return render_scalar(value)


def _fill_decision(doc: YamlDocument, values: dict[str, Any]) -> YamlDocument:
    """Writes the decision as a block mapping where the placeholder ({} or empty) stood."""
    loc = doc.locate(("decision",))
    if loc.in_flow or loc.key_node is None:
        return doc.set(("decision",), values)
    text, eol = doc.text, doc.eol
    key = loc.key_node
    colon = text.find(":", key.end) + 1
    value_end = loc.node.end if loc.node.end > loc.node.start else colon
    line_end = text.find("\n", value_end)
    line_end = len(text) if line_end < 0 else line_end
    if line_end > 0 and text[line_end - 1] == "\r":
        line_end -= 1
    trailing = text[value_end:line_end]  # a comment after the placeholder stays on the key's line
    indent = key.col + 2
    block = "".join(f"{eol}{' ' * indent}{k}: {_render_block_value(v, indent + 2, eol)}" for k, v in values.items())
    candidate = text[:colon] + trailing.rstrip(" \t") + block + text[line_end:]
    expected = dict(doc.data)
    expected["decision"] = values
    try:
        new = YamlDocument(candidate, bom=doc.bom, path=doc.path)
        if same_value(new.data, expected):
            return new
    except Exception:
        pass
    return doc.set(("decision",), values)


def record_decision(existing: str, decision: str, decided_by: str, rationale: str, when: str) -> str:
    """The person's decision written into the report's front matter; nothing else changes."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if not str(decided_by).strip():
        raise ValueError("say who decided")
    if not str(rationale).strip():
        raise ValueError("say why: the rationale is what a later reader needs")
    if not str(when).strip():
        raise ValueError("say when the decision was made")
    split = _split_front_matter(existing)
    if split is None:
        raise ValueError("the report has no front matter; regenerate it with the baseline first")
    head, fm, tail = split
    doc = YamlDocument.from_text(fm)
    data = doc.data
    if not isinstance(data, dict):
        raise EditError("the report's front matter is not a mapping; fix it by hand")
    current = data.get("decision")
    when_key = "date" if isinstance(current, dict) and "date" in current and "decided_at" not in current else "decided_at"
    values = {"decision": decision, "decided_by": decided_by, when_key: _when_value(when), "rationale": rationale}
    run = data.get("run")
    if isinstance(run, dict) and isinstance(run.get("id"), str):
        values["run"] = run["id"]  # which results the person decided on: a rerun makes it stale
    if isinstance(current, dict) and current:
        for k, v in values.items():
            if not (k in current and same_value(current[k], v)):
                doc = doc.set(("decision", k), v, create=True)
    elif "decision" in data and current in ({}, None, ""):
        doc = _fill_decision(doc, values)
    elif "decision" not in data:
        doc = _fill_decision(doc.insert((), "decision", {}), values)
    else:
        doc = doc.set(("decision",), values)
    return head + doc.text + tail
