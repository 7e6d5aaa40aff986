"""Occlusion (Zeiler & Fergus, ECCV 2014; captum ``Occlusion``): the score drop when a sliding window
of the image is set to the baseline (spec §12).

Windows of ``window``×``window`` pixels (all channels) start at every multiple of ``stride`` that
keeps them inside the image (captum's placement, no padding). Each pixel's map value is the drop
S_c(x) − S_c(x with the window at the baseline), averaged over the windows that cover it; pixels no
window covers get 0. S_c is the class logit (``score="logit"``, captum's forward output; or
``"probability"``). ``baseline``: ``"black"`` (default), ``"zero"``, a number or an array (see
:mod:`gigjax.baselines`). The windows run ``batch_size`` at a time (:mod:`gigjax.methods.masking`).
Defaults: window 32, stride 16.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.baselines import baseline_for
from gigjax.errors import GigjaxError
from gigjax.methods.masking import SCORE, class_scores, masked_score_sum
from gigjax.methods.perturb import fixed_classes
from gigjax.numerics import safe_divide
from gigjax.options import BASELINE, CHUNK, Option
from gigjax.registry import Method, register
from gigjax.validation import check_positive_int

OCCLUSION = {
    "window": Option(32, "side of the square window, in pixels", check=check_positive_int, quick=4),
    "stride": Option(16, "step between windows, in pixels", check=check_positive_int, quick=4),
    "baseline": BASELINE.but(doc="what the window is set to, as a baseline (see gigjax.baselines)"),
    "score": SCORE.but(default="logit"),
    "batch_size": CHUNK,
}


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start offsets 0, stride, … of the windows that fit in an axis of length ``n``."""
    if window > n:
        raise GigjaxError(f"occlusion window {window} is larger than the image side {n}")
    return np.arange(0, n - window + 1, stride)


def window_masks(size: tuple[int, int], window: int, stride: int):
    """(count, ``index → (H, W)`` 0/1 mask of window i, coverage (H, W) numpy count of windows)."""
    rows, cols = (window_starts(n, window, stride) for n in size)
    starts = np.stack(np.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)
    coverage = np.zeros(size)
    for r, c in starts:
        coverage[r:r + window, c:c + window] += 1
    ys, xs = np.arange(size[0]), np.arange(size[1])
    table = jnp.asarray(starts, jnp.int32)

    def mask(i):
        r, c = table[i, 0], table[i, 1]
        inside_y = (ys >= r) & (ys < r + window)
        inside_x = (xs >= c) & (xs < c + window)
        return (inside_y[:, None] & inside_x[None, :]).astype(jnp.float32)

    return len(starts), mask, coverage


def occlusion(model, x, targets, *, layers, window, stride, baseline, score, batch_size) -> jax.Array:
    """Registry function: the raw (B, H, W) occlusion map (mean score drop per pixel)."""
    count, mask, coverage = window_masks(tuple(x.shape[1:3]), window, stride)
    x0 = baseline_for(model, x, baseline)
    _, classes = fixed_classes(targets, model.logits(x), "Occlusion")
    clean = class_scores(model.logits(x), classes, score)
    occluded = masked_score_sum(model, x, classes, mask, lambda v, m: jnp.where(m[None, :, :, None] > 0, x0, v),
                                count, batch_size, score)
    coverage = jnp.asarray(coverage, jnp.float32)
    return safe_divide(clean[:, None, None] * coverage - occluded, coverage)


register(Method(
    name="occlusion", fn=occlusion,
    summary="Occlusion: score drop when a sliding window is set to the baseline, averaged per pixel",
    options=OCCLUSION, uses_layers=False, class_index=True))
