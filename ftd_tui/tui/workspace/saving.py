"""Nothing the user typed is lost: atomic saves that refuse to overwrite a file changed on disk
(keep mine / take theirs / diff), a draft of every dirty buffer in the state folder, the drafts
of an earlier session offered back, and a look at the files on disk every second."""

from __future__ import annotations

from pathlib import Path

from ...core.project.drafts import Draft
from ...core.project.project import ARTIFACTS, BY_ID
from ...core.project.storage import ConflictError, FileStamp, ReadOnlyError, file_changed, save_atomic
from ...core.text.diffing import summary
from ..modals.dialogs import Choice, DiffScreen, DraftsScreen
from ..widgets.artifact_editor import ArtifactEditor

POLL_INTERVAL = 1.0  # seconds between looks at the files on disk


def _disk_text(root: Path, rel: str) -> str:
    """The file on disk, for the conflict diff: read only inside the project and only a regular
    file (a FIFO would hang the app, a symlink out would show a file from outside it)."""
    from ...core.project.boundary import FileRefused, read_inside

    try:
        return read_inside(root, rel).decode("utf-8", errors="replace").lstrip("\ufeff")
    except FileRefused:
        return ""


class Saving:
    """Mixed into FtdApp: saves, conflicts, drafts, the disk watch, and quitting with unsaved work."""

    # ------------------------------------------------------------------ drafts while typing
    def schedule_draft(self, artifact_id: str) -> None:
        if not self.config.drafts:
            return
        timer = self._draft_timers.get(artifact_id)
        if timer is not None:
            timer.stop()
        self._draft_timers[artifact_id] = self.set_timer(self.config.draft_interval_s, lambda: self.write_draft(artifact_id))

    def write_draft(self, artifact_id: str) -> None:
        ed = self.editors.get(artifact_id)
        if ed is None or self.project is None:
            return
        if ed.dirty:
            try:
                self.drafts.save(artifact_id, self.project.files[artifact_id].rel,
                                 ed.stamp.sha256 if ed.stamp else None, ed.text)
            except OSError as exc:
                self.notify(f"could not keep a draft: {exc.strerror or exc}", severity="error", markup=False)
        else:
            self.drafts.discard(artifact_id)

    def write_all_drafts(self) -> None:
        if not self.config.drafts:
            return
        for aid, ed in self.editors.items():
            if ed.dirty:
                self.write_draft(aid)

    # ------------------------------------------------------------------ saving
    def action_save(self) -> None:
        if self.review:
            self.notify("review mode is read-only (F8 leaves it)", markup=False)
            return
        if self.current is None or self.current not in self.editors:
            return
        self.save_artifact(self.current)

    def save_artifact(self, artifact_id: str, *, force: bool = False) -> bool:
        ed = self.editors[artifact_id]
        lf = self.project.files[artifact_id]
        if ed.read_only:
            self.notify(f"{lf.rel} cannot be saved from here", severity="warning", markup=False)
            return False
        data = (("\ufeff" if ed.bom else "") + ed.text).encode("utf-8")
        if ed.stamp is None and lf.abspath.exists() and not force:
            self.resolve_conflict(artifact_id)  # created on disk since we looked: never overwrite it unseen
            return False
        try:
            stamp = save_atomic(lf.abspath, data, None if force else ed.stamp, create=force or ed.stamp is None)
        except ConflictError:
            self.resolve_conflict(artifact_id)
            return False
        except ReadOnlyError:  # never quietly replace a mode-444 file; the CLI asks for --force
            self.notify(f"{lf.rel} is read-only: not saved. Make it writable (chmod u+w {lf.rel}) and save again; "
                        "your text is kept (draft).", severity="error", markup=False)
            self.write_draft(artifact_id)
            return False
        except OSError as exc:
            self.notify(f"could not save {lf.rel}: {exc.strerror or exc}. Your text is kept (draft).", severity="error",
                        markup=False)
            self.write_draft(artifact_id)
            return False
        ed.saved_text = ed.text
        ed.stamp = stamp
        ed.asked_about = None
        self.drafts.discard(artifact_id)
        self.project.reload(artifact_id)
        self.notify(f"saved {lf.rel}", timeout=3, markup=False)
        self.refresh_status()
        self.refresh_artifact_labels()
        self.schedule_validation()
        return True

    # ------------------------------------------------------------------ outside edits
    def poll_disk(self) -> None:
        if self.project is None or self.snapshot is None:
            return
        changed = False
        for spec in ARTIFACTS:
            lf = self.project.files[spec.id]
            ed = self.editors.get(spec.id)
            stamp = ed.stamp if ed is not None else lf.stamp
            exists_now = lf.abspath.exists() or any((self.root / a).exists() for a in spec.aliases)
            if stamp is None and not exists_now:
                continue
            if stamp is not None and not file_changed(lf.abspath, stamp):
                continue
            if stamp is None and exists_now and lf.exists:
                continue
            new = self.project.reload(spec.id)
            changed = True
            if ed is None:
                continue
            if not ed.dirty:
                self.reload_editor(ed, new, announce=True)
            elif new.stamp != ed.asked_about:
                ed.asked_about = new.stamp
                self.resolve_conflict(spec.id)
        if changed:
            self.schedule_validation()

    def reload_editor(self, ed: ArtifactEditor, lf, *, announce: bool) -> None:
        cursor, scroll = ed.cursor_location, ed.scroll_offset
        text = lf.text if lf.text is not None else ""
        ed.load_text(text)
        ed.saved_text = text
        ed.stamp = lf.stamp
        ed.bom = lf.bom
        ed.asked_about = None
        last = max(0, ed.document.line_count - 1)
        ed.move_cursor((min(cursor[0], last), cursor[1]))
        ed.scroll_to(scroll.x, scroll.y, animate=False)
        self.drafts.discard(ed.artifact_id)
        if announce:
            what = "deleted on disk" if not lf.exists else "changed on disk"
            self.notify(f"reloaded {lf.rel}: {what}", timeout=4, markup=False)
        self.refresh_status()
        self.refresh_artifact_labels()

    def resolve_conflict(self, artifact_id: str) -> None:
        ed = self.editors[artifact_id]
        lf = self.project.files[artifact_id]
        disk = _disk_text(self.root, lf.rel)

        def answered(choice: str | None) -> None:
            if choice == "diff":
                self.push_screen(DiffScreen(f"{lf.rel}: on disk → yours", disk, ed.text, "on disk", "yours"),
                                 lambda _: self.resolve_conflict(artifact_id))
            elif choice == "theirs":
                self.reload_editor(ed, self.project.reload(artifact_id), announce=False)
                self.notify(f"took the version on disk of {lf.rel}", markup=False)
                self.schedule_validation()
            elif choice == "mine":
                # the next save replaces what is on disk, knowingly
                ed.stamp = FileStamp.of(lf.abspath, lf.abspath.read_bytes()) if lf.abspath.exists() else None
                self.notify(f"kept your version of {lf.rel}; saving will replace the one on disk", markup=False)

        self.push_screen(Choice(f"{lf.rel} changed on disk while you had unsaved edits.",
                                [("mine", "Keep mine", "k"), ("theirs", "Take theirs", "t"), ("diff", "Show diff", "d")],
                                f"yours: {summary(disk, ed.text)} compared with the file"), answered)

    # ------------------------------------------------------------------ an earlier session's drafts
    def offer_drafts(self) -> None:
        if self._drafts_offered or self.project is None:
            return
        self._drafts_offered = True
        items = []
        for draft in self.drafts.load_all():
            if draft.artifact_id not in BY_ID:
                continue
            lf = self.project.files[draft.artifact_id]
            disk = lf.text or ""
            if draft.text == disk:
                self.drafts.discard_draft(draft)  # its text is the file's: saved already
                continue
            moved_on = (lf.stamp.sha256 if lf.stamp else None) != draft.base_sha256
            items.append((draft, moved_on, summary(disk, draft.text), disk))
        if items:
            # "decide later" leaves every draft on disk: offered again at the next start
            self.push_screen(DraftsScreen(items, self.restore_draft, self.drafts.discard_draft))

    def restore_draft(self, draft: Draft) -> None:
        self.open_artifact(draft.artifact_id)
        ed = self.editors[draft.artifact_id]
        ed.load_text(draft.text)  # the saved text stays the file's: the buffer is dirty again
        try:
            self.drafts.adopt(draft)  # this session's draft now: updated as you type, gone once saved
        except OSError as exc:
            self.notify(f"the draft stays where it was: {exc.strerror or exc}", severity="warning", markup=False)
        self.notify(f"restored your draft of {draft.rel}; ctrl+s saves it", markup=False)
        self.refresh_status()
        self.refresh_artifact_labels()
        self.schedule_validation()

    # ------------------------------------------------------------------ quitting
    async def action_quit(self) -> None:
        dirty = [aid for aid, ed in self.editors.items() if ed.dirty]
        if not dirty:
            self.exit()
            return
        names = ", ".join(self.project.files[a].rel for a in dirty)

        def answered(choice: str | None) -> None:
            if choice == "save":
                if all(self.save_artifact(a) for a in dirty):
                    self.exit()
            elif choice == "discard":
                for a in dirty:
                    self.drafts.discard(a)
                self.exit()

        self.push_screen(Choice(f"Unsaved changes in {names}.",
                                [("save", "Save all and quit", "s"), ("discard", "Quit without saving", "x"),
                                 ("cancel", "Cancel", "c")]), answered)
