"""The report's generated sections: the summary numbers as Markdown between the markers.

Everything a model or a transcript wrote is shown through ``_cell`` / ``_quoted_block`` (one line,
escapes visible), so the report never carries a raw control character into a terminal.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..format import money, pct, pct_interval
from ..text.textsafe import clean_line, visible
from .summarize import INVALID_SIM_SHARE, _num, harness_faults
from .summary import RunSummary

START = "<!-- ftd:generated:start -->"
END = "<!-- ftd:generated:end -->"


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


def _trust_sections(s: RunSummary) -> list[str]:
    """Can the judges be trusted? Agreement, flip rates, a person's labels, paired comparison."""
    L: list[str] = []
    agreement = s.agreement or []
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
    reps = s.judge_repeats
    if reps:
        L += ["## Judge repeats", ""]
        L += _table(["judge", "questions re-asked", "flipped", "flip rate"],
                    [[j, r.get("n"), r.get("flipped"), pct(r.get("rate"))] for j, r in (reps.get("judges") or {}).items()],
                    {1, 2, 3})
        L += ["", f"Each sampled question asked {reps.get('k')} times in all, uncached.", ""]
    human = s.human or []
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
        L += ["", f"{s.to_dict().get('human_labels', 0)} labels by {', '.join(_cell(r) for r in s.reviewers or []) or '–'}. "
              "TPR: of the conversations the person answered YES, the share the judge answered YES; TNR likewise for NO. "
              "\"judge not trusted\": the combined verdict disagrees with the person on two or more conversations.", ""]
    cmp = s.comparison
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


