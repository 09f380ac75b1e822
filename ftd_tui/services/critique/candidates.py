"""Taking an expert's candidate into the design, as exact edits a person can see and undo.

A calibration example goes into the rubric typed UNREVIEWED with the label the expert
suggested (it counts only once a person types it, spec §4). A user message goes into
eval/scenarios.yaml as a hand-written scenario whose situation says where it came from and
which message it opens with."""

from __future__ import annotations

from typing import Any

from ...core.text.yamldoc import EditError, YamlDocument, YamlError

DEFAULT_EXCHANGES = 6


class CandidateError(Exception):
    pass


def example_entry(cand: dict, source: str) -> dict:
    return {"type": "UNREVIEWED", "suggested_type": cand.get("label") or None,
            "context": cand.get("context", ""), "response": cand.get("response", ""),
            "reasoning": f"{cand.get('reasoning', '')} [suggested by the fictional {cand.get('expert')} in critique "
                         f"{source}, {cand.get('id')}: check it, then type it]"}


def add_calibration_example(doc: YamlDocument, cid: str, entry: dict) -> YamlDocument:
    """The rubric with ``entry`` appended to criterion ``cid``'s calibration examples, in block
    style (a person reads and types it), the list created when the criterion has none yet.
    KeyError when the rubric has no such criterion. The one way ftd adds an example: a critique
    candidate and a reviewer's labels alike."""
    criterion = doc.get(("criteria", cid))
    if not isinstance(criterion, dict):
        raise KeyError(cid)
    path = ("criteria", cid, "calibration_examples")
    if isinstance(criterion.get("calibration_examples"), list):
        return doc.append_block(path, entry)
    return doc.set(path, [entry], create=True)


def add_example(rubric_text: str, cand: dict, source: str) -> str:
    """The rubric with the candidate appended to its criterion's calibration examples."""
    cid = str(cand.get("criterion") or "")
    try:
        doc = YamlDocument.from_text(rubric_text)
        if not isinstance(doc.data, dict):
            raise KeyError(cid)
        return add_calibration_example(doc, cid, example_entry(cand, source)).text
    except KeyError:
        raise CandidateError(f"the rubric has no criterion {cid or '(none named)'}: add it first (or accept the "
                             "proposal that adds it), then take this example") from None
    except (YamlError, EditError) as exc:
        raise CandidateError(f"the rubric cannot take it as it stands: {getattr(exc, 'message', exc)}") from None


def _cell(cand: dict, taxonomy: Any) -> dict:
    """The topic the candidate names when the taxonomy has it (a topic, or a subtopic of one);
    else edge_cases: a message built to break the design is an edge case until shown otherwise."""
    from ...core.artifacts.taxonomy import EDGE_TOPIC

    body = taxonomy.get("taxonomy") if isinstance(taxonomy, dict) and isinstance(taxonomy.get("taxonomy"), dict) else taxonomy
    topics = body.get("topics") if isinstance(body, dict) and isinstance(body.get("topics"), list) else []
    want = str(cand.get("topic") or "").strip().lower().replace(" ", "_")
    for t in topics:
        if isinstance(t, dict) and str(t.get("name", "")).lower() == want:
            return {"topic": t["name"]}
    for t in topics:
        subs = t.get("subtopics") if isinstance(t, dict) and isinstance(t.get("subtopics"), list) else []
        for s in subs:
            if str(s).lower() == want:
                return {"topic": t["name"], "subtopic": s}
    return {"topic": EDGE_TOPIC}


def add_scenario(scenarios_text: str, cand: dict, source: str, taxonomy: Any, gates: list[str]) -> tuple[str, str]:
    """(the new eval/scenarios.yaml text, the new scenario's id)."""
    from ...core.evaluation.scenarios import read_scenarios

    scenarios, problems = read_scenarios(scenarios_text)
    if problems:
        raise CandidateError("eval/scenarios.yaml has problems to fix first: " + "; ".join(problems[:2]))
    ids = {s["id"] for s in scenarios}
    n = 1
    while f"x{n}" in ids:
        n += 1
    sid = f"x{n}"
    seeds = [s["persona_seed"] for s in scenarios]
    lengths = sorted(s["target_exchanges"] for s in scenarios)
    crit = str(cand.get("criterion") or "")
    situation = (f"From the expert critique {source} ({cand.get('id')}, written by the fictional {cand.get('expert')}). "
                 f"Open the conversation with this message, word for word:\n{cand.get('message', '')}\n"
                 + (f"Why it matters: {cand.get('why')}" if cand.get("why") else ""))
    entry = {"id": sid, "cell": _cell(cand, taxonomy), "gate": crit if crit in gates else None,
             "persona_seed": (max(seeds) + 1) if seeds else 9900,
             "target_exchanges": lengths[len(lengths) // 2] if lengths else DEFAULT_EXCHANGES,
             "situation": situation.strip()}
    try:
        doc = YamlDocument.from_text(scenarios_text)
        return doc.append_block(("scenarios",), entry).text, sid
    except (YamlError, EditError, KeyError) as exc:
        raise CandidateError(f"eval/scenarios.yaml cannot take it: {getattr(exc, 'message', exc)}") from None
