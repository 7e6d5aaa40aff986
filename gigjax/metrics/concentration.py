"""How concentrated an explanation is, from the map alone (Quantus 0.6 "complexity" metrics; spec §12).

* **Sparseness** (Chalasani et al. 2020; Quantus ``Sparseness``): the Gini index of |map|,
  ``Σ_i (2i − n − 1) a_(i) / (n Σ_i a_(i))`` over the n pixels sorted ascending, after Quantus's
  preprocessing (``a = |map| / max |map| + 1e-7``). 0 for a uniform map, → 1 for a single pixel;
  higher is better (sparser).
* **Complexity** (Bhatt et al. 2020; Quantus ``Complexity``): the entropy of the fractional
  contributions ``p = |map| / Σ |map|``, ``−Σ p log(p + 1e-12)`` (nats), after the same max
  normalisation. log n for a uniform map, 0 for a single pixel; lower is better.

Both take (B, H, W) maps and return (B,) float32; a blank map gives the uniform-map value for
sparseness (the epsilon makes it uniform) and 0 for complexity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.numerics import safe_divide


def _magnitudes(maps: jax.Array) -> jax.Array:
    """(B, H, W) → (B, H·W) float32 ``|map| / max |map|`` (Quantus's ``abs`` + ``normalise_by_max``)."""
    a = jnp.abs(maps.reshape(maps.shape[0], -1).astype(jnp.float32))
    return safe_divide(a, jnp.max(a, axis=1, keepdims=True))


def sparseness(maps: jax.Array) -> jax.Array:
    """(B, H, W) maps → (B,) Gini index of |map| (see the module docstring)."""
    a = jnp.sort(_magnitudes(maps) + 1e-7, axis=1)
    n = a.shape[1]
    rank = jnp.arange(1, n + 1, dtype=jnp.float32)
    return jnp.sum((2 * rank - n - 1) * a, axis=1) / (n * jnp.sum(a, axis=1))


def complexity(maps: jax.Array) -> jax.Array:
    """(B, H, W) maps → (B,) entropy (nats) of ``|map| / Σ |map|`` (see the module docstring)."""
    a = _magnitudes(maps)
    p = safe_divide(a, jnp.sum(a, axis=1, keepdims=True))
    return -jnp.sum(p * jnp.log(p + 1e-12), axis=1)