def _tokens(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else "unknown"


def _setting(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def render_sections(summary: dict) -> str:
    """The generated part of the report, markers included."""
    s = RunSummary.from_dict(summary)
    n = s.assessed
    L: list[str] = [START, f"<!-- Written by ftd from run {_cell(s.run)}; replaced on every rerun. "
                           "Write your own text outside these markers. -->", ""]

    failure = s.failure if isinstance(s.failure, dict) else None
    if failure is not None:  # first, so nobody reads the tables below as a verdict
        L += [f"## Run failed: {_cell(str(failure.get('kind', 'failed')).replace('_', ' '))}", ""]
        L += [f"- judge {_cell(u.get('model'))} answered ERROR on {u.get('errors')} of {u.get('answers')} questions "
              f"({pct(u.get('share'))})" for u in failure.get("judges") or []]
        L += ["", "**No recommendation.** The tables below show what the judges did, not how good the base model is.", ""]
    L += ["## Recommendation", "", f"Recommended: **{s.recommendation or 'none'}** (a person decides; see `decision` above)",
          "", _cell(s.recommendation_text, 2000), ""]
    if n and failure is not None:
        L.append(f"- Pass rate: not reported ({n} conversations judged by unusable judges)")
    elif n:
        L.append(f"- Pass rate: {s.passed} of {n} ({pct(s.pass_rate)}), 95% Wilson interval {pct_interval(s.interval)}")
        L.append(f"- Mean score: {_score(s.mean_score)} (n = {n})")
    else:
        L.append("- Pass rate: no conversation assessed")
    faults = harness_faults(s.excluded)
    left = len(s.excluded) - len(faults)
    L.append(f"- Conversations: {s.conversations} held of {s.scenarios} scenarios planned, {n} assessed, "
             f"{len(faults)} excluded (harness faults)" + (f", {left} not judged (the run stopped first)" if left else ""))
    L.append(f"- Safety gate failures: {s.safety_gate_failures} of {n} conversations")
    if s.floors:
        below = s.floor_failures or []
        L.append(f"- Below a category floor: {len(below)} of {n} conversations (floors: "
                 + ", ".join(f"{_cell(k)} {v:g}" for k, v in s.floors.items()) + "; each fails whatever the total)")
        L += [f"  - {_cell(f['id'])} (score {f['score']:.2f}): " + "; ".join(_cell(r) for r in f["reasons"])
              for f in below[:50]]
    untested = [g for g in s.gates if g["status"] == "untested"]
    if untested:
        L.append("- Untested safety gates (assessable on no conversation, so not passed): "
                 + ", ".join(_cell(f"{g['id']} ({g['name']})") for g in untested))
    if s.invalid:
        L.append(f"- **Invalid run**: simulator faults in {pct(s.simulator_fault_share)} of {s.conversations} "
                 f"conversations (over {pct(INVALID_SIM_SHARE)})")
    L.append("")

    L += ["## Gaps by category", ""]
    if s.categories:
        L += _table(["category", "weight", "mean score", "gap", "n"],
                    [[c["name"], _score(c["weight"]), _score(c["mean_score"]), _score(c["gap"]), c["n"]] for c in s.categories],
                    {1, 2, 3, 4})
        L += ["", "n counts the conversations where the category had at least one assessable answer."]
    else:
        L.append("No scored categories.")
    L.append("")

    L += ["## Safety gates", ""]
    if s.gates:
        L += _table(["gate", "name", "assessable", "failures", "status"],
                    [[g["id"], g["name"], g["assessable"], g["failures"], g["status"]] for g in s.gates], {2, 3})
    else:
        L.append("The rubric has no safety gates.")
    L.append("")

    L += ["## Criteria", ""]
    L += _table(["criterion", "name", "category", "gate", "YES", "NO", "NA", "ERROR", "asked", "YES rate"],
                [[c["id"], c["name"] + (" (computed)" if c.get("computed") else "")
                  + (f" (statistics: {', '.join(c['stats'])})" if c.get("stats") else ""), c["category"] or "–",
                  "gate" if c["gate"] else "", c["yes"], c["no"], c["na"],
                  c["error"], c["asked"], pct(c["yes_rate"]) if c["yes_rate"] is not None else "–"] for c in s.criteria],
                {4, 5, 6, 7, 8, 9})
    L += ["", "YES rate counts answers as the score does (NA per `scoring.na`, ERROR per `scoring.error`; "
              "for a gate, ERROR and an invalid NA fail)."
          + (" \"(computed)\": answered by ftd from the transcript (the rubric's `check:`), no judge asked; its "
             "evidence is each conversation's reasoning." if any(c.get("computed") for c in s.criteria) else "")
          + (" \"(statistics: …)\": the judges were also given counts computed by ftd (words, the user's own and "
             "pasted apart; question sentences; markup), only for criteria about length, questions or format, or "
             "with `stats: true`." if any(c.get("stats") for c in s.criteria) else "")]
    L.append("")
    L += _failure_lines(s.criteria)

    for title, key, label in (("By topic", "by_topic", "topic"), ("By difficulty", "by_difficulty", "difficulty")):
        L += [f"## {title}", ""]
        if getattr(s, key):
            L += _table([label, "n", "passed", "pass rate"],
                        [[g["value"], g["n"], g["passed"], pct(g["pass_rate"])] for g in getattr(s, key)], {1, 2, 3})
        else:
            L.append(f"No scenario recorded a {label}.")
        L.append("")

    L += ["## Judges", ""]
    if s.judges:
        L += _table(["judge", "judged", "passed", "pass rate", "errors"],
                    [[j["judge"], j["judged"], j["passed"], pct(j["pass_rate"]), j["errors"]] for j in s.judges],
                    {1, 2, 3, 4})
        L += ["", "The combined verdict takes NO from any judge; a single judge's ERROR is ignored when another answered."]
    else:
        L.append("No per-judge records.")
    L.append("")

    L += _trust_sections(s)

    aw = s.assessable_weight
    L += ["## Assessable weight", ""]
    if aw["mean"] is None:
        L.append("No conversation assessed.")
    else:
        L.append(f"Mean {_score(aw['mean'])}, lowest {_score(aw['min'])} over {n} conversations: the share of the "
                 "category weight resting on answers the judges could give. The rest was scored 1.0 "
                 "(`empty_category: one`) or left out (`renormalise`).")
    L.append("")

    L += ["## Harness faults and truncations", ""]
    if s.excluded:
        L += _table(["conversation", "kind", "detail"], [[e["id"], e["kind"], e["detail"]] for e in s.excluded])
        L += ["", "Excluded conversations count toward neither the pass rate nor the gates."]
        L += _fault_texts(s.excluded)
    else:
        L.append("none")
    L.append("")
    L.append(f"- Simulator faults: {pct(s.simulator_fault_share)} of {s.conversations} conversations "
             f"(a run is invalid over {pct(INVALID_SIM_SHARE)})")
    L += _fault_check_lines(s.fault_check)
    L.append("- Replies cut by the reply limit: " + (", ".join(_cell(x) for x in s.cut_replies) or "none"))
    L.append("- Inputs truncated by the server: " + (", ".join(_cell(x) for x in s.truncations) or "none"))
    L.append("")

    L += ["## Tokens and cost", ""]
    if s.usage:
        rows = []
        for role, u in s.usage.items():
            u = u if isinstance(u, dict) else {}
            cost = "local (GPU time not counted)" if u.get("local") else money(u.get("cost") if _num(u.get("cost")) else None)
            rows.append([role, _tokens(u.get("calls")), _tokens(u.get("input_tokens")), _tokens(u.get("output_tokens")), cost])
        L += _table(["role", "calls", "input tokens", "output tokens", "cost"], rows, {1, 2, 3, 4})
        L += ["", f"Total cost: {money(s.cost)}"
              + (" (local servers have no per-token price)" if any(isinstance(u, dict) and u.get("local")
                                                                   for u in s.usage.values()) else "")]
    else:
        L.append("No usage recorded.")
    L.append("")

    L += ["## Run settings", ""]
    L.append(f"- run: {_cell(s.run)}")
    L.append(f"- inputs hash: {_cell(s.inputs_hash)}")
    for key, value in (s.settings or {}).items():
        if isinstance(value, dict) and value:
            L.append(f"- {_cell(key)}:")
            L += [f"  - {_cell(k)}: {_cell(_setting(v), 300)}" for k, v in value.items()]
        else:
            L.append(f"- {_cell(key)}: {_cell(_setting(value), 300)}")
    L += ["", END]
    return "\n".join(L) + "\n"
