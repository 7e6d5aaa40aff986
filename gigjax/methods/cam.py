"""CAM (Zhou et al., CVPR 2016): map = Σ_k W_ck A_k, W the classifier weights after global average
pooling (spec §2).

CAM is defined only for a GAP+FC head and only at the feature map the GAP reads: the model card names
the classifier (``card.classifier``, ``None`` for heads such as VGG16's) and that feature map
(``card.cam_layer``); the layer must output that very array. Anything else is a :class:`GigjaxError`,
never a silent wrong map. No gradient is taken: one forward pass.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.methods.gradcam import weighted_sum
from gigjax.methods.perturb import fixed_classes
from gigjax.models import Model
from gigjax.registry import Method, register
from gigjax.surgery import forward, parameters
from gigjax.targets import Targets


def classifier_kernel(model: Model) -> jax.Array:
    """The (K, num_classes) kernel of the Dense layer after global average pooling."""
    path = model.card.classifier
    if path is None:
        raise GigjaxError(f"CAM needs a global-average-pooling + linear head; {model.card.name} has none "
                          f"(use gradcam or hirescam, which equal CAM at such heads)")
    node = parameters(model, path)
    if node is None:
        raise GigjaxError(f"the classifier {path!r} named on the card of {model.card.name} has no parameters")
    kernel = node.get("kernel")
    if kernel is None or kernel.ndim != 2:
        raise GigjaxError(f"the classifier {path!r} of {model.card.name} is not a Dense layer")
    return kernel


def cam(model: Model, x: jax.Array, targets: Targets, *, layers: tuple[str, ...]) -> tuple[jax.Array, ...]:
    """Registry function: raw CAM maps (B, h, w), one per layer.

    Each layer must output the feature map the GAP head reads: the card's ``cam_layer`` (the last
    feature map of a GAP+FC model) or a layer returning that very array (e.g. ``layer4/2`` for
    ``layer4``), with as many channels as the classifier has inputs.
    """
    kernel = classifier_kernel(model)
    head_layer = model.card.cam_layer
    logits, acts = forward(model, x, record=tuple(dict.fromkeys(layers + (head_layer,))))
    for layer in layers:
        a = acts[layer]
        if a is not acts[head_layer] or a.ndim != 4 or a.shape[-1] != kernel.shape[0]:
            raise GigjaxError(f"CAM is defined at the layer feeding the global average pooling of "
                              f"{model.card.name} ({head_layer!r}), not at {layer!r}")
    _, classes = fixed_classes(targets, logits, "CAM")
    weights = jnp.take(kernel, classes, axis=1).T  # (B, K)
    return tuple(weighted_sum(acts[layer], weights) for layer in layers)


register(Method(
    name="cam",
    fn=cam,
    summary="CAM: feature maps weighted by the classifier weights of the class (GAP+FC heads only)",
    requires=("gap_fc_head",),
    class_index=True,
))
