"""The command line: `main` parses and dispatches (main.py), `parser` holds every command's
arguments, `errors` the one CommandError and the exit codes, `output` the printing helpers, and
each command lives in its own module (check.py, baseline.py, …), a thin shell over core and
services (the app offers the same features through the same calls)."""

from .main import COMMANDS, main

__all__ = ["COMMANDS", "main"]
