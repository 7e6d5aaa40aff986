"""Declared options: every option of every method, and the post-processing options, stated once.

An :class:`Option` holds everything there is to know about one keyword option — its default, its
choices or validator, a one-line doc, whether it may be an array, how a command-line flag parses it
and a cheap value for smoke runs. :class:`gigjax.registry.Method` declares a method's options as a
``{name: Option}`` mapping; :func:`bind` validates given values against such a mapping. Everything
else reads these declarations: ``gigjax.explainer``/``explain`` (validation, before tracing),
``gigjax.describe``, ``gigjax methods`` and the flags of ``gigjax explain``/``evaluate``. The metric
table declares the evaluation settings its rows read as Options too (see :mod:`gigjax.metrics.table`).

Options that several methods share are defined here once (:data:`STEPS`, :data:`BASELINE`, ...); a
method that needs another default writes ``STEPS.but(default=200)``. An option of one part is declared
in that part's module, beside the code it parameterises and whose defaults it gives: the Guided IG
path's (:mod:`gigjax.paths.guided`), the straight path's quadrature (:mod:`gigjax.paths.straight`),
a method's own (e.g. :mod:`gigjax.methods.integrated`). :data:`POSTPROCESSING` is the
table of the options every method takes (applied by :mod:`gigjax.explain`); a method may declare one
of them among its own options to change its default (GIG-CAM(F) declares ``scales=(1, 2)``).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable, Mapping


from gigjax.baselines import NAMED as BASELINE_NAMES, check_baseline
from gigjax.errors import GigjaxError
from gigjax.fusion import FUSIONS, check_scales
from gigjax.smoothing import KINDS as SMOOTHING_KINDS, check_key, check_sigma
from gigjax.tokens import check_reshape
from gigjax.validation import check_bool, check_choice, check_positive_int


@dataclasses.dataclass(frozen=True)
class Option:
    """One keyword option.

    Attributes:
      default: the value used when the option is not given.
      doc: one line for ``describe``/``--help``.
      choices: the allowed values, or ``None``.
      check: ``(value, name) → value``: validates (raising :class:`GigjaxError`) and normalises a
        given value; runs after the ``choices`` test. ``None``: any value.
      array: the value may be an array; it is then passed to the compiled function as an argument
        instead of being compiled in as a constant.
      parse: ``text → value`` for the command-line flag (default: by the type of ``default``).
      quick: a cheap value for smoke runs (tests, ``--quick`` benchmarks), or ``None``.
      cli: whether commands get a flag for it.
      flags: extra spellings of its command-line flag (e.g. ``("--step",)``).
      affects_results: False for a value that only trades memory for speed (an evaluation setting
        with False stays out of the run identity, see :class:`gigjax.evaluation.Settings`).
    """

    default: Any
    doc: str
    choices: tuple | None = None
    check: Callable[[Any, str], Any] | None = None
    array: bool = False
    parse: Callable[[str], Any] | None = None
    quick: Any = None
    cli: bool = True
    flags: tuple[str, ...] = ()
    affects_results: bool = True

    def but(self, **changes: Any) -> "Option":
        """This option with some fields changed, e.g. ``STEPS.but(default=200)``."""
        return dataclasses.replace(self, **changes)

    def validate(self, value: Any, name: str) -> Any:
        """The normalised ``value``; raises :class:`GigjaxError` naming ``name`` when it is invalid."""
        if self.choices is not None and not (self.array and _is_array(value)):
            check_choice(value, name, self.choices)
        return self.check(value, name) if self.check is not None else value

    def describe(self) -> str:
        """``"default 50; one of 'a', 'b'. doc"`` — the text of ``describe`` and ``--help``."""
        text = f"default {self.default!r}"
        if self.choices is not None:
            text += f"; one of {', '.join(map(repr, self.choices))}"
        return f"{text}. {self.doc}"


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def bind(declared: Mapping[str, Option], given: Mapping[str, Any], owner: str,
         check: Callable[[dict], dict] | None = None) -> dict:
    """The defaults of ``declared`` overlaid with the validated ``given`` values.

    ``owner`` names what takes the options in messages (``"method 'gigcam'"``); ``check`` validates
    combinations of options (``dict → dict``). Unknown names and bad values raise ``GigjaxError``.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise GigjaxError(f"{owner} has no option(s) {', '.join(unknown)} (options: {known})")
    out = {name: option.default for name, option in declared.items()}
    for name, value in given.items():
        out[name] = declared[name].validate(value, name)
    return check(out) if check is not None else out


