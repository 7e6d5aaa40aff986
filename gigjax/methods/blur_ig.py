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

from gigjax.errors import GigjaxError
from gigjax.gaussian import blur_and_derivative
from gigjax.methods import path_terms
from gigjax.methods.integrated import CHOICES, reduce_channels
from gigjax.models import Model
from gigjax.paths import PathStep
from gigjax.paths.straight import integrate
from gigjax.registry import Method, register
from gigjax.targets import Targets, freeze_targets
from gigjax.validation import check_choice, check_images, check_positive_int

DEFAULTS = {"max_sigma": 50.0, "steps": 100, "grad_step": 0.01, "batch_size": 16, "channel_reduce": "sum"}


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GigjaxError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise GigjaxError(f"{name} must be a positive number, got {value!r}")
    return v


def check_options(options: dict) -> dict:
    out = dict(options)
    for name in ("max_sigma", "grad_step"):
        out[name] = _positive(out[name], name)
    for name in ("steps", "batch_size"):
        out[name] = check_positive_int(out[name], name)
    check_choice(out["channel_reduce"], "channel_reduce", CHOICES["channel_reduce"])
    return out


def blur_ig_attributions(model: Model, x: jax.Array, targets: Targets = None, *, max_sigma: float = 50.0,
                         steps: int = 100, grad_step: float = 0.01, batch_size: int = 16) -> jax.Array:
    """The (B, H, W, C) Blur IG attributions of the normalised input ``x`` (see the module docstring)."""
    opts = check_options(dict(DEFAULTS, max_sigma=max_sigma, steps=steps, grad_step=grad_step,
                              batch_size=batch_size))
    x = check_images(x)
    targets = freeze_targets(targets, model, path_terms.model_input(x))
    sigmas = np.arange(opts["steps"] + 1, dtype=np.float64) * opts["max_sigma"] / opts["steps"]
    observe = path_terms.observer(model, targets)

    def step(sigma, dsigma):
        point, dx = blur_and_derivative(x, sigma, opts["grad_step"], opts["max_sigma"])
        path_step = PathStep(point=point, displacement=-dsigma * dx, weight=jnp.ones((), x.dtype))
        return path_terms.input_term(observe(point), path_step)

    return integrate(step, sigmas[:-1], np.diff(sigmas), opts["batch_size"])


def blur_ig(model, x, targets, *, layers, channel_reduce, **options) -> jax.Array:
    """Registry function: the raw (B, H, W) Blur IG map."""
    return reduce_channels(blur_ig_attributions(model, x, targets, **options), channel_reduce)


register(Method(
    name="blur_ig", fn=blur_ig,
    summary="Blur IG: integrated gradients along the path that blurs the image away (Gaussian, PAIR)",
    options=DEFAULTS, check=check_options, uses_layers=False))
