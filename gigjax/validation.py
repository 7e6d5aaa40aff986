"""Checks at the API boundary, so bad input fails with a message instead of deep inside XLA."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds values (not a tracer inside ``jit``/``vmap``/``grad``)."""
    return not isinstance(x, jax.core.Tracer)


def check_images(x: Any, name: str = "x") -> jax.Array:
    """Validates a normalised (B, H, W, C) float batch; returns it as a ``jax.Array``.

    Raises ``GigjaxError`` for a wrong rank, an integer dtype (pass photos through
    ``model.preprocess``), an empty batch, or NaN/Inf values (checked when ``x`` is concrete).
    """
    shape = getattr(x, "shape", None)
    if shape is None:
        raise GigjaxError(f"{name} must be an array of shape (B, H, W, C), got {type(x).__name__}")
    if len(shape) != 4:
        hint = " (add a batch axis: x[None])" if len(shape) == 3 else ""
        raise GigjaxError(f"{name} must have shape (B, H, W, C), got {tuple(shape)}{hint}")
    dtype = np.dtype(getattr(x, "dtype", np.float32))
    if not jnp.issubdtype(dtype, jnp.floating):  # jnp: bfloat16 counts as a float
        raise GigjaxError(f"{name} must be a float array normalised for the model, got dtype {dtype}; "
                          f"use model.preprocess(images) for uint8 photos")
    if shape[0] == 0:
        raise GigjaxError(f"{name} is an empty batch")
    if is_concrete(x) and not bool(jnp.all(jnp.isfinite(x))):
        raise GigjaxError(f"{name} contains NaN or Inf values")
    return jnp.asarray(x)


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GigjaxError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def as_number(value: Any, name: str) -> float:
    """``float(value)``, or a GigjaxError naming ``name`` when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GigjaxError(f"{name} must be a number, got {value!r}") from None


def check_number(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite number ≥ 0 (> 0 when ``positive``) as a float, or a GigjaxError naming ``name``."""
    v = as_number(value, name)
    if isinstance(value, bool) or not np.isfinite(v) or v < 0 or (positive and v == 0):
        raise GigjaxError(f"{name} must be a finite number {'> 0' if positive else '≥ 0'}, got {value!r}")
    return v


def check_positive_number(value: Any, name: str) -> float:
    """A finite number > 0 as a float, or a GigjaxError naming ``name``."""
    try:
        return check_number(value, name, positive=True)
    except GigjaxError:
        raise GigjaxError(f"{name} must be a positive number, got {value!r}") from None


def check_int(value: Any, name: str) -> int:
    """An integer (not a bool), or a GigjaxError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise GigjaxError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """True or False (a numpy bool too) as a bool, or a GigjaxError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise GigjaxError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_fraction(value: Any, name: str, *, low_open: bool = True) -> float:
    """A number in (0, 1] (or [0, 1] when ``low_open`` is False)."""
    v = as_number(value, name)
    if not np.isfinite(v) or v > 1 or v < 0 or (low_open and v == 0):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise GigjaxError(f"{name} must lie in {interval}, got {value!r}")
    return v


def check_choice(value: Any, name: str, choices) -> Any:
    if value not in choices:
        raise GigjaxError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
