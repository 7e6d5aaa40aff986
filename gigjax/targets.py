"""Which score each image is explained for.

``targets`` may be:

* ``None`` — the predicted class (argmax of the logits) of each image;
* an ``int`` — the same class for every image;
* an int array of length B — one class per image (any other length is an error);
* a callable on the model's output ``(B, C) → (B,)`` (any output pytree: segmentation logits, a
  detection dict): an integer result is taken as class indices, a float result as the scores to
  explain themselves (e.g. the log-sum-exp of several classes' logits). Ready-made:
  :func:`classes`, :func:`probability`, :func:`region`, :func:`box_score`.

A model whose output is not (B, classes) logits needs a callable (``None`` or a class index is an error).

**Out-of-range classes** (negative or ≥ C) are an error wherever they can be seen: an int or a concrete
array in an eager call (``gigjax.explain``, or the explainer called outside ``jit``). Where they cannot
— a traced array under ``jax.jit``, or the integer result of a callable, which always runs traced — the
image's map is **all NaN**: :func:`target_scores` gives it a NaN score with a NaN gradient and reports
its class as C (one past the last), which JAX's gathers (default ``fill`` mode) also turn into NaN. It
is never a blank map, and a negative index never wraps around to another class (−3 is not class C−3).
"""

from __future__ import annotations

from typing import Any, Callable, Union

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.target_functions import box_score, classes, probability, region  # noqa: F401  (public here)
from gigjax.validation import is_concrete

Targets = Union[None, int, np.ndarray, jax.Array, Callable[[jax.Array], jax.Array]]


def check_targets(targets: Targets, batch: int, num_classes: int | None = None) -> Targets:
    """Validates ``targets`` against the batch size (and class count) before any computation."""
    if targets is None or callable(targets):
        return targets
    if isinstance(targets, bool):
        raise GigjaxError(f"targets must be None, an int, an int array of length B or a callable; got {targets!r}")
    if isinstance(targets, (int, np.integer)):
        _check_range(np.asarray(targets), num_classes)
        return int(targets)
    arr = targets if isinstance(targets, jax.Array) else np.asarray(targets)
    if not np.issubdtype(arr.dtype, np.integer):
        raise GigjaxError(f"targets must hold integer class indices, got dtype {arr.dtype}")
    if arr.ndim == 0:
        if is_concrete(arr):
            _check_range(arr, num_classes)
        return arr
    if arr.ndim != 1 or arr.shape[0] != batch:
        raise GigjaxError(f"targets has shape {tuple(arr.shape)} but the batch holds {batch} images: "
                          f"give one class per image, a single int, None or a callable")
    if is_concrete(arr):
        _check_range(arr, num_classes)
    return arr


def _check_range(arr: np.ndarray, num_classes: int | None) -> None:
    arr = np.asarray(arr)
    if num_classes is not None and arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise GigjaxError(f"target class {int(arr.min() if arr.min() < 0 else arr.max())} is out of range "
                          f"0..{num_classes - 1}")


def target_scores(targets: Targets, logits: Any) -> tuple[jax.Array, jax.Array]:
    """(B, C) logits (or any output pytree, with a callable) → (scores (B,), classes (B,) int32).

    ``classes`` is −1 where a callable gave scores, and C where the requested class is out of range
    (negative or ≥ C); such an image's score is NaN and so is its gradient (see the module docstring).
    """
    if callable(targets):
        batch = jax.tree_util.tree_leaves(logits)[0].shape[0]
        out = targets(logits)
        if getattr(out, "shape", None) != (batch,):
            raise GigjaxError(f"a targets callable must map the model's output {_shapes(logits)} to shape "
                              f"({batch},), got {getattr(out, 'shape', type(out).__name__)}")
        if not jnp.issubdtype(out.dtype, jnp.integer):
            return out, jnp.full((batch,), -1, jnp.int32)
        _check_logits(logits, "a targets callable returning class indices")
        classes = out.astype(jnp.int32)
    else:
        _check_logits(logits, "targets=None or a class index" if targets is None else "a class index target")
        if targets is None:
            classes = jnp.argmax(jax.lax.stop_gradient(logits), axis=-1).astype(jnp.int32)
        else:
            classes = jnp.broadcast_to(jnp.asarray(targets, jnp.int32), (logits.shape[0],))
    return _gather_scores(logits, classes)


def _gather_scores(logits: jax.Array, classes: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Each row's logit at ``classes``; out-of-range rows get a NaN score (times NaN, so the gradient is
    NaN too, not the 0 a gather past the end would give) and the class C."""
    num_classes = logits.shape[-1]
    valid = (classes >= 0) & (classes < num_classes)
    picked = jnp.take_along_axis(logits, jnp.where(valid, classes, 0)[:, None], axis=1)[:, 0]
    poison = jnp.where(valid, 1.0, jnp.nan).astype(logits.dtype)
    return picked * poison, jnp.where(valid, classes, num_classes).astype(jnp.int32)


def _shapes(output: Any) -> Any:
    return jax.tree_util.tree_map(lambda v: tuple(getattr(v, "shape", ())), output)


def _check_logits(output: Any, what: str) -> None:
    if not isinstance(output, jax.Array) or output.ndim != 2:
        raise GigjaxError(f"{what} needs (B, classes) logits, but the model outputs {_shapes(output)}: give "
                          f"targets= a callable on that output, e.g. gigjax.targets.region(mask, c) or "
                          f"gigjax.targets.box_score(i)")


def freeze_targets(targets: Targets, model: Any, x: jax.Array) -> Targets:
    """Fixes ``targets`` at the reference input ``x``, for methods that evaluate the model elsewhere
    (along an integration path, at other scales) but must explain the class chosen at ``x``.

    ``None`` and a callable with an integer result become the (B,) classes they pick on
    ``model.logits(x)``; a callable with a float result (a score function) is kept, since it is its
    own target at every point; ints and arrays are returned unchanged. Pure and jit-able.
    """
    if targets is not None and not callable(targets):
        return targets
    logits = jax.lax.stop_gradient(model.logits(x))
    if targets is None:
        return target_scores(None, logits)[1]
    _, classes = target_scores(targets, logits)  # also checks the callable's output shape
    return classes if jnp.issubdtype(jax.eval_shape(targets, logits).dtype, jnp.integer) else targets
