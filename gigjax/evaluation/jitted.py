"""The jitted computations of an evaluation batch, built once per (method, settings) and cached.
Which metrics they compute, and how, comes from the metric table (:mod:`gigjax.metrics.table`).

* :func:`confidence_program` — per image: predict, explain the prediction, then every
  confidence-family metric of the run on that map (RISE and Grad-CAM++ protocols: the class is the
  image's top-1).
* :func:`localization_program` — per (image, class) pair: explain the class (see
  :mod:`gigjax.evaluation.class_targets`), at the model's input resolution.
* :func:`localization_metrics` — every localisation-family metric of those maps in each original
  image's pixel grid (no model; compiled per canvas size, which is cheap).

Every function is pure and batched over the leading axis; sharded inputs (see
:mod:`gigjax.evaluation.sharding`) make XLA run each device's slice of the batch where it lives.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from gigjax import metrics as M
from gigjax.evaluation.class_targets import ClassTargets
from gigjax.evaluation.settings import Settings
from gigjax.explain import explainer


def _freeze(options: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


@functools.lru_cache(maxsize=64)
def _explainer(method: str, options: tuple) -> Callable:
    return explainer(method, **dict(options))


@functools.lru_cache(maxsize=128)
def _program(build: Callable, method: str, options: tuple, key) -> Callable:
    """``jax.jit(build(explain_fn, key))``, built once per (program, method, frozen options, key)."""
    return jax.jit(build(_explainer(method, options), key))


def _confidence_run(explain_fn: Callable, settings: Settings) -> Callable:
    def run(model, x, indices):
        probs = jax.nn.softmax(model.logits(x), axis=-1)
        classes = jnp.argmax(probs, axis=-1).astype(jnp.int32)
        y = jnp.take_along_axis(probs, classes[:, None], axis=1)[:, 0]
        maps = explain_fn(model, x, classes)
        out = {"pred": classes, "y": y, "maps": maps}
        batch = M.ImageBatch(model, x, maps, classes, y, explain_fn, indices, settings)
        for name in settings.confidence_metrics:
            out.update(M.metric(name).compute(batch))
        return out

    return run


def confidence_program(method: str, options: dict, settings: Settings) -> Callable:
    """``(model, x (B, H, W, C), indices (B,) int32 dataset indices) → {"pred", "y", "maps", <each
    confidence metric's outputs>}``."""
    return _program(_confidence_run, method, _freeze(options), settings)


def _localization_run(explain_fn: Callable, targets: ClassTargets) -> Callable:
    return lambda model, x, ids: explain_fn(model, x, targets.targets(ids))


def localization_program(method: str, options: dict, targets: ClassTargets) -> Callable:
    """``(model, x (P, H, W, C), ids (P,) int) → maps (P, H, W)``: pair p explains entry ``ids[p]``."""
    return _program(_localization_run, method, _freeze(options), targets)


@functools.partial(jax.jit, static_argnames=("canvas", "settings"))
def localization_metrics(maps, sizes, boxes, valid, *, canvas: tuple[int, int], settings: Settings) -> dict:
    """(P, h, w) maps at the model input → every localisation metric's outputs, per pair, in each
    image's own grid (e.g. ``{"hit", "point", "energy"}``)."""
    pairs = M.PairBatch(M.to_image_size(maps, sizes, canvas), sizes, boxes, valid, settings)
    out: dict = {}
    for name in settings.localization_metrics:
        out.update(M.metric(name).compute(pairs))
    return out


_CANVAS_SIDES = (256, 384, 512, 640, 768, 1024, 1280, 1536, 2048, 3072, 4096)


def canvas_size(sizes: np.ndarray) -> tuple[int, int]:
    """A square canvas holding every (H, W) of the batch, from a short ladder of sizes (so only a
    few shapes are ever compiled)."""
    side = int(np.max(sizes))
    for ladder in _CANVAS_SIDES:
        if side <= ladder:
            return ladder, ladder
    side = -(-side // 1024) * 1024
    return side, side


def box_slots(n: int) -> int:
    """Padded box count: the next power of two ≥ max(n, 4)."""
    return 1 << max(2, int(np.ceil(np.log2(max(n, 1)))))
