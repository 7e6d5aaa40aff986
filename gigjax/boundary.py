"""The checks of one explainer call, made once at the API boundary (``gigjax.explainer``/``explain``
and the public attribution functions), so every method receives validated input only.

* :func:`check_call` — the model, the (B, H, W, C) batch and the targets;
* :func:`check_layers` — the probed layers resolved, and the input large enough for them: every
  layer of the network keeps a non-empty output and every probed layer a map of at least 2×2 (a 1×1
  map carries no localisation: it is blank after normalisation).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.fusion import scaled_size
from gigjax import models
from gigjax.models import Model
from gigjax.probe import list_layers, resolve_layers
from gigjax.targets import Targets, check_targets
from gigjax.validation import check_images

MIN_MAP = 2
"""Smallest height and width of a probed layer's map: a 1×1 map is constant (blank once normalised)."""


def check_model(model: Any) -> Model:
    models.model.check_model(model)  # names what was given and the constructor that wraps it
    return model


def check_call(model: Any, x: Any, targets: Targets) -> tuple[jax.Array, Targets]:
    """(validated x, normalised targets) of one call; raises :class:`GigjaxError` for bad input."""
    x = check_images(x)
    check_model(model)
    return x, check_targets(targets, x.shape[0], model.card.num_classes or None)  # 0: not a classifier


def _spatial(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    return tuple(shape[1:3]) if len(shape) == 4 else None


def _shapes(model: Model, size: tuple[int, int]) -> dict[str, tuple[int, ...]]:
    return list_layers(model, jax.ShapeDtypeStruct((1, *size, model.card.channels), jnp.float32))


def _problem(model: Model, layers: tuple[str, ...], size: tuple[int, int]) -> str | None:
    """Why an input of ``size`` is too small for ``model`` and ``layers``, or ``None``."""
    shapes = _shapes(model, size)
    for name, shape in shapes.items():
        hw = _spatial(shape)
        if hw is not None and min(hw) < 1:
            return f"layer {name!r} of {model.card.name} has an empty output {tuple(shape)}"
    for name in layers:
        hw = _spatial(shapes.get(name, ()))
        if hw is not None and min(hw) < MIN_MAP:
            return f"the probed layer {name!r} is {hw[0]}×{hw[1]}, a map without localisation"
    return None


def _minimum_size(model: Model, layers: tuple[str, ...]) -> int | None:
    """The smallest square input side that passes :func:`_problem` (``None`` if even the card's input
    size fails). First guess from the probed layers' strides at the card's size (verified on both
    sides), else bisection; a few shape-only traces, on the error path only."""
    high = max(model.card.input_size)
    if _problem(model, layers, (high, high)) is not None:
        return None
    shapes = _shapes(model, (high, high))
    strides = [math.ceil(high / min(_spatial(shapes[l]))) for l in layers if _spatial(shapes.get(l, ()))]
    guess = max(strides) * (MIN_MAP - 1) + 1 if strides else 0
    if 1 < guess <= high and not _problem(model, layers, (guess, guess)) \
            and _problem(model, layers, (guess - 1, guess - 1)):
        return guess
    low = 1
    while low < high:
        mid = (low + high) // 2
        low, high = (mid + 1, high) if _problem(model, layers, (mid, mid)) else (low, mid)
    return high


def check_input_size(model: Model, layers: tuple[str, ...], size: tuple[int, int], what: str | None = None) -> None:
    """Raises :class:`GigjaxError` when an input of ``size`` (H, W) is too small for ``model`` and the
    probed ``layers``, naming the minimum input size; ``what`` names the input in the message."""
    problem = _problem(model, layers, tuple(size))
    if problem is None:
        return
    minimum = _minimum_size(model, layers)
    need = f"; give inputs of at least {minimum}×{minimum}" if minimum else ""
    what = what or f"an input of {size[0]}×{size[1]}"
    raise GigjaxError(f"{what} is too small for {model.card.name}: {problem}{need}")


def check_layers(model: Model, layer: str | Sequence[str] | None, x: jax.Array, uses_layers: bool,
                 scales: Sequence[float] = ()) -> tuple[str, ...]:
    """The resolved layers (``()`` for input-space methods), after checking that ``x``, and ``x``
    resized by each of the pyramid's ``scales``, are large enough for them."""
    layers = resolve_layers(model, layer, x) if uses_layers else ()
    h, w = x.shape[1:3]
    smallest = min(scales or (1.0,))
    if smallest < 1:
        small = scaled_size((h, w), smallest)
        check_input_size(model, layers, small, f"the {h}×{w} input at scale {smallest:g} ({small[0]}×{small[1]})")
    else:
        check_input_size(model, layers, (h, w))
    return layers
