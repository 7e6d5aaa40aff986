"""XGrad-CAM (Fu et al., BMVC 2020): w_k = Σ_ij g A / (Σ_ij A + 1e-7); map = Σ_k w_k A_k (spec §2)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.methods.gradcam import register_channel_weighted

EPS = 1e-7  # pytorch-grad-cam's epsilon


def xgradcam_weights(a: jax.Array, g: jax.Array) -> jax.Array:
    """(B, h, w, K) activations and gradients → (B, K) axiom-based channel weights."""
    return jnp.sum(g * a, axis=(1, 2)) / (jnp.sum(a, axis=(1, 2)) + EPS)


xgradcam_term = register_channel_weighted(
    "xgradcam", xgradcam_weights, "XGrad-CAM: channel weights from the axioms of sensitivity and conservation")
"""The raw (pre-ReLU) XGrad-CAM map of one layer: (A, g) → (B, h, w)."""
