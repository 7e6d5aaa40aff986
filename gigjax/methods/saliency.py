"""The gradient baselines (spec §12): vanilla saliency and input × gradient, one probe pass each.

* ``gradient`` (Simonyan et al. 2014): |∂S/∂x| of the normalised input, reduced over the colour
  channels by ``channel_reduce``: ``"max"`` (default, the paper's max_c |∂S/∂x_c|) or ``"sum"``
  (Σ_c |∂S/∂x_c|, PAIR's grayscale visualisation).
* ``input_x_gradient`` (Shrikumar et al. 2016; captum ``InputXGradient``): x ⊙ ∂S/∂x, reduced by
  ``channel_reduce``: ``"sum"`` (default, signed: the first-order Taylor term of S) or ``"abs_sum"``.

x is the model's normalised input, so both are gradients in normalised space (as captum and PAIR
compute them on the tensor the model receives).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.methods.integrated import reduce_channels
from gigjax.options import CHANNEL_REDUCE, Option
from gigjax.probe import probe
from gigjax.registry import Method, register


def input_gradient(model, x: jax.Array, targets) -> jax.Array:
    """(B, H, W, C) ∂S/∂x of each image's target score (one forward and one backward pass)."""
    return probe(model, x, targets, (), input_gradient=True).input_gradient


def gradient(model, x, targets, *, layers, channel_reduce: str) -> jax.Array:
    """Registry function: the raw (B, H, W) vanilla-gradient map."""
    magnitude = jnp.abs(input_gradient(model, x, targets))
    return jnp.max(magnitude, axis=-1) if channel_reduce == "max" else jnp.sum(magnitude, axis=-1)


def input_x_gradient(model, x, targets, *, layers, channel_reduce: str) -> jax.Array:
    """Registry function: the raw (B, H, W) input × gradient map."""
    return reduce_channels(x * input_gradient(model, x, targets), channel_reduce)


register(Method(
    name="gradient", fn=gradient,
    summary="Gradient (vanilla saliency): |dS/dx|, max over the colour channels",
    options={"channel_reduce": Option("max", "|dS/dx| → map: max over the colour channels (Simonyan et al.) "
                                             "or their sum (PAIR's visualisation)", choices=("max", "sum"))},
    uses_layers=False))
register(Method(
    name="input_x_gradient", fn=input_x_gradient,
    summary="Input x gradient: x * dS/dx summed over the colour channels",
    options={"channel_reduce": CHANNEL_REDUCE}, uses_layers=False))
