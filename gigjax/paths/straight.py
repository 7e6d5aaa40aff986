"""The straight-line path x' + α (x − x') with a quadrature rule (spec §3, §4).

Quadrature rules (names as in captum): ``riemann_left`` (α_j = j/T; the input itself is not
evaluated — the rule of the official Integrated Grad-CAM code), ``riemann_right`` (α_j = (j+1)/T),
``riemann_middle`` (α_j = (j+½)/T), ``riemann_trapezoid`` (T ≥ 2 nodes from 0 to 1, end weights
halved) and ``gausslegendre`` (captum's default: Gauss–Legendre nodes and weights mapped to [0, 1]).
Weights always sum to 1.

The steps are independent, so they are evaluated as one batch: ``batch_size`` steps at a time
(``vmap`` over a chunk of steps, each chunk a (batch_size·B)-image model call), chunks in a
``lax.scan`` that accumulates the sum, so memory is bounded by one chunk whatever T is.
"""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.options import Option
from gigjax.validation import check_choice, check_positive_int
from gigjax.paths.base import Observe, PathStep, Term, tree_add, tree_zeros_like

QUADRATURES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")
#: The straight path's quadrature option (the default of :func:`straight_path`).
QUADRATURE = Option("gausslegendre", "quadrature rule of the straight path (see gigjax.paths.straight)",
                    choices=QUADRATURES)


@functools.lru_cache(maxsize=64)
def quadrature(name: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes α (T,) in [0, 1] and weights w (T,) summing to 1 of a quadrature rule on [0, 1].

    Static numpy arrays (float64), so they are compiled in as constants.
    """
    check_choice(name, "quadrature", QUADRATURES)
    check_positive_int(steps, "steps")
    j = np.arange(steps, dtype=np.float64)
    uniform = np.full(steps, 1.0 / steps)
    if name == "riemann_left":
        return j / steps, uniform
    if name == "riemann_right":
        return (j + 1) / steps, uniform
    if name == "riemann_middle":
        return (j + 0.5) / steps, uniform
    if name == "riemann_trapezoid":
        if steps < 2:
            raise GigjaxError("the riemann_trapezoid quadrature needs steps >= 2")
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return j / (steps - 1), weights
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return (nodes + 1) / 2, weights / 2


def integrate(step_fn, alphas: np.ndarray, weights: np.ndarray, batch_size: int | None = None):
    """Σ_j step_fn(α_j, w_j), evaluating ``batch_size`` steps at a time (``None``: all at once).

    ``step_fn(alpha (), weight ()) → pytree`` is vmapped over each chunk of steps; the chunks run in
    a ``lax.scan`` and a last, shorter chunk takes the remainder.
    """
    alphas = jnp.asarray(alphas, jnp.float32)
    weights = jnp.asarray(weights, jnp.float32)
    steps = alphas.shape[0]
    chunk = steps if batch_size is None else min(int(batch_size), steps)
    full, rest = divmod(steps, chunk)

    def chunk_sum(a, w):
        parts = jax.vmap(step_fn)(a, w)
        return jax.tree_util.tree_map(lambda p: jnp.sum(p, axis=0), parts)

    head = full * chunk
    a_chunks = alphas[:head].reshape(full, chunk)
    w_chunks = weights[:head].reshape(full, chunk)
    if full == 1:
        total = chunk_sum(a_chunks[0], w_chunks[0])
    else:
        zeros = tree_zeros_like(jax.eval_shape(chunk_sum, a_chunks[0], w_chunks[0]))
        total, _ = jax.lax.scan(lambda acc, aw: (tree_add(acc, chunk_sum(*aw)), None), zeros,
                                (a_chunks, w_chunks))
    if rest:
        total = tree_add(total, chunk_sum(alphas[head:], weights[head:]))
    return total


def straight_path(observe: Observe, term: Term, x: jax.Array, baseline: jax.Array, *, steps: int,
                  quadrature_rule: str = QUADRATURE.default, batch_size: int | None = None):
    """Σ_j term(observe(x_j), step_j) along x_j = x' + α_j (x − x').

    Args:
      observe: the step's model evaluation on (B, *F) points (see :class:`gigjax.paths.PathStep`).
      term: the per-step contribution.
      x: (B, *F) inputs; baseline: (B, *F) baselines x'.
      steps: number of quadrature nodes T.
      quadrature_rule: one of :data:`QUADRATURES`.
      batch_size: steps evaluated together (memory ∝ batch_size·B images); ``None``: all T.

    Returns:
      The summed pytree of ``term`` outputs.
    """
    alphas, weights = quadrature(quadrature_rule, steps)
    chex.assert_equal_shape((x, baseline))
    delta = x - baseline

    def one(alpha, weight):
        point = baseline + alpha * delta
        step = PathStep(point=point, displacement=weight * delta, weight=steps * weight)
        return term(observe(point), step)

    return integrate(one, alphas, weights, batch_size)
