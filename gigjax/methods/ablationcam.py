"""Ablation-CAM (Desai & Ramaswamy, WACV 2020): w_k = (y_c − y_c^(k)) / y_c, y_c^(k) the class score
with channel k of the layer's activation set to zero; map = Σ_k w_k A_k (spec §2).

Only the network after the layer is re-run (:func:`gigjax.surgery.run_from`: under ``jit`` XLA drops the
unused earlier computation; a skip connection over the layer keeps what it needs). The B·K ablated
passes run ``batch_size`` at a time inside one ``lax.map``. y is the class logit, the class is fixed from
the unablated input, and an image whose y_c is exactly 0 gets zero weights.

pytorch-grad-cam differs on layers that can be negative: it fills the ablated channel with
``min(A) − 1e7`` instead of 0. gigjax follows the paper (zero).
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from gigjax.methods.perturb import class_weighted_maps, map_chunks
from gigjax.models import Model
from gigjax.numerics import safe_divide
from gigjax.options import CHUNK
from gigjax.registry import Method, register
from gigjax.surgery import run_from
from gigjax.targets import Targets


def ablation_weights(model: Model, x: jax.Array, layer: str, a: jax.Array, scores: jax.Array, classes: jax.Array,
                     *, batch_size: int = CHUNK.default) -> jax.Array:
    """(B, K) Ablation-CAM weights of ``layer`` (activation ``a`` (B, h, w, K), class scores (B,))."""
    chex.assert_rank([x, a, scores, classes], [4, 4, 1, 1])
    chex.assert_equal_shape_prefix([x, a, scores, classes], 1)
    b_count, k_count = a.shape[0], a.shape[-1]

    def chunk_scores(index):
        b, k = index // k_count, index % k_count
        keep = 1.0 - jax.nn.one_hot(k, k_count, dtype=a.dtype)  # (chunk, K)
        logits = run_from(model, layer, a[b] * keep[:, None, None, :], x[b])
        return jnp.take_along_axis(logits, classes[b][:, None], axis=1)[:, 0]

    ablated = map_chunks(chunk_scores, b_count * k_count, batch_size).reshape(b_count, k_count)
    y = scores[:, None]
    return safe_divide(y - ablated, y)


def ablationcam(model: Model, x: jax.Array, targets: Targets, *, layers: tuple[str, ...],
                batch_size: int) -> tuple[jax.Array, ...]:
    """Registry function: raw Ablation-CAM maps Σ_k w_k A_k (B, h, w), one per layer."""
    return class_weighted_maps(model, x, targets, layers, "Ablation-CAM", lambda layer, a, scores, classes:
                               ablation_weights(model, x, layer, a, scores, classes, batch_size=batch_size))


register(Method(
    name="ablationcam",
    fn=ablationcam,
    summary="Ablation-CAM: channels weighted by the relative score drop when each is zeroed",
    options={"batch_size": CHUNK},
    class_index=True,
))
