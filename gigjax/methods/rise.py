"""RISE (Petsiuk, Das & Saenko, BMVC 2018): saliency from the model's score on randomly masked copies
(spec §12).

Mask i: an s×s grid of Bernoulli(p) cells, upsampled bilinearly (half-pixel centres) to
(s+1)·⌈H/s⌉ × (s+1)·⌈W/s⌉ and cropped to H×W at a random shift in [0, ⌈H/s⌉) × [0, ⌈W/s⌉) — the
paper's smooth masks. The map is

    Σ_i P_c(x ⊙ M_i) · M_i / (N · p)

with P_c the softmax probability of the class (``score="probability"``, the paper's; ``"logit"``
also offered) and x ⊙ M_i masking the normalised input, as the official code masks the preprocessed
image. Masks are drawn from ``jax.random.PRNGKey(seed)`` (``seed`` 0 by default: repeatable), one key
per mask index, on the device and ``batch_size`` at a time (:mod:`gigjax.methods.masking`): memory
is bounded by the chunk. The class is fixed on the unmasked input. Defaults: N 4000, s 7, p 0.5.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.methods.masking import SCORE, masked_score_sum
from gigjax.methods.perturb import fixed_classes
from gigjax.options import CHUNK, Option
from gigjax.registry import Method, register
from gigjax.validation import check_fraction, check_int, check_positive_int


RISE = {
    "masks": Option(4000, "number N of random masks (model passes per image)", check=check_positive_int, quick=16),
    "grid": Option(7, "cells s per side of a mask's Bernoulli grid", check=check_positive_int),
    "p": Option(0.5, "probability that a grid cell is kept", check=check_fraction),
    "seed": Option(0, "seed of the masks (jax.random.PRNGKey(seed))", check=check_int),
    "score": SCORE,
    "batch_size": CHUNK,
}


def rise_mask(key: jax.Array, grid: int, p: float, size: tuple[int, int]) -> jax.Array:
    """One (H, W) RISE mask in [0, 1] from ``key``: Bernoulli(p) grid, bilinear upsampling, random crop."""
    h, w = size
    cell = (-(-h // grid), -(-w // grid))
    k_grid, k_dy, k_dx = jax.random.split(key, 3)
    cells = jax.random.bernoulli(k_grid, p, (grid, grid)).astype(jnp.float32)
    up = jax.image.resize(cells, ((grid + 1) * cell[0], (grid + 1) * cell[1]), method="bilinear", antialias=False)
    dy = jax.random.randint(k_dy, (), 0, cell[0])
    dx = jax.random.randint(k_dx, (), 0, cell[1])
    return jax.lax.dynamic_slice(up, (dy, dx), (h, w))


def mask_fn(seed: int, grid: int, p: float, size: tuple[int, int]):
    """``index → (H, W)`` mask i of the RISE draw ``seed`` (key ``fold_in(PRNGKey(seed), i)``)."""
    root = jax.random.PRNGKey(seed)
    return lambda i: rise_mask(jax.random.fold_in(root, i), grid, p, size)


def rise(model, x, targets, *, layers, masks, grid, p, seed, score, batch_size) -> jax.Array:
    """Registry function: the raw (B, H, W) RISE map."""
    _, classes = fixed_classes(targets, model.logits(x), "RISE")
    total = masked_score_sum(model, x, classes, mask_fn(seed, grid, p, tuple(x.shape[1:3])),
                             lambda v, m: v * m[None, :, :, None].astype(v.dtype), masks, batch_size, score)
    return total / (masks * p)


register(Method(
    name="rise", fn=rise,
    summary="RISE: class probability of randomly masked copies, averaged with the masks as weights",
    options=RISE, uses_layers=False, class_index=True))
