"""Blur IG (Xu et al., CVPR 2020; PAIR-code/saliency ``BlurIG``): integrated gradients along the path
that blurs the image away (spec §12).

With σ_i = i·max_sigma/steps (i = 0..steps−1), x_i = G_σi ∗ x (:mod:`gigjax.gaussian`, PAIR's
``mode="constant"`` blur) and ∂x_i/∂σ ≈ (G_{σi+h} ∗ x − x_i)/h (h = ``grad_step``):

    attribution = −Σ_i (σ_{i+1} − σ_i) · ∂x_i/∂σ ⊙ ∂S/∂x(x_i)     (B, H, W, C)

which converges to S(x) − S(G_max_sigma ∗ x) summed over the features. The steps are evaluated
``batch_size`` at a time (vmap over a chunk, chunks in a ``lax.scan``, as the straight path). The
class is fixed at x. A float64 x (under ``jax.enable_x64``) keeps the blur path in float64, as PAIR
does, and feeds the model float32 points. Defaults are PAIR's: max_sigma 50 (pixels), steps 100, grad_step 0.01; the map
reduces the channels by ``channel_reduce`` (``"sum"`` signed, default; ``"abs_sum"``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.boundary import check_call
from gigjax.errors import GigjaxError
from gigjax.gaussian import blur_and_derivative
from gigjax.methods import path_terms
from gigjax.methods.integrated import reduce_channels
from gigjax.models import Model
from gigjax.options import CHANNEL_REDUCE, PATH_BATCH, STEPS, Option, bind
from gigjax.paths import PathStep
from gigjax.paths.straight import integrate
from gigjax.registry import Method, register
from gigjax.targets import Targets, freeze_targets


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GigjaxError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise GigjaxError(f"{name} must be a positive number, got {value!r}")
    return v


BLUR_IG = {
    "max_sigma": Option(50.0, "largest Gaussian blur of the path, in pixels (PAIR)", check=_positive, quick=3.0),
    "steps": STEPS.but(default=100, doc="blur steps (model passes per image; PAIR: 100)"),
    "grad_step": Option(0.01, "σ step of the finite difference ∂x/∂σ (PAIR)", check=_positive),
    "batch_size": PATH_BATCH,
}


def _blur_ig(model: Model, x: jax.Array, targets: Targets, *, max_sigma: float, steps: int, grad_step: float,
             batch_size: int) -> jax.Array:
    targets = freeze_targets(targets, model, path_terms.model_input(model, x))
    sigmas = np.arange(steps + 1, dtype=np.float64) * max_sigma / steps
    observe = path_terms.observer(model, targets)

    def step(sigma, dsigma):
        point, dx = blur_and_derivative(x, sigma, grad_step, max_sigma)
        path_step = PathStep(point=point, displacement=-dsigma * dx, weight=jnp.ones((), x.dtype))
        return path_terms.input_term(observe(point), path_step)

    return integrate(step, sigmas[:-1], np.diff(sigmas), batch_size)


def blur_ig_attributions(model: Model, x: jax.Array, targets: Targets = None, **options) -> jax.Array:
    """The (B, H, W, C) Blur IG attributions of the normalised input ``x``; ``options`` are those of
    ``gigjax.describe("blur_ig")`` but ``channel_reduce`` (see the module docstring)."""
    x, targets = check_call(model, x, targets)
    return _blur_ig(model, x, targets, **bind(BLUR_IG, options, "Blur IG"))


def blur_ig(model, x, targets, *, layers, channel_reduce, **options) -> jax.Array:
    """Registry function: the raw (B, H, W) Blur IG map."""
    return reduce_channels(_blur_ig(model, x, targets, **options), channel_reduce)


register(Method(
    name="blur_ig", fn=blur_ig,
    summary="Blur IG: integrated gradients along the path that blurs the image away (Gaussian, PAIR)",
    options={**BLUR_IG, "channel_reduce": CHANNEL_REDUCE}, uses_layers=False))
