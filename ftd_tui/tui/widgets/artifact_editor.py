"""One artifact's buffer: the text being edited, with what is on disk beside it (the stamp a save
checks, the BOM it keeps). Control characters are kept in the document but never drawn raw."""

from __future__ import annotations

import re

from textual.widgets import TextArea

from ...core.project.storage import FileStamp
from ..messages import ArtifactEdited

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _picture(m: re.Match) -> str:
    code = ord(m.group(0))
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟ (␛ for ESC)
    return "\u2421" if code == 0x7F else "\ufffd"


class ArtifactEditor(TextArea):
    """One artifact's buffer, with what is on disk beside it."""

    HELP_PANE = "the editor"
    # (keys, what they do, binding id): the help screen's rows while this pane has focus
    HELP_ROWS = [("type", "edit; 2-space indent, Tab indents", ""), ("ctrl+z / ctrl+y", "undo / redo", ""),
                 ("ctrl+x / ctrl+c / ctrl+v", "cut / copy (OSC 52) / paste", ""),
                 ("ctrl+s, F2", "save exactly what you see, atomically", "save-artifact")]

    def __init__(self, artifact_id: str, text: str, *, language: str | None, bom: bool, stamp: FileStamp | None,
                 read_only: bool) -> None:
        # built empty, then loaded: TextArea's constructor re-wraps its text several times
        # (~20 ms on a 2,400-line rubric against ~7 ms for one load)
        super().__init__("", language=language, soft_wrap=False, show_line_numbers=True, tab_behavior="indent",
                         read_only=read_only, id=f"editor-{artifact_id}", theme="css")
        self.load_text(text)
        self.indent_width = 2
        self.artifact_id = artifact_id
        self.saved_text = text
        self.bom = bom
        self.stamp = stamp
        self.asked_about: FileStamp | None = None  # the disk version we already asked about
        self.deferred_language: str | None = None

    @property
    def dirty(self) -> bool:
        return self.text != self.saved_text

    def apply_deferred_language(self) -> None:
        """Turn on the highlighting held back for the first frame. Setting ``language`` rebuilds
        the document and puts the cursor at (0, 0); whatever the user typed or selected before
        this landed must stay where they put it (on a loaded machine the first keys can beat it,
        and the rest of a typed line then went in above the start of it)."""
        if not self.deferred_language:
            return
        selection, scroll = self.selection, self.scroll_offset
        self.language, self.deferred_language = self.deferred_language, None
        self.selection = selection
        self.scroll_to(scroll.x, scroll.y, animate=False)

    def replace_changed(self, new: str) -> None:
        """Only the changed middle, as one undoable edit: the cursor and the rest stay put."""
        old = self.text
        start = 0
        while start < min(len(old), len(new)) and old[start] == new[start]:
            start += 1
        end = 0
        while end < min(len(old), len(new)) - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]:
            end += 1

        def loc(text: str, offset: int) -> tuple[int, int]:
            row = text.count("\n", 0, offset)
            return row, offset - (text.rfind("\n", 0, offset) + 1)

        self.replace(new[start:len(new) - end], loc(old, start), loc(old, len(old) - end))

    def render_line(self, y: int):
        # The document keeps every byte (what is saved is what was read), but a control
        # character must never reach the terminal: an OSC 52 in a prompt file could rewrite
        # the clipboard. Show each as its Unicode control picture instead.
        strip = super().render_line(y)
        if not any(_CONTROL.search(seg.text) for seg in strip if not seg.control):
            return strip
        from rich.segment import Segment
        from textual.strip import Strip

        safe = Strip([Segment(_CONTROL.sub(_picture, seg.text), seg.style) for seg in strip if not seg.control])
        return safe.crop(0, self.size.width)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.post_message(ArtifactEdited(self.artifact_id))
