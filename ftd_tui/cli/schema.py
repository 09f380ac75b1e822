"""`ftd schema [ARTIFACT]`: the JSON Schema an editor's YAML language server reads."""

from __future__ import annotations

import json

from .errors import EXIT_OK, CommandError


def cmd_schema(args) -> int:
    from ..core.artifacts.schemas import SCHEMA_IDS, json_schema

    if not args.artifact:
        print("JSON Schema is available for: " + ", ".join(SCHEMA_IDS))
        print("usage: ftd schema rubric > rubric.schema.json   (then point your YAML language server at it)")
        return EXIT_OK
    if args.artifact not in SCHEMA_IDS:
        raise CommandError(f"no schema for '{args.artifact}'; choose one of: {', '.join(SCHEMA_IDS)}")
    print(json.dumps(json_schema(args.artifact), indent=2))
    return EXIT_OK
