"""Global-guidance CAM (Fahim, Saqib, Siam & Jung, Sensors 22(17):6516, 2022), spec §7.

Only the abstract is public; this is the design of the spec. The guidance map is the element-wise
product of the feature maps and their gradients, G = N(ReLU(Σ_k A_k ⊙ g_k)) (the HiResCAM map,
normalised per image to [0, 1]); it rectifies the Grad-CAM aggregation:

* ``variant="map"`` (default): raw map = ReLU(Σ_k w_k A_k) ⊙ G, the Grad-CAM map gated by G;
* ``variant="channel"``: raw map = Σ_k w_k (A_k ⊙ G), each feature map gated before aggregation.

w_k are the Grad-CAM weights. Because G ≥ 0 is shared by all channels, Σ_k w_k (A_k ⊙ G) =
G ⊙ Σ_k w_k A_k, so the two variants agree once the shared ReLU is applied; they differ only in the
raw / ``relu=False`` maps (the channel variant keeps the negative evidence, gated by G).
"""

from __future__ import annotations

import chex
import jax

from gigjax import postprocess
from gigjax.methods.base import register_gradient_cam
from gigjax.methods.gradcam import gradcam_term
from gigjax.methods.hirescam import hirescam_term
from gigjax.options import Option

VARIANTS = ("map", "channel")


def guidance_map(a: jax.Array, g: jax.Array) -> jax.Array:
    """G = N(ReLU(Σ_k A_k ⊙ g_k)): (B, h, w, K) activations and gradients → (B, h, w) in [0, 1]."""
    chex.assert_equal_shape([a, g])
    return postprocess.normalize(jax.nn.relu(hirescam_term(a, g)))


def guidance_cam_term(a: jax.Array, g: jax.Array, *, variant: str) -> jax.Array:
    """The raw global-guidance CAM map of one layer, (B, h, w)."""
    weighted = gradcam_term(a, g)
    if variant == "map":
        weighted = jax.nn.relu(weighted)
    return weighted * guidance_map(a, g)


register_gradient_cam(
    "guidance_cam", guidance_cam_term,
    "Global-guidance CAM: the Grad-CAM map rectified by the normalised gradient × activation map",
    options={"variant": Option("map", "gate the Grad-CAM map (map) or each feature map before the sum (channel)",
                               choices=VARIANTS)})
