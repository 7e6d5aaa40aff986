"""What RISE and occlusion share: the model's score on many masked copies of each image, summed with
the masks as weights, chunk by chunk (spec §12).

    masked_score_sum = Σ_i s_c(blend(x, M_i)) · M_i      (B, H, W)

The N masks M_i (H, W) are made on the device from their index, ``chunk`` at a time inside a
``lax.scan``, so memory is bounded by one chunk (chunk·B images), never by N. The same masks serve
every image of the batch, so a batch gives exactly its images' maps one by one.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp

from gigjax.models import Model
from gigjax.options import Option

SCORES = ("probability", "logit")
SCORE = Option("probability", "what is scored on each masked copy: the softmax probability of the class (RISE) "
                              "or its logit", choices=SCORES)

MaskFn = Callable[[jax.Array], jax.Array]
"""``mask(index () int32) → (H, W)`` float mask in [0, 1]."""

Blend = Callable[[jax.Array, jax.Array], jax.Array]
"""``blend(x (B, H, W, C), mask (H, W)) → (B, H, W, C)`` the perturbed copy."""


def class_scores(logits: jax.Array, classes: jax.Array, score: str) -> jax.Array:
    """(N, num_classes) logits → (N,) scores of ``classes``: the softmax probability or the logit."""
    values = jax.nn.softmax(logits, axis=-1) if score == "probability" else logits
    return jnp.take_along_axis(values, classes[:, None], axis=1)[:, 0]


def masked_score_sum(model: Model, x: jax.Array, classes: jax.Array, mask: MaskFn, blend: Blend, count: int,
                     chunk: int, score: str) -> jax.Array:
    """Σ_{i<count} score(model(blend(x, M_i)))_b · M_i for (B, H, W, C) ``x`` and (B,) ``classes``.

    ``chunk`` masks are evaluated together (one model call on chunk·B images); the last chunk is
    padded with mask ``count − 1`` and its padding weighted 0.
    """
    chunk = max(1, min(int(chunk), count))
    chunks = math.ceil(count / chunk)
    b = x.shape[0]
    index = jnp.arange(chunks * chunk, dtype=jnp.int32).reshape(chunks, chunk)

    def add(total, idx):
        masks = jax.vmap(mask)(jnp.minimum(idx, count - 1))  # (chunk, H, W)
        copies = jax.vmap(lambda m: blend(x, m))(masks)  # (chunk, B, H, W, C)
        logits = model.logits(copies.reshape(chunk * b, *x.shape[1:]))
        s = class_scores(logits, jnp.tile(classes, chunk), score).reshape(chunk, b)
        s = jnp.where((idx < count)[:, None], s, 0.0)
        return total + jnp.einsum("nb,nhw->bhw", s, masks.astype(s.dtype)), None

    total, _ = jax.lax.scan(add, jnp.zeros((b, *x.shape[1:3]), jnp.float32), index)
    return total
