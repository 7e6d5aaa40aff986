"""HiResCAM (Draelos & Carin, 2020): map = Σ_k g_k ⊙ A_k, the element-wise gradient × activation
summed over channels (spec §2). At a GAP+FC head it equals CAM exactly, position by position."""

from __future__ import annotations

import jax

from gigjax.methods.base import register_gradient_cam
from gigjax.methods.channels import channel_sum


def hirescam_term(a: jax.Array, g: jax.Array) -> jax.Array:
    """(B, h, w, K) activations and gradients → the raw HiResCAM map (B, h, w)."""
    return channel_sum(g * a)


register_gradient_cam("hirescam", hirescam_term,
                      "HiResCAM: gradient × activation summed over channels (faithful at GAP heads)")
