"""The probe: everything a gradient-based explainer needs, from one forward and one backward pass.

``probe(model, x, targets, layers)`` runs the model once, records the activation A of each named
layer, and differentiates each image's target score S once, giving ∂S/∂A at every layer and ∂S/∂x
at the input. Layers are paths (``"head"``, ``"blocks_15/project"``, ``"layer4/2"``, NNX ``"blocks/3/conv"``,
a tuple element ``"encoder/block_11:0"``; torch-style dots are accepted too), located through
:mod:`gigjax.surgery` on every kind of model (linen, NNX, plain function), without changing its code.
A layer with a reshape on the card (a ViT token layer, :func:`gigjax.tokens_to_grid`) is probed in
its reshaped (B, h, w, K) form: activation and gradient alike.

Under ``jax.jit`` the layer names must be static: ``jax.jit(gigjax.probe, static_argnames="layers")``
called with a *tuple* of names, or ``jax.jit(functools.partial(gigjax.probe, layers=names))`` for
any sequence (a list cannot be a static argument: it is not hashable).

How the layer gradient is taken: the output of each probed module is replaced by ``A + δ`` with
δ = 0, and the gradient is taken with respect to δ — exactly ∂S/∂A. The scores of a batch are
summed before differentiating; BatchNorm runs on running statistics, so images never interact and
each image's gradient is its own.
"""

from __future__ import annotations

import difflib
from typing import Sequence

import flax.struct
import jax
import jax.numpy as jnp

from gigjax import surgery
from gigjax.errors import GigjaxError
from gigjax.models import Model, inference
from gigjax.models.model import check_model
from gigjax.targets import Targets, target_scores


@flax.struct.dataclass
class ProbeResult:
    """What one forward+backward pass yields (B images, layer l of shape (B, h_l, w_l, K_l)).

    Attributes:
      logits: (B, num_classes) pre-softmax logits (the model's output pytree for a non-classifier).
      scores: (B,) the differentiated target score of each image.
      classes: (B,) int32 target classes (−1 where a targets callable returned scores).
      activations: {layer: A} at the requested layers.
      gradients: {layer: ∂S/∂A}, same shapes.
      input_gradient: (B, H, W, C) ∂S/∂x, or ``None`` when not requested.
    """

    logits: jax.Array
    scores: jax.Array
    classes: jax.Array
    activations: dict
    gradients: dict
    input_gradient: jax.Array | None


def _traced_forward(model: Model, x: jax.Array, layers: Sequence[str], deltas: dict | None):
    """Runs the model, returning (logits, {layer: activation}); adds ``deltas[layer]`` when given."""
    edit = None if deltas is None else {layer: (lambda out, d=deltas[layer]: out + d) for layer in layers}
    return surgery.forward(model, x, record=layers, edit=edit)


def list_layers(model: Model, x: jax.Array | None = None) -> dict[str, tuple[int, ...]]:
    """Every probe-able layer of ``model`` with the shape of its view (for an input like ``x``), in
    the order the layers finish: module paths, tuple/dict elements as ``"path:0"`` / ``"path:key"``,
    and for a layer with a reshape on the card the reshaped (B, h, w, K) shape."""
    check_model(model)
    if x is None:
        x = inference.example_input(model.card)
    outputs = surgery.layer_outputs(model, x)
    return {layer: tuple(v.shape) for layer, v in inference.abstract_views(model, outputs).items()}


def _default_layer(model: Model, known: dict[str, tuple[int, ...]]) -> str:
    if model.card.cam_layer is not None:
        return model.card.cam_layer
    maps = [layer for layer, shape in known.items() if len(shape) == 4]
    if maps and not model.card.reshape:
        return maps[-1]
    raise GigjaxError(f"the card of {model.card.name} names no CAM layer: give layer= (one of "
                      f"gigjax.list_layers(model)) or build the model with gigjax.Model.from_linen / from_nnx")


def _listing(known) -> str:
    names = list(known)
    return ", ".join(names[-12:]) + (f" (and {len(names) - 12} more)" if len(names) > 12 else "")


def resolve_layers(model: Model, layers: str | Sequence[str] | None, x: jax.Array | None = None) -> tuple[str, ...]:
    """Normalises layer names (``None`` → the card's CAM layer; dots → slashes) and checks they exist."""
    check_model(model)
    known = list_layers(model, x)
    if layers is None:
        layers = (_default_layer(model, known),)
    elif isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    if not layers:
        raise GigjaxError("no layer given")
    out = []
    for layer in layers:
        if not isinstance(layer, str):
            raise GigjaxError(f"a layer is named by a string path, got {layer!r}")
        name = layer if layer in known else layer.replace(".", "/")
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise GigjaxError(f"unknown layer {layer!r} for {model.card.name}{hint} "
                              f"(the model's last layers: {_listing(known)}; see gigjax.list_layers(model))")
        if name in out:
            raise GigjaxError(f"layer {layer!r} is given twice")
        out.append(name)
    return tuple(out)


def probe(model: Model, x: jax.Array, targets: Targets = None, layers: Sequence[str] = (), *,
          input_gradient: bool = True) -> ProbeResult:
    """One forward + one backward pass. Pure; composes with ``jax.jit`` and ``jax.vmap``.

    Args:
      model: a :class:`gigjax.models.Model`.
      x: (B, H, W, C) normalised input.
      targets: see :mod:`gigjax.targets`.
      layers: layer paths to probe (already resolved by :func:`resolve_layers`, or exact paths).
      input_gradient: also return ∂S/∂x (skipping it lets XLA stop the backward pass at the
        shallowest probed layer).

    Returns:
      A :class:`ProbeResult`.
    """
    check_model(model)
    layers = (layers,) if isinstance(layers, str) else tuple(layers)
    _, act_shapes = surgery.abstract(("probe", layers), lambda: jax.eval_shape(
        lambda m, v: _traced_forward(m, v, layers, None), model, x), model, x)
    deltas = {l: jnp.zeros(s.shape, s.dtype) for l, s in act_shapes.items()}

    def total_score(deltas, x):
        logits, acts = _traced_forward(model, x, layers, deltas)
        scores, classes = target_scores(targets, logits)
        return jnp.sum(scores), (logits, scores, classes, acts)

    if input_gradient:
        (grad_layers, grad_x), (logits, scores, classes, acts) = jax.grad(
            total_score, argnums=(0, 1), has_aux=True)(deltas, x)
    else:
        grad_layers, (logits, scores, classes, acts) = jax.grad(total_score, has_aux=True)(deltas, x)
        grad_x = None
    return ProbeResult(logits=logits, scores=scores, classes=classes, activations=acts,
                       gradients=grad_layers, input_gradient=grad_x)
