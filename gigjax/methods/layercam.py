"""LayerCAM (Jiang et al., TIP 2021): map = Σ_k ReLU(g_k) ⊙ A_k, a weight per position (spec §2).

LayerCAM is meant for several layers at once: ``explain(..., method="layercam", layer=[...],
fuse="max")`` fuses the per-layer maps by maximum as the paper does.
"""

from __future__ import annotations

import jax

from gigjax.methods.base import register_gradient_cam
from gigjax.methods.channels import channel_sum


def layercam_term(a: jax.Array, g: jax.Array) -> jax.Array:
    """(B, h, w, K) activations and gradients → the raw LayerCAM map (B, h, w)."""
    return channel_sum(jax.nn.relu(g) * a)


register_gradient_cam("layercam", layercam_term,
                      "LayerCAM: activations weighted position by position by their positive gradients")
