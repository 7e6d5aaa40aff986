"""``gigjax methods``: the registered methods and their options (the text of ``gigjax.describe``)."""

from __future__ import annotations

import argparse

from gigjax.options import POSTPROCESSING
from gigjax.registry import available_methods, describe

HELP = "list the explanation methods and their options with defaults and choices (flags: --max-dist for max_dist, ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show one method only, with the post-processing options")


def run(args: argparse.Namespace) -> int:
    if args.name:
        print(describe(args.name))
        return 0
    for name in available_methods():
        description = describe(name)
        print(f"{name:22s} {description.summary}")
        for option, declared in description.options.items():
            print(f"{'':22s}   {option} = {declared.describe()}")
    print("\npost-processing options (all methods; `gigjax methods NAME` shows a method's own defaults):")
    for option, declared in POSTPROCESSING.items():
        print(f"  {option} = {declared.describe()}")
    return 0
