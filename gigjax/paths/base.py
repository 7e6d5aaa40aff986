"""What a path hands a per-step term: :class:`PathStep`."""

from __future__ import annotations

from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class PathStep:
    """One step of a path, for a batch of B images of shape (B, *F).

    The path integral Σ_t ∂S/∂x(x_t) ⊙ Δ_t approximates ∫ ∂S/∂x · dx along the path.

    Attributes:
      point: (B, *F) the point x_t where the step's observation was taken.
      displacement: (B, *F) Δ_t, the path element the observation is integrated over: x_{t+1} − x_t
        on the Guided IG path, w_t (x − x') on a straight path with quadrature weight w_t.
      weight: () the weight of a per-step quantity that is summed rather than integrated (the
        Integrated Grad-CAM map): 1 on the Guided IG path, T·w_t on a straight path of T steps, so
        that left-Riemann weights give exactly the plain sum Σ_t of the official code.
    """

    point: jax.Array
    displacement: jax.Array
    weight: jax.Array


Observe = Callable[[jax.Array], Any]
"""``observe(points (B, *F)) → observation``: the one model evaluation of a step."""

Term = Callable[[Any, PathStep], Any]
"""``term(observation, step) → pytree`` of per-step contributions; the path sums them."""


def tree_add(a, b):
    return jax.tree_util.tree_map(jnp.add, a, b)


def tree_zeros_like(shapes):
    """Zeros for a pytree of ``ShapeDtypeStruct`` (from ``jax.eval_shape``)."""
    return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
