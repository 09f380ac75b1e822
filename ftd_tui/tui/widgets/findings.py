"""The findings of the open artifact: severity, line:column, rule id, message and hint; Enter
jumps to the line. A file with thousands of findings shows its first ones and a count."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ...core.text.textsafe import clean_line

SEVERITY_MARK = {"error": ("✗ error", "bold red"), "warning": ("! warn ", "yellow"), "info": ("i info ", "cyan")}


class FindingsPane(OptionList):
    HELP_PANE = "the findings"
    HELP_ROWS = [("↑ ↓", "choose a finding", ""), ("Enter", "jump to its line in the editor", "")]

    def __init__(self, *, id: str = "diagnostics") -> None:
        super().__init__(id=id)
        self.shown: list = []  # the findings behind the options, in order: finding-<i> is shown[i]

    def show(self, diagnostics: list, rel: str) -> None:
        """The findings of one file (``rel``), keeping the highlighted row where it was."""
        from ...core.rules.diagnostics import more_findings, per_file_shown

        found = [d for d in diagnostics if d.file == rel]
        index = self.highlighted
        # a file with 50,000 findings renders its first ones and a count, not 50,000 options
        shown, hidden = per_file_shown(found)
        self.shown = shown
        self.border_title = Text(f"{len(found):,} finding(s) · {clean_line(rel)}")
        options = []
        for i, d in enumerate(shown):
            word, style = SEVERITY_MARK[d.severity]
            label = Text()
            label.append(word, style=style)
            label.append(f" {d.line}:{d.column} {d.rule} ", style="dim")
            label.append(clean_line(d.message))
            if d.hint:
                label.append("\n        " + clean_line(d.hint), style="dim")
            options.append(Option(label, id=f"finding-{i}"))
        if hidden.get(rel):
            options.append(Option(Text(more_findings(hidden[rel], "fix these first, or run ftd check --all"), style="dim"),
                                  id="more", disabled=True))
        if not options:
            options.append(Option(Text("no findings", style="green"), id="none", disabled=True))
        self.clear_options()
        self.add_options(options)
        if index is not None and index < len(shown):
            self.highlighted = index

    def finding(self, option_id: str | None):
        """The finding behind an option, or None for the count and "no findings" rows."""
        if not (option_id or "").startswith("finding-"):
            return None
        return self.shown[int(option_id.removeprefix("finding-"))]

    def texts(self) -> list[str]:
        return [str(self.get_option_at_index(i).prompt) for i in range(self.option_count)]
