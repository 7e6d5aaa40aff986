"""Deletion and Insertion (Petsiuk et al., RISE; spec §8): causal curves and their AUC.

Pixels are ranked by saliency (most salient first; ties by raster order). Deletion starts from the
image and replaces ``pixels_per_step`` pixels at a time by 0 in normalised space; Insertion starts
from a blurred copy (Gaussian kernel 11, σ 5, as RISE) and restores ``pixels_per_step`` pixels at a
time. The curve records the softmax probability of the class (the image's top-1 in RISE) after
k·pixels_per_step pixels changed, k = 0 … ceil(HW/pixels_per_step); the AUC integrates it by the
trapezoid rule over the changed fraction in [0, 1]. RISE used 224 and 1792 pixels per step at
224×224: record it with the numbers.

The ``S + 1`` model evaluations per image run as ``lax.map`` over the steps with ``chunk`` steps
evaluated per model call, so memory stays at ``chunk × B`` images whatever the step count.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.options import Option
from gigjax.validation import check_choice, check_positive_int

MODES = ("deletion", "insertion")
BLUR_SIZE = 11
BLUR_SIGMA = 5.0
PIXELS_PER_STEP = 224  # RISE's figure at 224×224 (it also used 1792)
CHUNK = 8

#: The evaluation settings Deletion and Insertion read (see :mod:`gigjax.metrics.table`).
SETTINGS = {
    "pixels_per_step": Option(PIXELS_PER_STEP, "deletion/insertion: pixels changed per step (RISE used 224 "
                                               "and 1792 at 224x224)", check=check_positive_int, flags=("--step",)),
    "curve_chunk": Option(CHUNK, "deletion/insertion steps evaluated per model call (bounds memory: curve_chunk "
                                 "x batch images; results unchanged, so not part of the identity)",
                          check=check_positive_int, affects_results=False),
}


def _reflect(index: int, n: int) -> int:
    """Index into a length-n axis under half-sample symmetric reflection (scipy 'reflect')."""
    period = 2 * n
    index %= period
    return index if index < n else period - 1 - index


def gaussian_kernel_1d(size: int = BLUR_SIZE, sigma: float = BLUR_SIGMA, truncate: float = 4.0) -> np.ndarray:
    """RISE's blur kernel along one axis: a unit impulse at the centre of a length-``size`` signal,
    smoothed by a Gaussian of ``sigma`` (radius ``truncate·sigma``) with reflecting boundaries — i.e.
    ``scipy.ndimage.gaussian_filter`` of the impulse, which is how RISE builds it. Sums to 1."""
    radius = int(truncate * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    centre = size // 2
    out = np.zeros(size)
    for i in range(size):
        for j, w in zip(range(-radius, radius + 1), taps):
            if _reflect(i + j, size) == centre:
                out[i] += w
    return out


def gaussian_kernel(size: int = BLUR_SIZE, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """(size, size) RISE blur kernel (separable: outer product of :func:`gaussian_kernel_1d`)."""
    k = gaussian_kernel_1d(size, sigma)
    return np.outer(k, k).astype(np.float32)


def blur(x: jax.Array, size: int = BLUR_SIZE, sigma: float = BLUR_SIGMA) -> jax.Array:
    """Per-channel blur of (B, H, W, C) with the RISE kernel and zero padding (``size // 2``)."""
    channels = x.shape[-1]
    kernel = jnp.asarray(gaussian_kernel(size, sigma))[:, :, None, None] * jnp.ones((1, 1, 1, channels))
    pad = size // 2
    return jax.lax.conv_general_dilated(
        x, kernel.astype(x.dtype), window_strides=(1, 1), padding=((pad, pad), (pad, pad)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=channels,
        precision=jax.lax.Precision.HIGHEST)


def num_steps(num_pixels: int, pixels_per_step: int) -> int:
    """Number of model evaluations of a curve: ceil(HW / pixels_per_step) + 1."""
    return math.ceil(num_pixels / pixels_per_step) + 1


def fractions(num_pixels: int, pixels_per_step: int) -> np.ndarray:
    """The curve's x-axis: changed fraction of the pixels after each step, (S + 1,), 0 … 1."""
    changed = np.minimum(np.arange(num_steps(num_pixels, pixels_per_step)) * pixels_per_step, num_pixels)
    return changed / num_pixels


def saliency_rank(saliency: jax.Array) -> jax.Array:
    """(B, H, W) saliency → (B, H·W) int32 rank of each pixel (0 = most salient; ties → raster order)."""
    flat = saliency.reshape(saliency.shape[0], -1)
    order = jnp.argsort(flat, axis=1, descending=True, stable=True)
    ranks = jnp.broadcast_to(jnp.arange(flat.shape[1], dtype=jnp.int32), flat.shape)
    return jnp.zeros_like(order, dtype=jnp.int32).at[jnp.arange(flat.shape[0])[:, None], order].set(ranks)


def causal_curve(model, x: jax.Array, saliency: jax.Array, classes: jax.Array, *, mode: str = "deletion",
                 pixels_per_step: int = PIXELS_PER_STEP, chunk: int = CHUNK) -> jax.Array:
    """The Deletion or Insertion curve of each image.

    Args:
      model: a gigjax Model (``model.logits``).
      x: (B, H, W, C) normalised input.
      saliency: (B, H, W) map at the input resolution.
      classes: (B,) int class whose probability is tracked (RISE: the top-1 on ``x``).
      mode: ``"deletion"`` (x → zeros) or ``"insertion"`` (blurred x → x).
      pixels_per_step: pixels changed per step (static).
      chunk: steps evaluated per model call (static; bounds memory to ``chunk·B`` images).

    Returns:
      (B, S + 1) float32 probabilities, S + 1 = :func:`num_steps`.
    """
    check_choice(mode, "mode", MODES)
    chex.assert_rank(x, 4)
    b, h, w, c = x.shape
    chex.assert_shape(saliency, (b, h, w))
    chex.assert_shape(classes, (b,))
    if mode == "deletion":
        start, finish = x, jnp.zeros_like(x)
    else:
        start, finish = blur(x), x
    rank = saliency_rank(saliency).reshape(b, h, w, 1)
    changed = jnp.asarray(np.minimum(np.arange(num_steps(h * w, pixels_per_step)) * pixels_per_step, h * w),
                          jnp.int32)
    classes = classes.astype(jnp.int32)

    def score(n):
        image = jnp.where(rank < n, finish, start)
        probs = jax.nn.softmax(model.logits(image), axis=-1)
        return jnp.take_along_axis(probs, classes[:, None], axis=1)[:, 0]

    return jax.lax.map(score, changed, batch_size=min(chunk, changed.shape[0])).T


def auc(curve: jax.Array, xs: np.ndarray | jax.Array) -> jax.Array:
    """Trapezoid area under (B, S + 1) curves sampled at ``xs`` (S + 1,) in [0, 1] → (B,)."""
    xs = jnp.asarray(xs, curve.dtype)
    widths = xs[1:] - xs[:-1]
    return jnp.sum(widths * (curve[:, 1:] + curve[:, :-1]) * 0.5, axis=1)
