"""Small numerical helpers shared by methods and metrics (one definition each)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def safe_divide(a: jax.Array, b: jax.Array, fill: float = 0.0) -> jax.Array:
    """``a / b`` element-wise, and ``fill`` where ``b == 0`` (no NaN, and no NaN in its gradient)."""
    nonzero = b != 0
    return jnp.where(nonzero, a / jnp.where(nonzero, b, 1.0), fill)
