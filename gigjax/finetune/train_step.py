"""The jitted computations of fine-tuning: the head's input features and one optimisation step.

* :func:`features_fn`: uint8 crops → the head's input features of each image (and of its mirror
  image), what a head-only run trains on.
* :func:`step_fn`: one AdamW step of the masked sigmoid binary cross-entropy on a batch drawn from
  the device-resident data, with random horizontal flips.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from gigjax.finetune import backbone as bb
from gigjax.models import Model


def masked_bce(logits: jax.Array, labels: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean sigmoid binary cross-entropy over the entries where ``mask`` is true (VOC "difficult"
    entries are masked out); (B, C) logits, (B, C) bool labels and mask → scalar."""
    loss = optax.sigmoid_binary_cross_entropy(logits, labels.astype(logits.dtype))
    return jnp.sum(jnp.where(mask, loss, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def features_fn(backbone: Model, head: str, flip: bool) -> Callable:
    """jit: (variables, uint8 crops (B, H, W, 3)) → (B, V, D) head inputs of the image (and its mirror)."""

    def features(variables, crops):
        model = backbone.replace(variables=variables)
        x = model.normalize(crops)
        views = [x, x[:, :, ::-1]] if flip else [x]
        return jnp.stack([bb.head_inputs(model, v, head) for v in views], axis=1)

    return jax.jit(features)


def step_fn(model: Model, head: str, head_only: bool, flip: bool, optimizer, batch: int) -> Callable:
    """jit: one optimisation step on ``order[start:start + batch]`` of the device-resident data, with
    the flips drawn from ``fold_in(key, step_number)``."""

    def logits_of(trainable, frozen, rest, inputs, flipped):
        if head_only:
            feats = jnp.where(flipped[:, None], inputs[:, -1], inputs[:, 0])
            return bb.dense(trainable, head, feats)
        x = model.normalize(inputs)
        x = jnp.where(flipped[:, None, None, None], x[:, :, ::-1], x)
        return model.module.apply({**rest, "params": bb.merge_params(trainable, frozen)}, x)

    def step(trainable, opt_state, frozen, rest, inputs, labels, mask, order, start, key, step_number):
        idx = jax.lax.dynamic_slice_in_dim(order, start, batch)
        key = jax.random.fold_in(key, step_number)
        flipped = jax.random.bernoulli(key, 0.5, idx.shape) if flip else jnp.zeros(idx.shape, bool)

        def loss_fn(params):
            return masked_bce(logits_of(params, frozen, rest, inputs[idx], flipped), labels[idx], mask[idx])

        loss, grads = jax.value_and_grad(loss_fn)(trainable)
        updates, opt_state = optimizer.update(grads, opt_state, trainable)
        return optax.apply_updates(trainable, updates), opt_state, loss

    return jax.jit(step)
