"""PASCAL VOC classification average precision (AP) and its mean over classes (mAP), in JAX.

For one class, images are ranked by score (highest first) and precision/recall are read at every
score threshold:

* ``"area"`` (VOC2010 and later, the default): the area under the precision–recall curve after
  making precision monotone (``p(r) = max_{r' ≥ r} p(r')``), summed over the recall steps.
* ``"11point"`` (VOC2007): the mean over ``t ∈ {0, 0.1, …, 1}`` of ``max_{r ≥ t} p(r)`` (0 where no
  recall reaches ``t``). The thresholds are ``k/10``, so a recall of exactly 0.3 counts at ``t = 0.3``.

Conventions (``labels`` true = the class is present, ``mask`` false = ignored):

* Ignored entries (VOC "difficult": the class appears only in boxes marked difficult) count neither as
  true nor as false positives, as in the VOC devkit.
* **Ties** are one threshold: tied scores enter the ranking together, so the AP does not depend on
  the order of the images. (The devkit ranks tied images in file order, which makes its AP depend on
  that order; the two agree whenever scores are distinct.)
* A class with no positive image has no AP: it is NaN, excluded from the mAP and counted
  (:func:`mean_average_precision` returns the count).

Everything is pure and jit-able; ``scores`` must be finite (checked when concrete).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.validation import check_choice, is_concrete

METHODS = ("area", "11point")


def _ranked_precision_recall(scores: jax.Array, labels: jax.Array, mask: jax.Array):
    """(N,) → precision, recall (N,) at each rank, tied scores read at the end of their run; and the
    number of positives."""
    order = jnp.argsort(-scores, stable=True)
    s = scores[order]
    pos = (labels & mask)[order]
    neg = (~labels & mask)[order]
    tp, fp = jnp.cumsum(pos), jnp.cumsum(neg)
    n = s.shape[0]
    run_end = jnp.append(s[1:] != s[:-1], True)
    end = jax.lax.cummin(jnp.where(run_end, jnp.arange(n), n), reverse=True)
    tp, fp = tp[end].astype(jnp.float32), fp[end].astype(jnp.float32)
    npos = jnp.sum(pos)
    recall = tp / jnp.maximum(npos, 1)
    precision = jnp.where(tp + fp > 0, tp / jnp.maximum(tp + fp, 1), 0.0)
    return precision, recall, npos


def _area(precision: jax.Array, recall: jax.Array) -> jax.Array:
    interpolated = jax.lax.cummax(precision, reverse=True)
    step = recall - jnp.concatenate([jnp.zeros((1,), recall.dtype), recall[:-1]])
    return jnp.sum(step * interpolated)


def _eleven_point(precision: jax.Array, recall: jax.Array) -> jax.Array:
    thresholds = jnp.arange(11, dtype=jnp.float32) / 10
    best = jnp.max(jnp.where(recall[None, :] >= thresholds[:, None], precision[None, :], 0.0), axis=1)
    return jnp.mean(best)


def _check(scores, labels, mask):
    scores = jnp.asarray(scores, jnp.float32)
    labels = jnp.asarray(labels).astype(bool)
    mask = jnp.ones(labels.shape, bool) if mask is None else jnp.asarray(mask).astype(bool)
    if scores.shape != labels.shape or mask.shape != labels.shape or scores.ndim not in (1, 2):
        raise GigjaxError(f"scores {scores.shape}, labels {labels.shape} and mask {mask.shape} must share a "
                          f"(N,) or (N, C) shape")
    if scores.shape[0] == 0:
        raise GigjaxError("average precision of an empty set of images")
    if is_concrete(scores) and not bool(jnp.all(jnp.isfinite(scores))):
        raise GigjaxError("scores contain NaN or Inf values")
    return scores, labels, mask


def average_precision(scores, labels, mask=None, method: str = "area") -> jax.Array:
    """AP of each class.

    Args:
      scores: (N,) or (N, C) classifier scores (any monotone scale: logits or probabilities).
      labels: same shape, true where the class is present in the image.
      mask: same shape, false where the entry is ignored (VOC difficult); default all true.
      method: ``"area"`` (VOC2010+) or ``"11point"`` (VOC2007).

    Returns:
      () or (C,) float32 AP in [0, 1]; NaN for a class with no positive image.
    """
    check_choice(method, "method", METHODS)
    return _average_precision(*_check(scores, labels, mask), method)


@functools.partial(jax.jit, static_argnames="method")
def _average_precision(scores: jax.Array, labels: jax.Array, mask: jax.Array, method: str) -> jax.Array:
    reduce = _area if method == "area" else _eleven_point

    def one(s, l, m):
        precision, recall, npos = _ranked_precision_recall(s, l, m)
        return jnp.where(npos > 0, reduce(precision, recall), jnp.nan)

    if scores.ndim == 1:
        return one(scores, labels, mask)
    return jax.vmap(one, in_axes=1)(scores, labels, mask)


def mean_average_precision(scores, labels, mask=None, method: str = "area") -> tuple[jax.Array, jax.Array, jax.Array]:
    """mAP over the classes that have a positive image.

    Args: as :func:`average_precision` with (N, C) arrays.

    Returns:
      (mAP (), AP per class (C,) with NaN for classes without positives, number of such classes ()).
      The mAP is NaN when no class has a positive.
    """
    if np.ndim(scores) != 2:
        raise GigjaxError(f"mean_average_precision takes (N, C) scores, got shape {np.shape(scores)}")
    ap = average_precision(scores, labels, mask, method)
    undefined = jnp.isnan(ap)
    defined = jnp.sum(~undefined)
    mean = jnp.where(defined > 0, jnp.sum(jnp.where(undefined, 0.0, ap)) / jnp.maximum(defined, 1), jnp.nan)
    return mean, ap, jnp.sum(undefined)
