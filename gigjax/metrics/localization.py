"""Localisation metrics: the Pointing Game and the Energy-based Pointing Game (spec §8).

Both judge a saliency map against the ground-truth boxes of the explained class, in the pixel grid
of the *original* image. Maps are brought to that grid by :func:`to_image_size`; because images in a
batch differ in size, a batch shares one static ``canvas`` (Hc, Wc) at least as large as every image,
and each image's own (H, W) is given by ``sizes``: pixels outside it are ignored.

Boxes are ``(x0, y0, x1, y1)`` in 0-based *inclusive* pixel coordinates (x = column, y = row); a box
covers the integer pixels ``ceil(x0) ≤ col ≤ floor(x1)``, ``ceil(y0) ≤ row ≤ floor(y1)`` that lie
inside the image (VOC's 1-based boxes are converted by the readers in :mod:`gigjax.data`).

Undefined cases give NaN, which the aggregator excludes and counts (never a silent hit): a blank
map (max = min over the image), or a class whose boxes cover no pixel of the image.

All functions are pure, batched over the leading axis and jit-able; ``canvas`` and ``tolerance`` are
static.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.options import Option

TOLERANCE = 15  # pixels; TorchRay / Zhang et al. (a hit needs distance strictly below it)


def _tolerance(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise GigjaxError(f"{name} must be a non-negative integer (pixels), got {value!r}")
    return value


#: The evaluation setting the Pointing Game reads (see :mod:`gigjax.metrics.table`).
SETTINGS = {"tolerance": Option(TOLERANCE, "pointing game tolerance in pixels (a hit is strictly closer)",
                                check=_tolerance)}


def to_image_size(maps: jax.Array, sizes: jax.Array, canvas: tuple[int, int]) -> jax.Array:
    """Bilinear resize (half-pixel centres, no antialiasing) of each (h, w) map to its image's size.

    Args:
      maps: (B, h, w) maps, e.g. at the model's input resolution.
      sizes: (B, 2) int (H, W) of each original image; every H ≤ Hc and W ≤ Wc.
      canvas: static (Hc, Wc).

    Returns:
      (B, Hc, Wc): image b's map in ``[:H_b, :W_b]`` (identical to ``jax.image.resize(map, (H_b, W_b))``
      there); values outside are meaningless and must be masked with :func:`valid_pixels`.
    """
    _check(maps, sizes)
    h, w = maps.shape[-2:]
    scale = sizes.astype(jnp.float32) / jnp.asarray([h, w], jnp.float32)

    def one(m, s):
        return jax.image.scale_and_translate(m, canvas, (0, 1), s, jnp.zeros(2, jnp.float32),
                                             method="bilinear", antialias=False)

    return jax.vmap(one)(maps.astype(jnp.float32), scale)


def valid_pixels(sizes: jax.Array, canvas: tuple[int, int]) -> jax.Array:
    """(B, Hc, Wc) bool: the pixels that belong to each image."""
    rows = jnp.arange(canvas[0])[None, :, None] < sizes[:, 0, None, None]
    cols = jnp.arange(canvas[1])[None, None, :] < sizes[:, 1, None, None]
    return rows & cols


def _pixel_ranges(boxes: jax.Array, valid: jax.Array, sizes: jax.Array):
    """Integer pixel ranges [c0, c1] × [r0, r1] of each box, clipped to the image; (B, N) each, and
    (B, N) bool ``nonempty`` (valid and covering at least one pixel)."""
    width = sizes[:, 1, None].astype(jnp.float32)
    height = sizes[:, 0, None].astype(jnp.float32)
    c0 = jnp.maximum(jnp.ceil(boxes[..., 0]), 0.0)
    r0 = jnp.maximum(jnp.ceil(boxes[..., 1]), 0.0)
    c1 = jnp.minimum(jnp.floor(boxes[..., 2]), width - 1)
    r1 = jnp.minimum(jnp.floor(boxes[..., 3]), height - 1)
    nonempty = valid & (c0 <= c1) & (r0 <= r1)
    return c0, r0, c1, r1, nonempty


def box_region(boxes: jax.Array, valid: jax.Array, sizes: jax.Array, canvas: tuple[int, int]) -> jax.Array:
    """(B, Hc, Wc) bool union of each image's valid boxes.

    Args:
      boxes: (B, N, 4) float ``(x0, y0, x1, y1)``, 0-based inclusive.
      valid: (B, N) bool, which boxes take part (padding and other classes are False).
      sizes: (B, 2) int (H, W).
      canvas: static (Hc, Wc).
    """
    c0, r0, c1, r1, nonempty = _pixel_ranges(boxes, valid, sizes)
    rows = jnp.arange(canvas[0], dtype=jnp.float32)
    cols = jnp.arange(canvas[1], dtype=jnp.float32)
    in_rows = (rows >= r0[..., None]) & (rows <= r1[..., None]) & nonempty[..., None]  # (B, N, Hc)
    in_cols = (cols >= c0[..., None]) & (cols <= c1[..., None])                        # (B, N, Wc)
    cover = jnp.einsum("bnh,bnw->bhw", in_rows.astype(jnp.float32), in_cols.astype(jnp.float32))
    return cover > 0


def _check(maps, sizes, boxes=None, valid=None) -> None:
    chex.assert_rank(maps, 3)
    chex.assert_shape(sizes, (maps.shape[0], 2))
    if boxes is not None:
        chex.assert_shape(boxes, (maps.shape[0], None, 4))
        chex.assert_shape(valid, boxes.shape[:2])


def _blank(maps: jax.Array, inside: jax.Array) -> jax.Array:
    hi = jnp.max(jnp.where(inside, maps, -jnp.inf), axis=(1, 2))
    lo = jnp.min(jnp.where(inside, maps, jnp.inf), axis=(1, 2))
    return ~(hi > lo)


def max_point(maps: jax.Array, sizes: jax.Array) -> jax.Array:
    """(B, 2) int32 (row, col) of each map's maximum inside its image; ties → the first in row-major
    order (like ``torch.argmax`` on the flattened map, as TorchRay does)."""
    canvas = maps.shape[1:]
    scored = jnp.where(valid_pixels(sizes, canvas), maps, -jnp.inf).reshape(maps.shape[0], -1)
    flat = jnp.argmax(scored, axis=1).astype(jnp.int32)
    return jnp.stack([flat // canvas[1], flat % canvas[1]], axis=1)


def pointing_game(maps: jax.Array, sizes: jax.Array, boxes: jax.Array, valid: jax.Array,
                  tolerance: int = TOLERANCE) -> tuple[jax.Array, jax.Array]:
    """Pointing Game hit of each map (TorchRay protocol).

    The map's first argmax p is a hit when some pixel q of the class's boxes has
    ``|q − p|² < tolerance²`` (strictly). The nearest pixel of a box's integer pixel rectangle is
    ``p`` clamped into it, so no occupancy mask is built.

    Args:
      maps: (B, Hc, Wc) maps in the original images' pixel grid (see :func:`to_image_size`).
      sizes: (B, 2) int (H, W) of each image.
      boxes, valid: the explained class's boxes, see :func:`box_region`.
      tolerance: pixels (static).

    Returns:
      (hit (B,) float32 in {1, 0, NaN}, point (B, 2) int32 (row, col)). NaN: blank map or no box
      pixel inside the image.
    """
    _check(maps, sizes, boxes, valid)
    inside = valid_pixels(sizes, maps.shape[1:])
    point = max_point(maps, sizes)
    c0, r0, c1, r1, nonempty = _pixel_ranges(boxes, valid, sizes)
    row = point[:, 0, None].astype(jnp.float32)
    col = point[:, 1, None].astype(jnp.float32)
    dy = jnp.maximum(jnp.maximum(r0 - row, row - r1), 0.0)
    dx = jnp.maximum(jnp.maximum(c0 - col, col - c1), 0.0)
    close = (dx * dx + dy * dy < float(tolerance) ** 2) & nonempty
    hit = jnp.any(close, axis=1).astype(jnp.float32)
    undefined = _blank(maps, inside) | ~jnp.any(nonempty, axis=1)
    return jnp.where(undefined, jnp.nan, hit), point


def energy_pointing_game(maps: jax.Array, sizes: jax.Array, boxes: jax.Array, valid: jax.Array) -> jax.Array:
    """Energy-based Pointing Game (Score-CAM): Σ ReLU(map) inside the union of the class's boxes
    divided by Σ ReLU(map) over the image. Rows are y and columns x (the official Score-CAM code
    swaps them; this does not).

    Args: as :func:`pointing_game` (maps already min–max normalised, as explainers return them).

    Returns:
      (B,) float32 in [0, 1]; NaN for a map with no energy or a class with no pixel in the image.
    """
    _check(maps, sizes, boxes, valid)
    canvas = maps.shape[1:]
    inside = valid_pixels(sizes, canvas)
    energy = jnp.where(inside, jax.nn.relu(maps), 0.0)
    region = box_region(boxes, valid, sizes, canvas)
    total = jnp.sum(energy, axis=(1, 2))
    within = jnp.sum(jnp.where(region, energy, 0.0), axis=(1, 2))
    undefined = (total <= 0) | ~jnp.any(region, axis=(1, 2))
    return jnp.where(undefined, jnp.nan, within / jnp.where(total > 0, total, 1.0))
