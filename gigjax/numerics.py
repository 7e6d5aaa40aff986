"""Small numerical helpers shared by methods and metrics (one definition each), and the abstract type
of an array that the caches of traces key on."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def safe_divide(a: jax.Array, b: jax.Array, fill: float = 0.0) -> jax.Array:
    """``a / b`` element-wise, and ``fill`` where ``b == 0`` (no NaN, and no NaN in its gradient)."""
    nonzero = b != 0
    return jnp.where(nonzero, a / jnp.where(nonzero, b, 1.0), fill)


def abstract_type(leaf) -> jax.ShapeDtypeStruct:
    """Shape, dtype and weak type of an array, tracer or ``jax.ShapeDtypeStruct`` (hashable): all a
    trace depends on of an array argument."""
    if isinstance(leaf, jax.ShapeDtypeStruct):
        return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, weak_type=leaf.weak_type)
    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, weak_type=bool(getattr(jax.typeof(leaf), "weak_type", False)))
