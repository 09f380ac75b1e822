"""The app driven through Textual's Pilot: it loads a project, lists artifacts, jumps to findings."""

from __future__ import annotations

import asyncio

from ftd_tui.tui.app import ArtifactItem, DiagnosticItem, create_app
from helpers import yset


def test_app_shows_artifacts_and_jumps_to_a_finding(sample):
    root = sample("math-tutoring")
    yset(root, "config/rubric.yaml", "pass_threshold", 1.5)

    async def scenario():
        app = create_app(root)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(50):
                await pilot.pause(0.05)
                if app.snapshot is not None:
                    break
            assert app.snapshot is not None
            items = list(app.query(ArtifactItem))
            assert [i.artifact_id for i in items][:3] == ["settings", "model-choice", "taxonomy"]
            app.show_artifact("rubric")
            await pilot.pause()
            findings = list(app.query(DiagnosticItem))
            assert findings, "the planted RUB016 should be listed"
            target = next(f for f in findings if "pass_threshold" in str(f.query_one("Static").render()))
            diags = app.query_one("#diagnostics")
            diags.index = findings.index(target)
            diags.focus()
            await pilot.press("enter")
            await pilot.pause()
            editor = app.query_one("#editor")
            assert editor.cursor_location[0] == target.line - 1
            assert "Step 4" in str(app.query_one("#status").render())

    asyncio.run(scenario())
