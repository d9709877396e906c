"""The `diffusiontalker` command line (also `python -m diffusiontalker`).

Each sub-command lives in its own module under ``diffusiontalker/commands/`` and provides
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported
only when their command runs, so ``diffusiontalker --help`` stays fast: it lists each
command's ``HELP`` read from the module's source text (:func:`command_help`), not by importing.

Exit status: 0 success; 2 a usage error (from argparse) or a user error, a
:class:`~diffusiontalker.errors.DiffusionTalkerError` printed as one line ``error: ...``
(``diffusiontalker --debug COMMAND ...`` re-raises it to show the traceback); 130 cancelled
with Ctrl-C. Anything else is a bug: its traceback is printed (status 1).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import sys
from pathlib import Path

from .errors import DiffusionTalkerError

# name -> module under diffusiontalker.commands
COMMANDS: dict[str, str] = {
    "generate": "generate",
    "identities": "identities",
    "identity": "identity",
    "synth": "synth",
    "train": "train",
    "distill": "distill",
    "distill-audio": "distill_audio",
    "evaluate": "evaluate",
    "bench": "bench",
    "demo": "demo",
    "render-docs": "render_docs",
    "export-onnx": "export_onnx",
    "worker": "worker",
    "check-speech": "check_speech",
    "capture": "capture",
    "evaluate-capture": "evaluate_capture",
}


USER_ERROR = 2  # the exit status of a DiffusionTalkerError (argparse's usage errors use 2 too)


def _load(name: str):
    try:
        return importlib.import_module(f"diffusiontalker.commands.{COMMANDS[name]}")
    except ModuleNotFoundError as exc:
        if exc.name == f"diffusiontalker.commands.{COMMANDS[name]}":
            return None
        raise


_HELP_LINE = re.compile(r"^HELP\s*=\s*(.+?)\s*$", re.MULTILINE)


def command_help(name: str) -> str | None:
    """A command's one-line ``HELP``, read from its module's source without importing it
    (which could import torch); None where the source or a one-line literal is missing."""
    source = Path(__file__).parent / "commands" / f"{COMMANDS[name]}.py"
    try:
        found = _HELP_LINE.search(source.read_text(encoding="utf-8"))
        value = ast.literal_eval(found.group(1)) if found else None
    except (OSError, ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diffusiontalker", description="Speech-driven facial animation with diffusion."
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        # Only the selected command's module is imported; the others list by name.
        module = _load(name) if name == selected else None
        if name == selected and module is None:
            continue
        p = sub.add_parser(name, help=getattr(module, "HELP", None) if module else command_help(name))
        if module is not None:
            module.add_arguments(p)
            p.set_defaults(_module=module)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None)
    if module is None:
        if args.command:
            parser.error(f"the '{args.command}' command is not available in this build")
        parser.print_help()
        return 2
    try:
        return int(module.run(args) or 0)
    except DiffusionTalkerError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
