"""ROAD — RemOve And Debias (Rong et al. 2022; spec §12): the model's confidence after the most
(MoRF) or least (LeRF) relevant pixels are removed and re-imputed from their neighbours, so the
removal leaks no shape through the mask.

Removal at ``q`` % follows pytorch-grad-cam's ``RemoveMostRelevantFirst(100 − q)`` exactly: with
``t = percentile(map, 100 − q)`` (linear interpolation, numpy's default) MoRF removes the pixels with
``map ≥ t``; LeRF does the same on ``1 − map``.

**Noisy linear imputation** (the ROAD authors' ``NoisyLinearImputer``): every removed pixel becomes
the weighted mean of its 8 neighbours (weight 1/6 axis-aligned, 1/12 diagonal, neighbours outside the
image dropped), removed neighbours being unknowns too. Per channel this is the sparse symmetric
positive-definite system ``s_i v_i − Σ_{j removed} w_ij v_j = Σ_{k kept} w_ik x_k`` (``s_i`` the
weight of i's in-image neighbours), solved here on the device by Jacobi-preconditioned conjugate
gradient (``jax.scipy.sparse.linalg.cg``) with the 3×3 stencil as the operator — no matrix is built.
Then ``noise · N(0, 1)`` is added to the imputed values (pytorch-grad-cam: 0.01, in the normalised
input's units; 0 for none), drawn from the image's own key.

Score: the softmax probability of the explained class on the imputed input, per percentile (the
curve), and its mean over the percentiles (default {10, …, 90}: pytorch-grad-cam's
``ROAD…Average`` report the same mean minus the score before removal). MoRF: lower is better; LeRF:
higher is better.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.sparse.linalg import cg

from gigjax.errors import GigjaxError
from gigjax.metrics.faithfulness import class_probability
from gigjax.options import Option
from gigjax.validation import check_number

#: pytorch-grad-cam's default percentiles and imputation noise.
PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
NOISE = 0.01
#: Conjugate-gradient stopping rule: relative residual ``TOLERANCE`` or ``MAX_ITERATIONS`` steps.
TOLERANCE = 1e-6
MAX_ITERATIONS = 2000


def _percentiles(value, name: str) -> tuple[float, ...]:
    """A non-empty sequence of numbers in (0, 100) → a tuple of floats."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise GigjaxError(f"{name} must be a list of numbers in (0, 100), got {value!r}")
    values = tuple(check_number(q, f"each of the {name}") for q in value)
    if not values or any(not 0 < q < 100 for q in values):
        raise GigjaxError(f"{name} must be a non-empty list of numbers in (0, 100), got {value!r}")
    return values


#: The evaluation settings ROAD MoRF and LeRF read (see :mod:`gigjax.metrics.table`).
SETTINGS = {
    "road_percentiles": Option(PERCENTILES, "road_morf/road_lerf: % of pixels removed, each in (0, 100), "
                                            "comma-separated", check=_percentiles),
    "road_noise": Option(NOISE, "road_morf/road_lerf: imputation noise std in normalised units (0: none; "
                                "pytorch-grad-cam: 0.01)", check=check_number),
}

# numpy, not jnp: importing gigjax must start no JAX backend (jax.distributed.initialize comes first)
_WEIGHTS = np.asarray([[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0.0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]], np.float32)


def _neighbour_sum(v: jax.Array) -> jax.Array:
    """(H, W, C) → Σ_j w_j v(neighbour j), neighbours outside the image counting as 0."""
    h, w = v.shape[:2]
    padded = jnp.pad(v, ((1, 1), (1, 1), (0, 0)))
    return sum(_WEIGHTS[dy, dx] * padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)
               if (dy, dx) != (1, 1))


def impute(x: jax.Array, removed: jax.Array) -> jax.Array:
    """Noise-free linear imputation of one image.

    Args:
      x: (H, W, C) image (any units; the normalised input in ROAD).
      removed: (H, W) bool, the pixels to re-impute (not all of them).

    Returns:
      (H, W, C): ``x`` with every removed pixel the weighted mean of its 8 neighbours (module docstring).
    """
    r = removed[..., None].astype(x.dtype)
    kept = x * (1 - r)
    weight = _neighbour_sum(jnp.ones_like(x))                    # s_i: the in-image neighbours' weight
    diagonal = r * weight + (1 - r)                              # identity on the kept pixels

    def operator(v):                                             # R(S − W)R + (I − R), SPD
        rv = r * v
        return r * (weight * rv - _neighbour_sum(rv)) + (1 - r) * v

    b = r * _neighbour_sum(kept)
    solution, _ = cg(operator, b, x0=b / diagonal, tol=TOLERANCE, maxiter=MAX_ITERATIONS,
                     M=lambda v: v / diagonal)
    return kept + r * solution


def removal_mask(maps: jax.Array, percent: jax.Array, order: str) -> jax.Array:
    """(B, H, W) maps → (B, H, W) bool: the ``percent`` % most (``"morf"``) or least (``"lerf"``)
    relevant pixels of each map, thresholded as pytorch-grad-cam does (module docstring)."""
    ranked = maps if order == "morf" else 1.0 - maps
    flat = ranked.reshape(ranked.shape[0], -1)
    threshold = jnp.percentile(flat, 100.0 - percent, axis=1)
    return ranked >= threshold[:, None, None]


def road_curve(model, x: jax.Array, maps: jax.Array, classes: jax.Array, keys: jax.Array, *, order: str,
               percentiles=PERCENTILES, noise: float = NOISE) -> jax.Array:
    """ROAD scores of a batch, one per percentile.

    Args:
      model: the gigjax Model.
      x: (B, H, W, C) normalised input.
      maps: (B, H, W) explanation maps (any scale; only their order matters).
      classes: (B,) int explained class.
      keys: (B,) PRNG keys of the imputation noise (one per image).
      order: ``"morf"`` (remove the most relevant first) or ``"lerf"``.
      percentiles: the removal percentages q (0 < q < 100).
      noise: standard deviation of the noise added to the imputed values (0: none).

    Returns:
      (B, P) probability of ``classes`` after removing q % of the pixels, for each q of ``percentiles``.
    """
    qs = jnp.asarray(percentiles, jnp.float32)

    def one(step):
        q, index = step
        removed = removal_mask(maps, q, order)
        filled = jax.vmap(impute)(x, removed)
        eps = jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, index), x.shape[1:], x.dtype))(keys)
        filled = filled + noise * removed[..., None] * eps
        return class_probability(model, filled, classes)

    return jax.lax.map(one, (qs, jnp.arange(qs.shape[0]))).T


def road_score(model, x, maps, classes, keys, *, order: str, percentiles=PERCENTILES, noise: float = NOISE):
    """(B,) mean over ``percentiles`` of :func:`road_curve` (same arguments)."""
    return jnp.mean(road_curve(model, x, maps, classes, keys, order=order, percentiles=percentiles,
                               noise=noise), axis=1)
