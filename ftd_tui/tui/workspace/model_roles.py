"""The models a project calls: the roles in force (ftd.yaml over the user config), asking before
project text goes to an endpoint not yet approved (spec §9), testing every role, and choosing the
base model. The policy is the session's; this module only asks the person and shows the answer."""

from __future__ import annotations

from textual import work

from ...core.text.textsafe import clean_line
from ..messages import ModelChosen
from ..modals.dialogs import Choice, HelpScreen


class ModelRoles:
    """Mixed into FtdApp: settings in force, approval, connection test, base-model choice."""

    def model_settings(self) -> tuple[dict, dict]:
        """(the roles in force: ftd.yaml over the user config, the project's own settings)."""
        project = self.session.project_settings(self.project)  # parsed here for a key pressed before the first check
        merged, _ = self.session.effective_settings(project)
        return merged, project

    def ask_approval(self, settings: dict, then) -> bool:
        """True when the project's endpoints are approved; else ask, and on yes approve and call ``then``."""
        from ...core.user.trust import approval_title

        items = self.session.needs_approval(settings)  # each says what goes where, a key included
        if not items:
            return True

        def answered(choice: str | None) -> None:
            if choice == "approve":
                self.session.approve(settings)
                then()

        self.push_screen(Choice(approval_title(items), [("approve", "Approve", "y"), ("cancel", "Cancel", "n")],
                                "\n".join(items)), answered)
        return False

    # ------------------------------------------------------------------ test connections
    def action_test_connections(self) -> None:
        if self.project is None:
            return
        merged, settings = self.model_settings()
        items = self.session.needs_approval(settings)
        if items:
            self.notify("approve the project's endpoints first (F6 asks, or ftd trust): " + "; ".join(items),
                        severity="warning", timeout=8, markup=False)
            return
        self.notify("testing every model role…", timeout=3, markup=False)
        self.connections_worker(merged)

    @work(exclusive=True, group="doctor")
    async def connections_worker(self, settings: dict) -> None:
        from ...services.llm.doctor import probe_roles

        try:
            results = await probe_roles(settings)
        except Exception as exc:  # a timeout of the whole probe, or any provider error: said, never a crash
            self.notify(f"the connection test did not finish: {type(exc).__name__}", severity="error", markup=False)
            return
        rows = [(("✓ " if r.ok else "✗ ") + r.role, f"{r.model}  {r.key}  {r.verdict}", "") for r in results]
        self.push_screen(HelpScreen("Test connections", "A tiny call to every model role (keys are never shown).",
                                    [("Roles", [(clean_line(a), clean_line(b), c) for a, b, c in rows])]))

    # ------------------------------------------------------------------ the base model
    def action_models(self) -> None:
        """Step 1: the models ftd knows, their figures at this budget, and the choice."""
        from ..screens.models import ModelsScreen

        if self.project is not None and not isinstance(self.screen, ModelsScreen):
            self.push_screen(ModelsScreen())

    def on_model_chosen(self, message: ModelChosen) -> None:
        if self.choose_model(message.model_id, message.entries, message.method) and message.applied is not None:
            message.applied()

    def choose_model(self, model_id: str, entries: list[dict], method: str) -> bool:
        """Write the choice into ftd.yaml and model-choice.md (exact edits into their buffers);
        a file with no unsaved edits of yours is saved at once, one with edits is left for you."""
        from ...core.project.choose_model import set_base_model, update_model_choice

        target = None
        settings = self.project.files["settings"].ensure_parsed().data
        if isinstance(settings, dict) and isinstance(settings.get("deployment"), dict):
            target = settings["deployment"].get("target")
        changes = {"settings": lambda text: set_base_model(text, model_id),
                   "model-choice": lambda text: update_model_choice(text or None, model_id, entries, method, target)}
        left = []
        for aid, change in changes.items():
            self.open_artifact(aid)
            ed = self.editors.get(aid)
            if ed is None:
                return False
            was_clean = not ed.dirty
            try:
                new = change(ed.text)
            except Exception as exc:  # a front matter ftd cannot edit exactly, in any of its ways: said, nothing half-written
                self.notify(f"could not update {self.project.files[aid].rel}: {clean_line(str(exc))}",
                            severity="error", markup=False)
                return False
            if new != ed.text:
                self._replace_buffer(ed, new)
                if was_clean:
                    self.save_artifact(aid)
                else:
                    left.append(self.project.files[aid].rel)
        self.notify(f"base model: {model_id}" + (f"; unsaved in {', '.join(left)} (your edits there were kept)"
                                                  if left else ""), markup=False)
        return True
