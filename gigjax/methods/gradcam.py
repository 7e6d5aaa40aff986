"""Grad-CAM (Selvaraju et al., ICCV 2017): w_k = mean_ij ∂S/∂A_k; map = Σ_k w_k A_k (spec §2)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.methods.base import gradient_cam
from gigjax.registry import Method, register


def channel_weights(g: jax.Array) -> jax.Array:
    """Grad-CAM channel weights: (B, h, w, K) gradients → (B, K) spatial means."""
    return jnp.mean(g, axis=(1, 2))


def weighted_sum(a: jax.Array, weights: jax.Array) -> jax.Array:
    """Σ_k w_k A_k: (B, h, w, K) activations, (B, K) weights → (B, h, w)."""
    return jnp.einsum("bhwk,bk->bhw", a, weights)


def gradcam_term(a: jax.Array, g: jax.Array) -> jax.Array:
    """The raw (pre-ReLU) Grad-CAM map of one layer, (B, h, w)."""
    return weighted_sum(a, channel_weights(g))


register(Method(
    name="gradcam",
    fn=gradient_cam(gradcam_term),
    summary="Grad-CAM: activations weighted by their spatially averaged gradients",
))
