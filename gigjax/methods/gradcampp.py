"""Grad-CAM++ (Chattopadhay et al., WACV 2018), as in pytorch-grad-cam (spec §2).

α = g² / (2g² + s_k g³ + 1e-6) with s_k = Σ_ij A_k, α = 0 where g = 0; w_k = Σ_ij α ReLU(g);
map = Σ_k w_k A_k. (The closed form of α assumes the class score is the exponential of the logit;
like pytorch-grad-cam we apply it to the gradients of the logit itself.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.methods.gradcam import register_channel_weighted
from gigjax.numerics import safe_divide

EPS = 1e-6  # pytorch-grad-cam's epsilon in the denominator of α


def gradcampp_weights(a: jax.Array, g: jax.Array) -> jax.Array:
    """(B, h, w, K) activations and gradients → (B, K) Grad-CAM++ channel weights."""
    g2 = g * g
    s = jnp.sum(a, axis=(1, 2), keepdims=True)
    denom = 2.0 * g2 + s * g2 * g + EPS
    alpha = safe_divide(g2, denom)  # 0 where g = 0: g² = 0 there
    return jnp.sum(alpha * jax.nn.relu(g), axis=(1, 2))


gradcampp_term = register_channel_weighted(
    "gradcam_pp", gradcampp_weights,
    "Grad-CAM++: activations weighted by positive gradients with second-order coefficients")
"""The raw (pre-ReLU) Grad-CAM++ map of one layer: (A, g) → (B, h, w)."""
