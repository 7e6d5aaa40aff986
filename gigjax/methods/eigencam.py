"""EigenCAM (Muhammad & Yeasin, IJCNN 2020) and EigenGradCAM (pytorch-grad-cam): the probed layer's
activations A (EigenCAM, no gradient, class-agnostic) or A ⊙ ∂S/∂A (EigenGradCAM), centred over the
positions and projected on their first principal component (spec §12; pytorch-grad-cam's
``get_2d_projection``). EigenGradCAM is HiResCAM's term under ``eigen_smooth`` (its first principal
component instead of its channel sum), so it is declared as exactly that: HiResCAM with
``eigen_smooth`` on by default (``eigen_smooth=False`` gives HiResCAM).

Sign convention: the SVD's sign is arbitrary (pytorch-grad-cam leaves it so, its maps equal ours up
to that sign); gigjax orients v₁ along the mean activation, so the projection of the un-centred
activations sums to ≥ 0 (the centred map itself always sums to 0; see
:func:`gigjax.methods.channels.first_component`).

Under ``jax.jit`` EigenCAM's unused backward pass is dead code: it costs one forward pass.
"""

from __future__ import annotations

import jax

from gigjax.methods.base import register_gradient_cam
from gigjax.methods.channels import first_component
from gigjax.methods.hirescam import hirescam_term
from gigjax.options import POSTPROCESSING


def eigencam_term(a: jax.Array, g: jax.Array) -> jax.Array:
    """(B, h, w, K) activations (the gradient is ignored) → the raw EigenCAM map (B, h, w)."""
    del g
    return first_component(a)


register_gradient_cam("eigencam", eigencam_term,
                      "EigenCAM: the first principal component of the layer's activations (class-agnostic)")
register_gradient_cam("eigengradcam", hirescam_term,
                      "EigenGradCAM: the first principal component of activations × gradients (HiResCAM's "
                      "term with eigen_smooth)",
                      options={"eigen_smooth": POSTPROCESSING["eigen_smooth"].but(default=True)})
