"""Cutting a zoo classifier into a frozen trunk, trainable layers and a new multi-label head.

* :func:`classifier_path` finds the final Dense (the card's ``classifier`` when set, else the last
  layer with a 2-D kernel whose output is the logits, e.g. VGG16's ``classifier/6``) by tracing the
  model once (:func:`gigjax.list_layers`), without computing anything.
* :func:`head_inputs` returns what that Dense receives (:func:`gigjax.surgery.record_calls`) — the
  features a head-only fine-tune trains on (after global average pooling for EfficientNet/ResNet,
  after fc7 for VGG16).
* :func:`with_new_head` rebuilds the model for ``num_classes`` outputs, keeps every other variable
  and starts the head at zero weights and the given biases.
* :func:`split_params` / :func:`merge_params` separate the trainable parameters (the head plus the
  layers named by path prefixes) from the frozen ones. BatchNorm statistics stay frozen (inference
  mode) even inside trained layers: fine-tuning batches are too small to re-estimate them.
* :func:`last_stage` reads the architecture's last stage from its card (``--train-last-stage``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Sequence

import flax.traverse_util
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.models import Model, ModelCard
from gigjax.probe import list_layers
from gigjax.surgery import record_calls


def last_stage(card: ModelCard) -> tuple[str, ...]:
    """The parameter path prefixes of the model's last stage (``card.last_stage``, declared beside
    each zoo architecture), what ``--train-last-stage`` trains besides the head."""
    if not card.last_stage:
        raise GigjaxError(f"no last stage is defined for model {card.name!r}: name the layers to train "
                          f"(train_layers=..., --train-layers) instead")
    return card.last_stage


def _is_dense(params, path: str, num_classes: int) -> bool:
    """Whether ``path`` holds a Dense into ``num_classes`` outputs: a (D, C) kernel and a (C,) bias."""
    node = params
    for key in path.split("/"):
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    if not isinstance(node, Mapping):
        return False
    kernel, bias = (tuple(getattr(node.get(k), "shape", ())) for k in ("kernel", "bias"))
    return len(kernel) == 2 and kernel[-1] == num_classes and bias == (num_classes,)


def classifier_path(model: Model) -> str:
    """The path of the Dense layer that produces the logits (see the module docstring)."""
    if model.card.classifier:
        return model.card.classifier
    logits = (1, model.card.num_classes)
    params = model.variables.get("params", {})
    heads = [path for path, shape in list_layers(model).items()
             if shape == logits and _is_dense(params, path, model.card.num_classes)]
    if not heads:
        raise GigjaxError(f"{model.card.name}: no Dense layer produces the logits; cannot replace its head")
    return heads[-1]


def head_inputs(model: Model, x: jax.Array, path: str | None = None) -> jax.Array:
    """(B, H, W, 3) normalised input → (B, D) the input of the classifier Dense at ``path``."""
    _, calls = record_calls(model, x, (path or classifier_path(model),))
    features = next(iter(calls.values())).input
    return features.reshape(features.shape[0], -1)


def with_new_head(model: Model, class_names: Sequence[str], bias: np.ndarray | None = None,
                  path: str | None = None) -> Model:
    """``model`` rebuilt with a ``len(class_names)``-way head: zero kernel, ``bias`` (default zeros);
    every other variable is kept. The card carries ``class_names``.

    Raises:
      GigjaxError: the module has no ``num_classes`` field, or other variables change shape with it.
    """
    path = path or classifier_path(model)
    num = len(class_names)
    if not hasattr(model.module, "num_classes"):
        raise GigjaxError(f"{type(model.module).__name__} has no num_classes field: cannot rebuild its head")
    module = model.module.clone(num_classes=num)
    h, w = model.card.input_size
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, h, w, 3), jnp.float32))
    old = flax.traverse_util.flatten_dict(jax.tree_util.tree_map(np.shape, model.variables), sep="/")
    new = flax.traverse_util.flatten_dict(jax.tree_util.tree_map(lambda s: s.shape, shapes), sep="/")
    head = f"params/{path}/"
    changed = sorted(k for k in set(old) | set(new) if not k.startswith(head) and old.get(k) != new.get(k))
    if changed:
        raise GigjaxError(f"changing the number of classes also changes {changed[:3]}: unsupported model")
    kernel_shape = new[head + "kernel"]
    bias = np.zeros((num,), np.float32) if bias is None else np.asarray(bias, np.float32)
    if bias.shape != (num,):
        raise GigjaxError(f"head bias must have shape ({num},), got {bias.shape}")
    flat = flax.traverse_util.flatten_dict(model.variables, sep="/")
    flat[head + "kernel"] = jnp.zeros(kernel_shape, jnp.float32)
    flat[head + "bias"] = jnp.asarray(bias)
    variables = flax.traverse_util.unflatten_dict(flat, sep="/")
    card = dataclasses.replace(model.card, class_names=tuple(class_names))
    return Model(module=module, variables=variables, card=card)


def _selected(key: str, prefixes: Sequence[str]) -> bool:
    return any(key == p or key.startswith(p + "/") for p in prefixes)


def split_params(params: dict, prefixes: Sequence[str]) -> tuple[dict, dict]:
    """``params`` → (trainable, frozen): flat ``{"a/b/kernel": leaf}`` dicts split by path prefix.

    Raises:
      GigjaxError: a prefix that matches no parameter (a typo'd layer name).
    """
    flat = flax.traverse_util.flatten_dict(params, sep="/")
    unknown = [p for p in prefixes if not any(_selected(k, (p,)) for k in flat)]
    if unknown:
        tops = sorted({k.split("/")[0] for k in flat})
        raise GigjaxError(f"no parameters under {', '.join(map(repr, unknown))}; top-level layers: {', '.join(tops)}")
    trainable = {k: v for k, v in flat.items() if _selected(k, prefixes)}
    frozen = {k: v for k, v in flat.items() if not _selected(k, prefixes)}
    return trainable, frozen


def merge_params(trainable: dict, frozen: dict) -> dict:
    """The inverse of :func:`split_params`: nested params again."""
    return flax.traverse_util.unflatten_dict({**frozen, **trainable}, sep="/")


def dense(params: dict, path: str, features: jax.Array) -> jax.Array:
    """Applies the Dense at ``path`` of flat ``params`` (``"…/kernel"``, ``"…/bias"``) to (B, D) features."""
    return features @ params[f"{path}/kernel"] + params[f"{path}/bias"]

