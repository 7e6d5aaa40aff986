"""What the forward-only CAMs share (CAM, Score-CAM, Ablation-CAM, FG-CAM's Score-CAM base): target
classes fixed on the unperturbed input, and many perturbed forward passes evaluated in bounded chunks."""

from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.methods.gradcam import weighted_sum
from gigjax.surgery import forward
from gigjax.targets import Targets, target_scores


def fixed_classes(targets: Targets, logits: jax.Array, method: str) -> tuple[jax.Array, jax.Array]:
    """(scores (B,), classes (B,)) on the unperturbed logits; the classes stay fixed for every
    perturbed copy. A targets callable must return class indices (a score callable is an error:
    it cannot be re-applied to a batch of perturbed copies of other sizes, and CAM weights classes)."""
    if callable(targets):
        out = jax.eval_shape(targets, logits)  # logits may be any output pytree
        if not jnp.issubdtype(out.dtype, jnp.integer):
            raise GigjaxError(f"{method} explains a fixed class of each image: a targets callable must return "
                              f"class indices, not scores")
    return target_scores(targets, logits)


def class_weighted_maps(model, x: jax.Array, targets: Targets, layers: tuple[str, ...], method: str,
                        weights: Callable[[str, jax.Array, jax.Array, jax.Array], jax.Array]) -> tuple[jax.Array, ...]:
    """Raw maps Σ_k w_k A_k (B, h, w), one per layer, of a forward-only CAM: one forward pass records
    the layers, the classes are fixed on its logits (:func:`fixed_classes`), and
    ``weights(layer, A (B, h, w, K), scores (B,), classes (B,)) → (B, K)`` gives the channel weights."""
    logits, acts = forward(model, x, record=layers)
    scores, classes = fixed_classes(targets, logits, method)
    return tuple(weighted_sum(acts[layer], weights(layer, acts[layer], scores, classes)) for layer in layers)


def map_chunks(fn: Callable[[jax.Array], Any], n: int, chunk: int) -> Any:
    """``fn`` over the indices 0..n−1, ``chunk`` at a time, as one ``lax.map`` (peak memory ∝ chunk).

    Args:
      fn: ``indices (chunk,) int32 → pytree`` whose leaves have a leading axis of length ``chunk``.
      n: number of items.
      chunk: items per call of ``fn`` (clipped to ``n``). The last chunk is padded by repeating item
        n−1, so ``fn`` is traced for one shape only; the padding is dropped from the result.

    Returns:
      The pytree with leaves of leading length ``n``.
    """
    chunk = max(1, min(int(chunk), n))
    count = math.ceil(n / chunk)
    index = jnp.minimum(jnp.arange(count * chunk, dtype=jnp.int32), n - 1).reshape(count, chunk)
    out = jax.lax.map(fn, index)
    return jax.tree_util.tree_map(lambda o: o.reshape(count * chunk, *o.shape[2:])[:n], out)