# -- command-line parsing of values --------------------------------------------------------------
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
    """'a, b' → ('a', 'b')."""
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    if not parts:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return parts


def number_or_name(text: str) -> float | str:
    """'0.5' → 0.5; 'black' → 'black'."""
    try:
        return float(text)
    except ValueError:
        return text


# -- validators ------------------------------------------------------------------------------------
def _layer(value: Any, name: str) -> str | tuple[str, ...] | None:
    """None, a layer path, or a non-empty sequence of layer paths."""
    if value is None or (isinstance(value, str) and value):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise GigjaxError(f"{name} must be a layer path or a sequence of layer paths, e.g. 'features' or "
                      f"['conv2', 'features'], got {value!r}")


def _size(value: Any, name: str) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        h, w = value
    except (TypeError, ValueError):
        raise GigjaxError(f"{name} must be (H, W), got {value!r}") from None
    return check_positive_int(h, name), check_positive_int(w, name)


def _scales(value: Any, name: str) -> tuple[float, ...] | None:
    return None if value is None else check_scales(value)


# -- the post-processing options every method takes (gigjax.explain applies them) ------------------
POSTPROCESSING: dict[str, Option] = {
    "layer": Option(None, "layer path(s) to explain, several fused by `fuse`; None: the model card's CAM layer "
                          "(methods that work on layers only)", check=_layer, parse=name_list),
    "fuse": Option("mean", "how several layers' maps are fused (mean: pytorch-grad-cam; max: LayerCAM)",
                   choices=("mean", "max")),
    "relu": Option(True, "ReLU on the raw map(s)", check=check_bool),
    "normalize": Option(True, "per-image min-max normalisation to [0, 1]", check=check_bool),
    "output_size": Option(None, "(H, W) of the result; None: the input's size", check=_size, cli=False),
    "raw": Option(False, "the method's raw map: no ReLU, no normalisation, native resolution, one layer",
                  check=check_bool, cli=False),
    "scales": Option(None, "multi-scale pyramid, e.g. 1,2 (any method; see gigjax.fusion)", check=_scales,
                     parse=number_list),
    "reshape": Option(None, "turns the layers' outputs into (B, h, w, K) maps, e.g. gigjax.tokens_to_grid(skip=1) "
                            "for ViT tokens; None: the model card's per-layer reshape (see gigjax.tokens)",
                      check=lambda value, name: check_reshape(value, name), cli=False),
    "fusion": Option("geometric", "how the scales of the pyramid are fused (spec §5): geometric "
                                  "N(sqrt(M_r R)), product N(M_r R), mean N((M_r + R)/2)", choices=tuple(FUSIONS)),
    "smooth": Option(None, "noise smoothing of the raw map: smoothgrad (mean), squaregrad (mean of squares), "
                           "vargrad (variance); None: off (see gigjax.smoothing)", choices=(None, *SMOOTHING_KINDS)),
    "smooth_samples": Option(25, "noisy copies averaged by `smooth`", check=check_positive_int, quick=2),
    "smooth_sigma": Option(0.15, "noise std of `smooth` as a fraction of each image's value range (PAIR's "
                                 "stdev_spread)", check=check_sigma),
    "key": Option(None, "jax.random key (or int seed) of the smoothing noise; None: seed 0", check=check_key,
                  array=True, parse=int),
    "aug_smooth": Option(False, "average the maps of the input and its horizontal flip at multiplications "
                                "0.9, 1, 1.1 (pytorch-grad-cam; see gigjax.augmentation)", check=check_bool),
    "eigen_smooth": Option(False, "CAM methods: first principal component of the weighted activations "
                                  "instead of their channel sum (pytorch-grad-cam)", check=check_bool),
}

# -- options shared by several methods -------------------------------------------------------------
STEPS = Option(50, "path steps T (model passes per image)", check=check_positive_int, quick=3)
BASELINE = Option("black", f"path baseline x': {' or '.join(map(repr, BASELINE_NAMES))}, a number or an "
                           f"array in normalised space (see gigjax.baselines)",
                  check=lambda value, name: check_baseline(value), array=True, parse=number_or_name)
PATH_BATCH = Option(16, "straight-path steps evaluated together (memory grows with it)", check=check_positive_int)
CHANNEL_REDUCE = Option("sum", "input attribution → map: signed sum over channels, or sum of |.|",
                        choices=("sum", "abs_sum"))
CHUNK = Option(32, "masked or ablated forward passes evaluated together (memory grows with it)",
               check=check_positive_int, quick=8)
