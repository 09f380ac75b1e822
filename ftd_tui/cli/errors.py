"""The one error a command raises and the exit codes every command returns. main() is the one
place that turns a CommandError into `ftd: MESSAGE` on stderr and its exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # the project has errors, or the command could not do what was asked of it
EXIT_UNREADABLE = 2  # the project or a file could not be read, or the arguments make no sense
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: not a finding about the project, a fault in ftd
EXIT_CANCELLED = 130  # ctrl+c (or the app's cancel): what finished is kept


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_UNREADABLE):
        super().__init__(message)
        self.code = code
