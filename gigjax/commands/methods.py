"""``gigjax methods``: the registered methods and their options."""

from __future__ import annotations

import argparse

from gigjax.registry import available_methods, get_method

HELP = "list the explanation methods and their options (flags: --max-dist for max_dist, ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show one method only")


def run(args: argparse.Namespace) -> int:
    names = [get_method(args.name).name] if args.name else available_methods()
    for name in names:
        method = get_method(name)
        print(f"{name:22s} {method.summary}")
        for option, default in method.options.items():
            print(f"{'':22s}   {option} = {default!r}")
    return 0
