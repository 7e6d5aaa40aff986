"""Infidelity (Yeh et al. 2019; captum ``metrics.infidelity`` with ``normalize=True``; spec §12): how
badly the map, read as a linear model, predicts the score change under random input perturbations.

For perturbations I_1 … I_n of image x, with ``a_k = Σ_{h,w,c} map[h, w] · I_k[h, w, c]`` (the map
broadcast over the channels) and ``d_k = S(x) − S(x − I_k)`` (S the softmax probability of the
explained class)::

    infidelity = min_β (1/n) Σ_k (β a_k − d_k)²,   β = Σ a_k d_k / Σ a_k²   (0 when Σ a_k² = 0)

— captum's ``normalize=True``, which makes the value independent of the map's scale (gigjax maps are
min–max normalised, so an unnormalised infidelity would mostly measure that scale). Lower is better.

The perturbations are Gaussian, ``I ~ N(0, sigma²)`` per input element in the normalised input's
units, drawn from the image's own key (:func:`gaussian_perturbations`), so batching never changes the
value; the n extra model calls per image run as ``lax.map`` over the samples.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from gigjax.metrics.faithfulness import class_probability
from gigjax.numerics import safe_divide
from gigjax.options import Option
from gigjax.validation import check_number

#: Default number of perturbations (captum's ``n_perturb_samples``) and their standard deviation.
SAMPLES = 10
SIGMA = 0.1

#: The evaluation setting of Infidelity alone (the perturbation count it shares with Max-Sensitivity
#: is declared in :mod:`gigjax.metrics.table`).
SETTINGS = {"infidelity_sigma": Option(SIGMA, "infidelity: std of the Gaussian perturbations (normalised units)",
                                       check=functools.partial(check_number, positive=True))}


def gaussian_perturbations(keys: jax.Array, shape: tuple[int, ...], samples: int, sigma: float) -> jax.Array:
    """(B,) keys → (samples, B, *shape) float32 ``N(0, sigma²)`` draws, image b's from ``keys[b]``."""
    draw = jax.vmap(lambda k: sigma * jax.random.normal(k, (samples, *shape), jnp.float32))(keys)
    return jnp.swapaxes(draw, 0, 1)


def infidelity_of(model, x: jax.Array, maps: jax.Array, classes: jax.Array, perturbations: jax.Array) -> jax.Array:
    """Normalised infidelity for given perturbations.

    Args:
      model: the gigjax Model.
      x: (B, H, W, C) normalised input.
      maps: (B, H, W) or (B, H, W, C) attributions.
      classes: (B,) int explained class.
      perturbations: (n, B, H, W, C) perturbations I (the model sees x − I).

    Returns:
      (B,) infidelity (module docstring).
    """
    attr = maps[..., None] if maps.ndim == 3 else maps
    score = class_probability(model, x, classes)
    dots = jnp.sum(attr[None] * perturbations, axis=(2, 3, 4))                          # (n, B)
    drops = score[None] - jax.lax.map(lambda i: class_probability(model, x - i, classes), perturbations)
    beta = safe_divide(jnp.sum(dots * drops, axis=0), jnp.sum(dots * dots, axis=0))
    return jnp.mean((beta[None] * dots - drops) ** 2, axis=0)


def infidelity_score(model, x, maps, classes, keys, *, samples: int = SAMPLES, sigma: float = SIGMA) -> jax.Array:
    """(B,) :func:`infidelity_of` under ``samples`` Gaussian perturbations from the per-image ``keys`` (B,)."""
    return infidelity_of(model, x, maps, classes, gaussian_perturbations(keys, x.shape[1:], samples, sigma))
