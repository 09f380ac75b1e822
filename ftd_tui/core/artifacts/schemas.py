"""JSON Schema for the YAML artifacts, so editors with a YAML language server validate too."""

from __future__ import annotations

from typing import Any

SCHEMA_IDS = ("settings", "taxonomy", "rubric", "personas", "model-choice", "experts", "eval-results")


def json_schema(artifact: str) -> dict[str, Any]:
    from .eval_results import EvalResults
    from .experts import ExpertsFile
    from .model_choice import ModelChoice
    from .personas import PersonaFile
    from .rubric import Rubric
    from .settings import Settings
    from .taxonomy import TaxonomyFile

    models = {"settings": Settings, "taxonomy": TaxonomyFile, "rubric": Rubric, "personas": PersonaFile,
              "model-choice": ModelChoice, "experts": ExpertsFile, "eval-results": EvalResults}
    schema = models[artifact].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"ftd {artifact}"
    if artifact == "taxonomy":
        # every key besides topics / turn_ranges is a dimension: option -> weight, or
        # option -> {weight, description} (the description is what the simulator reads)
        body = schema["$defs"]["TaxonomyBody"]
        weight = {"type": "number", "minimum": 0}
        described = {"type": "object", "required": ["weight"], "additionalProperties": False,
                     "properties": {"weight": weight, "description": {"type": "string", "minLength": 1}}}
        body["additionalProperties"] = {"type": "object", "additionalProperties": {"oneOf": [weight, described]}}
    if artifact in ("model-choice", "eval-results"):
        schema["description"] = "the YAML front matter of the Markdown file"
    return schema
