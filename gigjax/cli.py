"""The ``gigjax`` command: a dispatcher over subcommands.

Each subcommand lives in ``gigjax/commands/<name>.py`` and exposes ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Bad input (unreadable image, unknown model,
method, layer or class, a wrong or damaged weight file, a missing dataset) ends in one
``gigjax: error: …`` line on stderr and exit status 2, never a traceback (set ``GIGJAX_DEBUG=1`` to
see one). Only the errors user input can cause are caught (:data:`USER_ERRORS`): the library turns
every decoder's error on a user's file (PIL, json, pickle, zip, numpy) into a
:class:`~gigjax.errors.GigjaxError` naming the file where it reads it, so anything else is a bug in
gigjax and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from gigjax import compile_cache
from gigjax.errors import GigjaxError

SUBCOMMANDS = ("explain", "methods", "models", "evaluate", "finetune")

USER_ERRORS = (GigjaxError, OSError, UnicodeError, MemoryError)
"""What bad input can raise: gigjax's own errors (``CheckpointError``, ``WeightMismatchError``, ...),
the operating system's (missing file, permission, full disk; ``PIL.UnidentifiedImageError`` is one), a
binary file given where a text file (class names, an image-set list) is read, and running out of memory
(too large a batch or image)."""


def _out_of_device_memory(exc: BaseException) -> bool:
    """XLA's RESOURCE_EXHAUSTED (a RuntimeError): the accelerator ran out of memory."""
    return isinstance(exc, RuntimeError) and "RESOURCE_EXHAUSTED" in str(exc)


def _message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError) or _out_of_device_memory(exc):
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return f"out of memory ({detail}): try a smaller --batch-size or smaller images"
    return str(exc)


def _available_subcommands() -> dict:
    out = {}
    for name in SUBCOMMANDS:
        try:
            out[name] = importlib.import_module(f"gigjax.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gigjax.commands.{name}":
                raise
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gigjax", description="Explain image classifiers with GIG-CAM and the CAM family (JAX).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in _available_subcommands().items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        compile_cache.add_argument(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    compile_cache.setup(args.compile_cache)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("gigjax: interrupted", file=sys.stderr)
        return 130
    except (*USER_ERRORS, RuntimeError) as exc:
        if os.environ.get("GIGJAX_DEBUG") or not (isinstance(exc, USER_ERRORS) or _out_of_device_memory(exc)):
            raise
        print(f"gigjax: error: {_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
