"""Baselines x' of path methods (IG, Guided IG, Integrated Grad-CAM, GIG-CAM).

A baseline is given as

* ``"black"`` (the default): pixel value 0 before normalisation, ``model.black()`` = (0 − mean)/std
  per channel — not 0 in a normalised pipeline (spec §3);
* ``"zero"``: 0 in the model's normalised input space (PAIR-code/saliency's and the official
  Integrated Grad-CAM code's default, which is mid-grey for ImageNet normalisation);
* a number: that constant value in normalised space;
* an array in normalised space broadcastable to the batch: (C,), (H, W, C), (1, H, W, C) or (B, H, W, C).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.validation import is_concrete

NAMED = ("black", "zero")


def check_baseline(value: Any) -> Any:
    """Validates a baseline option before anything runs (its shape is checked against x later)."""
    if isinstance(value, str):
        if value not in NAMED:
            raise GigjaxError(f"baseline must be one of {', '.join(map(repr, NAMED))} or an array, got {value!r}")
        return value
    if isinstance(value, bool):
        raise GigjaxError(f"baseline must be 'black', 'zero', a number or an array, got {value!r}")
    if isinstance(value, (int, float, np.number)):
        if not np.isfinite(value):
            raise GigjaxError(f"baseline must be finite, got {value!r}")
        return float(value)
    shape = getattr(value, "shape", None)
    if shape is None:
        try:
            value = np.asarray(value, np.float32)
        except (TypeError, ValueError):
            raise GigjaxError(f"baseline must be 'black', 'zero', a number or an array, got {value!r}") from None
        shape = value.shape
    if len(shape) not in (0, 1, 3, 4):
        raise GigjaxError(f"baseline must have shape (C,), (H, W, C) or (B, H, W, C), got {tuple(shape)}")
    if not np.issubdtype(np.dtype(value.dtype), np.floating) and not np.issubdtype(np.dtype(value.dtype), np.integer):
        raise GigjaxError(f"baseline must be a numeric array, got dtype {value.dtype}")
    if is_concrete(value) and not bool(jnp.all(jnp.isfinite(jnp.asarray(value)))):
        raise GigjaxError("baseline contains NaN or Inf values")
    return value


def baseline_for(model: Any, x: jax.Array, baseline: Any = "black") -> jax.Array:
    """The (B, H, W, C) baseline batch for the normalised inputs ``x`` and a baseline validated by
    :func:`check_baseline` (the ``baseline`` option does that at the API boundary); raises on a
    shape mismatch."""
    if isinstance(baseline, str):
        value = model.black() if baseline == "black" else jnp.zeros((), x.dtype)
    else:
        value = jnp.asarray(baseline, x.dtype)
        ok = {0: True, 1: value.shape == x.shape[-1:], 3: value.shape == x.shape[1:],
              4: value.shape[1:] == x.shape[1:] and value.shape[0] in (1, x.shape[0])}[value.ndim]
        if not ok:
            raise GigjaxError(f"baseline of shape {tuple(value.shape)} does not fit inputs of shape "
                              f"{tuple(x.shape)}: give (C,), (H, W, C), (1, H, W, C) or (B, H, W, C)")
    return jnp.broadcast_to(jnp.asarray(value, x.dtype), x.shape)
