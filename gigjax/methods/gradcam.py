"""Grad-CAM (Selvaraju et al., ICCV 2017): w_k = mean_ij ∂S/∂A_k; map = Σ_k w_k A_k (spec §2)."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from gigjax.methods.base import register_gradient_cam
from gigjax.methods.channels import channel_sum


def channel_weights(g: jax.Array) -> jax.Array:
    """Grad-CAM channel weights: (B, h, w, K) gradients → (B, K) spatial means."""
    return jnp.mean(g, axis=(1, 2))


def weighted_sum(a: jax.Array, weights: jax.Array) -> jax.Array:
    """Σ_k w_k A_k: (B, h, w, K) activations, (B, K) weights → (B, h, w) (see :func:`channel_sum`)."""
    return channel_sum(a * weights[:, None, None, :])


def channel_weighted(weights: Callable[[jax.Array, jax.Array], jax.Array]) -> Callable[..., jax.Array]:
    """The term Σ_k w_k A_k of a channel weighting ``weights(A, g) → (B, K)``: (A, g) → (B, h, w) raw map."""

    def term(a: jax.Array, g: jax.Array) -> jax.Array:
        return weighted_sum(a, weights(a, g))

    return term


def register_channel_weighted(name: str, weights: Callable[[jax.Array, jax.Array], jax.Array],
                              summary: str) -> Callable[..., jax.Array]:
    """Registers the gradient CAM Σ_k w_k A_k of a channel weighting ``weights(A, g) → (B, K)`` as
    ``name``; returns its term (A, g) → (B, h, w), the raw (pre-ReLU) map of one layer."""
    return register_gradient_cam(name, channel_weighted(weights), summary)


gradcam_term = register_channel_weighted("gradcam", lambda a, g: channel_weights(g),
                                         "Grad-CAM: activations weighted by their spatially averaged gradients")
"""The raw (pre-ReLU) Grad-CAM map of one layer: (A, g) → (B, h, w)."""
