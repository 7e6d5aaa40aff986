"""CAM (Zhou et al., CVPR 2016): map = Σ_k W_ck A_k, W the classifier weights after global average
pooling (spec §2).

CAM is defined only for a GAP+FC head and only at the feature map the GAP reads: the model card names
the classifier (``card.classifier``, ``None`` for heads such as VGG16's), and the layer must be the one
whose output feeds that head. Anything else is a :class:`GigjaxError`, never a silent wrong map.
No gradient is taken: one forward pass.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.methods.gradcam import weighted_sum
from gigjax.models import Model
from gigjax.registry import Method, register
from gigjax.surgery import module_path
from gigjax.targets import Targets, target_scores


def classifier_kernel(model: Model) -> jax.Array:
    """The (K, num_classes) kernel of the Dense layer after global average pooling."""
    path = model.card.classifier
    if path is None:
        raise GigjaxError(f"CAM needs a global-average-pooling + linear head; {model.card.name} has none "
                          f"(use gradcam or hirescam, which equal CAM at such heads)")
    node = model.variables.get("params", {})
    for part in path.split("/"):
        if not hasattr(node, "get") or part not in node:
            raise GigjaxError(f"the classifier {path!r} named on the card of {model.card.name} has no parameters")
        node = node[part]
    kernel = node.get("kernel") if hasattr(node, "get") else None
    if kernel is None or kernel.ndim != 2:
        raise GigjaxError(f"the classifier {path!r} of {model.card.name} is not a Dense layer")
    return kernel


def _forward_to_head(model: Model, x: jax.Array, layers: tuple[str, ...]):
    """One forward pass returning (logits, {layer: A}, paths of the modules whose output is the
    feature map read by the classifier's global average pooling)."""
    classifier = model.card.classifier
    acts: dict[str, jax.Array] = {}
    state = {"last": None, "head_input": None}  # last 4-D module output; its value at the head's call
    outputs: dict[str, jax.Array] = {}

    def interceptor(next_fun, args, kwargs, context):
        path = module_path(context.module)
        if context.method_name == "__call__" and path == classifier:
            state["head_input"] = state["last"]
        out = next_fun(*args, **kwargs)
        if context.method_name == "__call__" and isinstance(out, jax.Array) and out.ndim == 4:
            state["last"] = out
            outputs.setdefault(path, out)
            if path in layers:
                acts[path] = out
        return out

    with nn.intercept_methods(interceptor):
        logits = model.logits(x)
    feeding = tuple(p for p, v in outputs.items() if state["head_input"] is not None and v is state["head_input"])
    return logits, acts, feeding


def cam(model: Model, x: jax.Array, targets: Targets, *, layers: tuple[str, ...]) -> tuple[jax.Array, ...]:
    """Registry function: raw CAM maps (B, h, w), one per layer (each must feed the GAP head)."""
    kernel = classifier_kernel(model)
    if callable(targets):
        probe_out = jax.eval_shape(targets, jax.ShapeDtypeStruct((x.shape[0], kernel.shape[1]), jnp.float32))
        if not jnp.issubdtype(probe_out.dtype, jnp.integer):
            raise GigjaxError("CAM explains classes: a targets callable must return class indices, not scores")
    logits, acts, feeding = _forward_to_head(model, x, layers)
    for layer in layers:
        if layer not in feeding:
            need = " or ".join(map(repr, feeding)) or "the feature map before the classifier"
            raise GigjaxError(f"CAM is defined at the layer feeding the global average pooling of "
                              f"{model.card.name} ({need}), not at {layer!r}")
    _, classes = target_scores(targets, logits)
    weights = jnp.take(kernel, classes, axis=1).T  # (B, K)
    return tuple(weighted_sum(acts[layer], weights) for layer in layers)


register(Method(
    name="cam",
    fn=cam,
    summary="CAM: feature maps weighted by the classifier weights of the class (GAP+FC heads only)",
))
