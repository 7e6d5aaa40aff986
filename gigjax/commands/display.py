"""How ``gigjax explain`` draws its overlay PNGs: ``--sign``, ``--clip-percentile``, ``--cmap``.

The choices and per-method defaults are :mod:`gigjax.plot`'s; this module only turns them into flags.
"""

from __future__ import annotations

import argparse

from gigjax import plot
from gigjax.errors import GigjaxError


def _cmap(text: str) -> str:
    try:
        return plot.check_cmap(text)
    except GigjaxError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _percentile(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 100.0:
        raise argparse.ArgumentTypeError(f"expected a percentile in (0, 100], got {text!r}")
    return value


def add_display_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("overlay PNG")
    g.add_argument("--sign", choices=plot.SIGNS, default=None,
                   help="what the overlay shows of the raw map: positive (ReLU), absolute (|map|) or all "
                        "(signed, diverging colours); default: positive, or all with --no-relu")
    g.add_argument("--clip-percentile", type=_percentile, default=None, metavar="P",
                   help="the top of the colour range is the map's P-th percentile; default: "
                        f"{plot.INPUT_PERCENTILE:g} for maps at the input's resolution (IG, Guided IG, FG-CAM, …), "
                        "100 (plain min-max) for layer CAMs")
    g.add_argument("--cmap", type=_cmap, default=None,
                   help=f"colour map: {', '.join(plot.BUILTIN_CMAPS)} or any matplotlib name when it is "
                        f"installed; default: jet, or {plot.DIVERGING} with --sign all")


def display_options(args: argparse.Namespace, method: str) -> dict:
    """The ``plot.save_overlay`` keywords (sign, percentile, cmap) for ``method``'s overlays."""
    sign = args.sign or ("positive" if args.relu else "all")
    percentile = args.clip_percentile if args.clip_percentile is not None else plot.default_percentile(method)
    return {"sign": sign, "percentile": percentile, "cmap": args.cmap or plot.default_cmap(sign)}
