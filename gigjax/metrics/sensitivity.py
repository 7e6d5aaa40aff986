"""Max-sensitivity (Yeh et al. 2019; captum ``metrics.sensitivity_max``; spec §12): how much the
explanation changes under small input perturbations.

For perturbations δ_1 … δ_n of image x, ``‖δ_k‖∞ ≤ r`` (uniform in [−r, r] per input element, captum's
default ``perturb_func``, in the normalised input's units; captum's default r is 0.02)::

    sensitivity_max = max_k ‖E(x + δ_k) − E(x)‖_F / ‖E(x)‖_F     (denominator 1 when ‖E(x)‖ = 0)

where E is the explainer under evaluation (the same class, the original top-1, for every sample).
Lower is better. The draws come from the image's own key (:func:`uniform_perturbations`); the n
re-explanations run as ``lax.map`` over the samples.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from gigjax.options import Option
from gigjax.validation import check_number

#: Default number of perturbations (captum's ``n_perturb_samples``) and their radius (``perturb_radius``).
SAMPLES = 10
RADIUS = 0.02

#: The evaluation setting of Max-Sensitivity alone (the perturbation count it shares with Infidelity
#: is declared in :mod:`gigjax.metrics.table`).
SETTINGS = {"sensitivity_radius": Option(RADIUS, "sensitivity_max: perturbation radius r, |delta|_inf <= r (captum: "
                                                 "0.02)", check=functools.partial(check_number, positive=True))}


def uniform_perturbations(keys: jax.Array, shape: tuple[int, ...], samples: int, radius: float) -> jax.Array:
    """(B,) keys → (samples, B, *shape) float32 draws uniform in [−radius, radius], image b's from ``keys[b]``."""
    draw = jax.vmap(lambda k: jax.random.uniform(k, (samples, *shape), jnp.float32, -radius, radius))(keys)
    return jnp.swapaxes(draw, 0, 1)


def _norm(v: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.sum(v.reshape(v.shape[0], -1) ** 2, axis=1))


def sensitivity_max_of(explain: Callable, x: jax.Array, maps: jax.Array, perturbations: jax.Array) -> jax.Array:
    """Max-sensitivity for given perturbations.

    Args:
      explain: ``x (B, H, W, C) → maps`` of the explained classes (the classes fixed by the caller).
      x: (B, H, W, C) input.
      maps: the explanation of ``x`` (``explain(x)``), any shape with leading B.
      perturbations: (n, B, H, W, C) perturbations δ (the explainer sees x + δ).

    Returns:
      (B,) max over the n samples of the relative Frobenius change (module docstring).
    """
    norm = _norm(maps)
    norm = jnp.where(norm == 0, 1.0, norm)
    changes = jax.lax.map(lambda d: _norm(explain(x + d) - maps), perturbations)     # (n, B)
    return jnp.max(changes / norm[None], axis=0)


def sensitivity_max(explain, x, maps, keys, *, samples: int = SAMPLES, radius: float = RADIUS) -> jax.Array:
    """(B,) :func:`sensitivity_max_of` under ``samples`` uniform perturbations from the per-image ``keys`` (B,)."""
    return sensitivity_max_of(explain, x, maps, uniform_perturbations(keys, x.shape[1:], samples, radius))
