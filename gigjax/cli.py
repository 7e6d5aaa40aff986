"""The ``gigjax`` command: a dispatcher over subcommands.

Each subcommand lives in ``gigjax/commands/<name>.py`` and exposes ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Bad input (unreadable image, unknown model,
method, layer or class, a wrong or damaged weight file, a missing dataset) ends in one
``gigjax: error: …`` line on stderr and exit status 2, never a traceback (set ``GIGJAX_DEBUG=1`` to
see one).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from gigjax import compile_cache

SUBCOMMANDS = ("explain", "methods", "models", "evaluate", "finetune")


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
    except (ValueError, OSError) as exc:  # GigjaxError, CheckpointError, WeightMismatchError are ValueErrors
        if os.environ.get("GIGJAX_DEBUG"):
            raise
        print(f"gigjax: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
