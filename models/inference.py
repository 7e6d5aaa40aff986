"""What a model card can learn from the model itself, by tracing it (spec §11).

* the output: (B, C) logits give C classes; any other output (a dict, segmentation logits) makes a
  card with no classes, whose targets must then be a callable (see :mod:`gigjax.targets`);
* the layers: every module output, tuple/dict elements as ``"path:i"`` / ``"path:key"``;
* the default CAM layer: the last 4-D feature map, or, given a token ``reshape``, the last token
  layer whose gradient reaches the patch tokens (after a ViT's last attention only the class token
  matters, so later layers would give blank maps: the rule lands on the last block's ``ln_1``);
* the classifier for CAM: a layer with a 2-D kernel W and bias b such that the output equals
  mean_ij(A) · W + b at the CAM layer (global average pooling + Dense), checked on a random input.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp

from gigjax import tokens
from gigjax.errors import GigjaxError
from gigjax.models.card import ModelCard
from gigjax.models.model import Model

DEFAULT_INPUT_SIZE = (224, 224)


def example_input(card: ModelCard, batch: int = 1) -> jax.ShapeDtypeStruct:
    """The abstract (batch, H, W, C) float32 input of a card."""
    return jax.ShapeDtypeStruct((batch, *card.input_size, card.channels), jnp.float32)


def layer_names(outputs: Mapping[str, Any]) -> tuple[str, ...]:
    """Layer names of a :func:`gigjax.surgery.layer_outputs` dict: array outputs by path, tuple/dict
    elements as ``"path:i"`` / ``"path:key"`` (nested ``"path:i:j"``)."""
    names = []
    for path, out in outputs.items():
        for keys, leaf in jax.tree_util.tree_flatten_with_path(out)[0]:
            if hasattr(leaf, "shape"):
                names.append(":".join([path, *(str(getattr(k, "idx", getattr(k, "key", k))) for k in keys)]))
    return tuple(names)


def abstract_views(model: Model, outputs: Mapping[str, Any]) -> dict[str, jax.ShapeDtypeStruct]:
    """{layer: abstract view} (selected element, reshaped by the card) of every layer whose view exists."""
    from gigjax import surgery

    views = {}
    for layer in layer_names(outputs):
        base, selector = surgery.split_layer(layer)
        leaf = surgery.select_element(outputs[base], selector, layer)
        reshape = model.card.reshape_for(layer)
        if reshape is None:
            views[layer] = leaf
            continue
        try:
            views[layer] = jax.eval_shape(lambda v, l=layer: tokens.apply_view(reshape, v, l), leaf)
        except (GigjaxError, TypeError, ValueError):
            continue
    return views


def default_cam_layer(model: Model, views: Mapping[str, jax.ShapeDtypeStruct]) -> str | None:
    """The default CAM layer (module docstring), or ``None`` when the model has no feature map."""
    reshaped = [layer for layer in views if model.card.reshape_for(layer) is not None]
    if not reshaped:
        maps = [layer for layer, v in views.items() if v.ndim == 4]
        return maps[-1] if maps else None
    if not model.card.class_names:
        return reshaped[-1]
    from gigjax.probe import probe

    x = jax.random.normal(jax.random.PRNGKey(0), example_input(model.card).shape, jnp.float32)
    grads = jax.jit(lambda m, v: probe(m, v, None, tuple(reshaped), input_gradient=False).gradients)(model, x)
    reaching = [layer for layer in reshaped if bool(jnp.any(grads[layer] != 0))]
    return (reaching or reshaped)[-1]


def gap_classifier(model: Model, cam_layer: str, layers: Sequence[str]) -> str | None:
    """The layer that is the Dense after global average pooling of ``cam_layer``, or ``None``."""
    from gigjax import surgery

    x = jax.random.normal(jax.random.PRNGKey(1), example_input(model.card, 2).shape, jnp.float32)
    logits, acts = jax.jit(lambda m, v: surgery.forward(m, v, record=(cam_layer,)))(model, x)
    a = acts[cam_layer]
    if a.ndim != 4:
        return None
    pooled = jnp.mean(a.astype(jnp.float32), axis=(1, 2))
    logits = jnp.asarray(logits, jnp.float32)
    for layer in reversed([l for l in layers if ":" not in l]):
        params = surgery.parameters(model, layer) or {}
        kernel = params.get("kernel")
        if kernel is None or getattr(kernel, "shape", None) != (a.shape[-1], logits.shape[-1]):
            continue
        bias = params.get("bias")
        predicted = pooled @ jnp.asarray(kernel, jnp.float32) + (0 if bias is None else jnp.asarray(bias, jnp.float32))
        tol = 1e-3 * (1.0 + float(jnp.max(jnp.abs(logits))))
        if bool(jnp.all(jnp.abs(predicted - logits) <= tol)):
            return layer
    return None


def _classes(out: Any, num_classes: int | None, class_names: Sequence[str] | None, name: str) -> tuple[str, ...]:
    is_logits = isinstance(out, jax.ShapeDtypeStruct) and out.ndim == 2
    if not is_logits:
        if num_classes is not None:
            raise GigjaxError(f"{name}: num_classes={num_classes} given, but the model outputs "
                              f"{jax.tree_util.tree_map(lambda v: v.shape, out)}, not (B, classes) logits")
        return tuple(class_names or ())
    count = out.shape[1]
    if num_classes is not None and num_classes != count:
        raise GigjaxError(f"{name}: num_classes={num_classes}, but the model outputs {count} logits")
    if class_names is None:
        return tuple(str(i) for i in range(count))
    if len(class_names) != count:
        raise GigjaxError(f"{name}: {len(class_names)} class names for {count} logits")
    return tuple(str(n) for n in class_names)


def infer_card(module: Any, variables: Any, *, name: str, cam_layer: str | None, num_classes: int | None,
               class_names: Sequence[str] | None, input_size: tuple[int, int] | None, mean, std, reshape,
               channels: int, description: str) -> Model:
    """The :class:`Model` of ``module`` and ``variables`` with a card filled by tracing (module docstring)."""
    from gigjax import surgery

    mean = tuple(mean) if mean is not None else (0.0,) * int(channels)
    std = tuple(std) if std is not None else (1.0,) * len(mean)
    card = ModelCard(name=name, input_size=tuple(input_size or DEFAULT_INPUT_SIZE), mean=mean, std=std,
                     description=description)
    model = Model(module=module, variables=variables, card=card)
    x = example_input(card)
    try:
        out = jax.eval_shape(model.logits, x)
        outputs = surgery.layer_outputs(model, x)
    except GigjaxError:
        raise
    except Exception as e:  # the user's model rejecting the probe input: say which input was tried
        raise GigjaxError(f"{name}: running the model on a {x.shape} input failed ({type(e).__name__}: {e}); "
                          f"give input_size=(H, W) and channels= that it accepts") from None
    layers = layer_names(outputs)

    if reshape is not None and not isinstance(reshape, Mapping):  # one token layout: every layer it fits
        trial = model.replace(card=dataclasses.replace(card, reshape={layer: reshape for layer in layers}))
        reshape = {layer: reshape for layer, v in abstract_views(trial, outputs).items()
                   if v.ndim == 4 and outputs_ndim(outputs, layer) == 3}
    card = dataclasses.replace(card, reshape=dict(reshape or {}), layers=layers,
                               class_names=_classes(out, num_classes, class_names, name))
    model = model.replace(card=card)
    views = abstract_views(model, outputs)
    if cam_layer is not None:
        cam_layer = cam_layer if cam_layer in views else cam_layer.replace(".", "/")
        if cam_layer not in views:
            raise GigjaxError(f"{name}: cam_layer {cam_layer!r} is not a layer of the model "
                              f"(layers: {', '.join(layers[:12])}{', ...' if len(layers) > 12 else ''})")
    else:
        cam_layer = default_cam_layer(model, views)
    classifier = None
    if cam_layer is not None and card.class_names and card.reshape_for(cam_layer) is None:
        classifier = gap_classifier(model, cam_layer, layers)
    return model.replace(card=dataclasses.replace(card, cam_layer=cam_layer, classifier=classifier))


def outputs_ndim(outputs: Mapping[str, Any], layer: str) -> int:
    from gigjax import surgery

    base, selector = surgery.split_layer(layer)
    leaf = surgery.select_element(outputs[base], selector, layer)
    return getattr(leaf, "ndim", -1)


def check_same_output(model: Model, apply: Callable) -> None:
    """Raises :class:`GigjaxError` when ``apply`` and ``head ∘ features`` give different output shapes."""
    x = example_input(model.card)
    shapes = [jax.tree_util.tree_map(lambda v: v.shape, jax.eval_shape(f, model.variables, x), is_leaf=_is_shape)
              for f in (model.module.apply, apply)]
    if shapes[0] != shapes[1]:
        raise GigjaxError(f"{model.card.name}: head(params, features(params, x)) gives {shapes[0]} but "
                          f"apply(params, x) gives {shapes[1]}")


def _is_shape(v: Any) -> bool:
    return isinstance(v, jax.ShapeDtypeStruct)
