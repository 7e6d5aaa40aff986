"""Post-processing shared by every method (spec §1): ReLU → N → Up, and multi-layer fusion.

All functions take and return (B, h, w) maps and are pure and jit-able.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

EPS = 1e-7  # pytorch-grad-cam's epsilon in its min-max scaling


def normalize(maps: jax.Array, eps: float = EPS) -> jax.Array:
    """Per-image min–max normalisation N(m) = (m − min)/(max − min + eps); blank maps → 0."""
    lo = jnp.min(maps, axis=(-2, -1), keepdims=True)
    hi = jnp.max(maps, axis=(-2, -1), keepdims=True)
    return (maps - lo) / (hi - lo + eps)


def upsample(maps: jax.Array, size: tuple[int, int]) -> jax.Array:
    """Bilinear resize of (B, h, w) maps to ``size`` with half-pixel centres (like cv2/``jax.image``)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return jax.image.resize(maps, (*maps.shape[:-2], *size), method="bilinear", antialias=False)


def _relu_norm_up(maps: jax.Array, size: tuple[int, int] | None, relu: bool, norm: bool) -> jax.Array:
    if relu:
        maps = jax.nn.relu(maps)
    if norm:
        maps = normalize(maps)
    return maps if size is None else upsample(maps, size)


def finish(maps: jax.Array, size: tuple[int, int] | None, *, relu: bool = True, norm: bool = True) -> jax.Array:
    """One map per image: ReLU → N → Up (each step optional; ``size=None`` keeps the resolution).

    With ``norm``, a resized map is normalised once more (as pytorch-grad-cam does), so it spans
    exactly [0, 1]: bilinear resizing of a [0, 1] map rarely lands on the original extremes.
    """
    resized = size is not None and tuple(maps.shape[-2:]) != tuple(size)
    maps = _relu_norm_up(maps, size, relu, norm)
    return normalize(maps) if norm and resized else maps


def fuse_layers(maps: Sequence[jax.Array], how: str = "mean", *, relu: bool = True, norm: bool = True,
                size: tuple[int, int] | None = None) -> jax.Array:
    """Several layers' maps → one: each is ReLU'd, normalised and resized to ``size`` (default: the
    largest layer's), then averaged (pytorch-grad-cam) or max-ed (LayerCAM, torch-cam), then
    normalised again."""
    if len(maps) == 1:
        return finish(maps[0], size, relu=relu, norm=norm)
    if size is None:
        size = max((tuple(m.shape[-2:]) for m in maps), key=lambda s: s[0] * s[1])
    stack = jnp.stack([_relu_norm_up(m, size, relu, norm) for m in maps])
    fused = jnp.mean(stack, axis=0) if how == "mean" else jnp.max(stack, axis=0)
    return normalize(fused) if norm else fused
