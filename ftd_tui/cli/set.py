"""`ftd get FILE PATH` and `ftd set FILE PATH VALUE`: one value read or changed, nothing else in the file touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import EXIT_FINDINGS, EXIT_OK, CommandError


def _open_yaml(file_arg: str):
    from ..core.project.storage import FileStamp
    from ..core.text.yamldoc import YamlDocument, YamlError

    from ..core.project.boundary import FileRefused, read_regular

    path = Path(file_arg)
    if not os.path.lexists(path):
        raise CommandError(f"{file_arg}: no such file")
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise CommandError(f"{file_arg}: get and set work on YAML files")
    try:  # a regular file, capped while reading: a FIFO, a device or a mode-000 file is a message
        data = read_regular(path)
        stamp = FileStamp.of(path, data)
    except FileRefused as exc:
        raise CommandError(f"{file_arg}:1:1: {exc.rule} {exc.message}" + (f" ({exc.hint})" if exc.hint else "")) from None
    except OSError as exc:
        raise CommandError(f"{file_arg}: cannot be read: {exc.strerror or exc}") from None
    try:
        doc = YamlDocument.from_bytes(data, path=str(path))
        doc.data  # noqa: B018
    except YamlError as exc:
        raise CommandError(f"{file_arg}:{exc.line}:{exc.column}: {exc.rule} {exc.message}") from None
    return path, doc, stamp


def cmd_get(args) -> int:
    from ..core.text.textsafe import clean
    from ..core.text.yamlpath import PathSyntaxError, parse_path

    _, doc, _ = _open_yaml(args.file)
    try:
        value = doc.get(parse_path(args.path))
    except PathSyntaxError as exc:
        raise CommandError(f"bad path: {exc}") from None
    except KeyError as exc:
        raise CommandError(f"{args.file}: no value at {exc.args[0]}", EXIT_FINDINGS) from None
    if isinstance(value, (dict, list)):
        print(clean(json.dumps(value, indent=2, ensure_ascii=False, default=str)))
    elif value is None:
        print("null")
    elif isinstance(value, bool):
        print("true" if value else "false")
    else:
        print(clean(str(value)))
    return EXIT_OK


def _refuse_key(file_arg: str, target, value, *, parsed: bool) -> None:
    """A key pasted as a VALUE would land in a file that travels through git: refuse it, exit 1,
    nothing written, and never echo it. Also any api_key_env that is not a variable name
    (SET004's rule), at the path or inside a mapping VALUE."""
    from ..core.user.providers import is_env_name
    from ..core.text.redact import looks_like_key
    from ..core.text.yamlpath import format_path

    def bad_env(path: tuple, v) -> bool:
        if isinstance(v, dict):
            return any(bad_env(path + (k,), x) for k, x in v.items())
        if isinstance(v, list):
            return any(bad_env(path + (i,), x) for i, x in enumerate(v))
        return bool(path) and path[-1] == "api_key_env" and v is not None and not (isinstance(v, str) and is_env_name(v))

    where = format_path(tuple(target))
    where = "that path" if looks_like_key(where) else where
    if isinstance(value, str) and looks_like_key(value):
        raise CommandError(f"{file_arg}: refused: the value for {where} looks like a key (not shown); nothing written. "
                       "Keys belong in the environment (export OPENAI_API_KEY=…); ftd.yaml names the variable "
                       "(api_key_env: OPENAI_API_KEY)", EXIT_FINDINGS)
    if parsed and bad_env(tuple(target), value):
        raise CommandError(f"{file_arg}: refused: api_key_env must be the NAME of an environment variable (letters, "
                       f"digits, _); the value given for {where} is not one and is not shown; nothing written",
                       EXIT_FINDINGS)


def cmd_set(args) -> int:
    """The whole read, edit and save under the folder's lock (ftd's own writers take turns): two
    `ftd set` on one file both land, one after the other, or one says why it wrote nothing."""
    from ..core.project.storage import ConflictError, folder_lock

    try:
        with folder_lock(Path(args.file)):
            return _set_locked(args)
    except ConflictError as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None


def _set_locked(args) -> int:
    from ..core.project.storage import ConflictError, ReadOnlyError, save_atomic
    from ..core.text.yamldoc import EditError, YamlDocument, YamlError
    from ..core.text.yamlpath import PathSyntaxError, format_path, parse_path

    path, doc, stamp = _open_yaml(args.file)
    try:
        target = parse_path(args.path)
    except PathSyntaxError as exc:
        raise CommandError(f"bad path: {exc}") from None
    _refuse_key(args.file, target, args.value, parsed=False)  # before parsing: a YAML error could quote it
    try:
        value = YamlDocument(args.value).data if args.value.strip() else ""
    except YamlError as exc:
        raise CommandError(f"VALUE is not a YAML scalar or flow value: {exc.message} (column {exc.column})") from None
    _refuse_key(args.file, target, value, parsed=True)
    try:
        new = doc.set(target, value, create=args.create)
    except KeyError as exc:
        raise CommandError(f"{args.file}: no value at {exc.args[0]} (add --create to create it)", EXIT_FINDINGS) from None
    except EditError as exc:
        raise CommandError(f"{args.file}: {exc}", EXIT_FINDINGS) from None
    if new.text == doc.text:
        print(f"{args.file}: {format_path(target)} already has that value; nothing written")
        return EXIT_OK
    try:
        save_atomic(path, new.to_bytes(), stamp, replace_readonly=getattr(args, "force", False))
    except ConflictError as exc:
        raise CommandError(str(exc), EXIT_FINDINGS) from None
    except ReadOnlyError as exc:
        raise CommandError(f"{exc} (add --force to replace it anyway)", EXIT_FINDINGS) from None
    except PermissionError:  # a read-only folder: the temp file beside the target cannot be made
        raise CommandError(f"{args.file}: cannot be written: permission denied in its folder {path.parent}/ "
                       "(a save writes a temp file there, then renames it)") from None
    except OSError as exc:
        raise CommandError(f"{args.file}: cannot be written: {exc.strerror or exc}") from None
    line = new.position(target)[0]
    print(f"{args.file}:{line}: set {format_path(target)}")
    return EXIT_OK
