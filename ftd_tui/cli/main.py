"""`ftd` entry point: the arguments are parsed before anything heavy is imported (`ftd --help`
and `ftd check` never load Textual or litellm), the command's module is imported only when it
runs, and every failure leaves by one route: a CommandError is one `ftd: …` line and its exit
code; anything else is a fault of ftd's, one plain line and a redacted crash report."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Callable

from .errors import EXIT_INTERNAL, EXIT_OK, EXIT_CANCELLED, CommandError

SUBCOMMANDS = ("check", "status", "tokens", "models", "critique", "baseline", "calibrate", "decide", "runs", "doctor",
               "trust", "new", "schema", "get", "set", "locate", "prompts")


def _command(module: str, function: str | None = None) -> Callable[[object], int]:
    """The command ``cmd_<module>`` (or ``function``) of ``ftd_tui.cli.<module>``, imported when it runs."""

    def run(args) -> int:
        return getattr(import_module(f"{__package__}.{module}"), function or f"cmd_{module}")(args)

    run.__name__ = function or f"cmd_{module}"
    return run


COMMANDS: dict[str, Callable[[object], int]] = {
    "check": _command("check"), "status": _command("status"), "tokens": _command("tokens"),
    "models": _command("models"), "critique": _command("critique"), "baseline": _command("baseline"),
    "calibrate": _command("calibrate"), "decide": _command("decide"), "runs": _command("runs"),
    "doctor": _command("doctor"), "trust": _command("trust"), "new": _command("new"), "schema": _command("schema"),
    "get": _command("set", "cmd_get"), "set": _command("set"), "locate": _command("locate"),
    "prompts": _command("prompts")}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS or (argv and argv[0] in ("-h", "--help", "--version")):
            from .parser import build_parser

            args = build_parser().parse_args(argv)
            if args.version:
                from .. import __version__

                print(f"ftd {__version__}")
                return EXIT_OK
            if args.command is None:
                build_parser().print_help()
                return EXIT_OK
            return COMMANDS[args.command](args)
        from .app import run_app

        return run_app(argv)
    except CommandError as exc:
        print(f"ftd: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_CANCELLED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug of ftd's: one plain line, the redacted traceback in a file
        return _crashed(exc, argv)


def _crashed(exc: BaseException, argv: list[str]) -> int:
    from ..core.text.redact import redact, write_crash_report
    from ..core.text.textsafe import clean_line
    from ..core.user.dirs import state_dir

    try:
        where = f"details (redacted) in {write_crash_report(exc, state_dir() / 'crashes', argv)}"
    except OSError as err:
        where = f"the crash report could not be written ({err.strerror or err})"
    print(redact(clean_line(f"ftd: internal error ({type(exc).__name__}); {where}")), file=sys.stderr)
    return EXIT_INTERNAL
