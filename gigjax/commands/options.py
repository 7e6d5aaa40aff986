"""Command-line flags shared by the subcommands that run explainers.

Method options become flags automatically: every option of every registered method gets one flag
(``max_dist`` → ``--max-dist``; ``--opt-batch-size`` where the command already has ``--batch-size``)
typed by its default (int, float, bool → ``--x/--no-x``, tuple → a
comma-separated list, anything else → string). A flag the user did not give is not passed, so each
method keeps its own default; a flag the chosen method does not take is a clear error.
"""

from __future__ import annotations

import argparse
from typing import Any

from gigjax.errors import GigjaxError
from gigjax.registry import available_methods, get_method

# Post-processing flags handled by `gigjax.explainer` itself (not method options).
POSTPROCESS = ("layer", "fuse", "relu", "normalize", "output_size", "scales")


def number_list(text: str) -> tuple:
    """'1,2' → (1, 2); '0.5, 1' → (0.5, 1.0)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("expected a comma-separated list of numbers")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers, got {text!r}") from None
    return tuple(int(v) if v.is_integer() and "." not in p else v for v, p in zip(values, parts))


def name_list(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    if not parts:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return parts


def add_postprocess_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("post-processing (all methods)")
    g.add_argument("--layer", type=name_list, default=None,
                   help="layer path(s) to explain, comma-separated (default: the model card's CAM layer)")
    g.add_argument("--fuse", choices=("mean", "max"), default="mean", help="how several layers are fused")
    g.add_argument("--relu", action=argparse.BooleanOptionalAction, default=True, help="ReLU on raw maps")
    g.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=True,
                   help="min-max normalise maps to [0, 1]")
    g.add_argument("--scales", type=number_list, default=None,
                   help="multi-scale fusion pyramid, e.g. 1,2 (any method)")


def _flag_type(default: Any):
    if isinstance(default, bool):
        return None
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    if isinstance(default, tuple):
        return number_list if all(isinstance(v, (int, float)) for v in default) else name_list
    return str


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per method option across the registry."""
    takers: dict[str, dict[str, Any]] = {}  # option → {method: its default}
    for name in available_methods():
        for option, default in get_method(name).options.items():
            if option not in POSTPROCESS:
                takers.setdefault(option, {})[name] = default
    g = parser.add_argument_group(
        "method options (each applies to the methods listed; --opt-NAME where the command has its own --NAME)")
    for option in sorted(takers):
        by_default: dict[str, list[str]] = {}
        for method, default in takers[option].items():
            by_default.setdefault(repr(default), []).append(method)
        help_text = "; ".join(f"{', '.join(ms)}: default {d}" for d, ms in by_default.items())
        kind = _flag_type(next(iter(takers[option].values())))
        spec = dict(action=argparse.BooleanOptionalAction) if kind is None else dict(type=kind, metavar=option.upper())
        name = option.replace("_", "-")
        try:
            g.add_argument(f"--{name}", dest=f"opt_{option}", default=None, help=help_text, **spec)
        except argparse.ArgumentError:  # the command defines --NAME itself (e.g. --batch-size)
            g.add_argument(f"--opt-{name}", dest=f"opt_{option}", default=None, help=help_text, **spec)


def method_options(args: argparse.Namespace, methods: tuple[str, ...]) -> dict[str, dict]:
    """{method: the options given on the command line that it takes}. A given option that none of
    ``methods`` takes is an error (so a typo'd or misplaced flag is never silently ignored)."""
    given = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_") and v is not None}
    per_method = {m: {k: v for k, v in given.items() if k in get_method(m).options} for m in methods}
    unused = sorted(set(given) - {k for opts in per_method.values() for k in opts})
    if unused:
        flags = ", ".join("--" + u.replace("_", "-") for u in unused)
        raise GigjaxError(f"{flags} does not apply to method(s) {', '.join(methods)}")
    return per_method


def postprocess_options(args: argparse.Namespace) -> dict:
    out = {"fuse": args.fuse, "relu": args.relu, "normalize": args.normalize}
    if args.layer is not None:
        out["layer"] = args.layer if len(args.layer) > 1 else args.layer[0]
    if args.scales is not None:
        out["scales"] = args.scales
    return out
