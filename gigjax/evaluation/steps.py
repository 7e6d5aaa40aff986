"""The jitted computations of an evaluation batch, built once per (method, settings) and cached.

* :func:`confidence_step` — per image: predict, explain the prediction, then Average Drop /
  Increase in Confidence and the Deletion / Insertion curves on the same map (RISE and Grad-CAM++
  protocols: the class is the image's top-1).
* :func:`localization_step` — per (image, class) pair: explain the class (see
  :mod:`gigjax.evaluation.targets`), at the model's input resolution.
* :func:`localization_metrics` — Pointing Game and Energy PG of those maps in each original image's
  pixel grid (no model; compiled per canvas size, which is cheap).

Every function is pure and batched over the leading axis; sharded inputs (see
:mod:`gigjax.evaluation.sharding`) make XLA run each device's slice of the batch where it lives.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from gigjax import metrics as M
from gigjax.evaluation.targets import ClassTargets
from gigjax.explain import explainer


@dataclasses.dataclass(frozen=True)
class Settings:
    """Metric settings of a run (part of its identity: changing one needs a new output folder).

    Attributes:
      metrics: metric names (see :data:`gigjax.metrics.METRICS`).
      tolerance: Pointing Game tolerance in pixels (hit when the distance is strictly less).
      masking_space: ``"normalized"`` (default) or ``"pixel"`` for Average Drop / Increase.
      step: pixels changed per Deletion / Insertion step (RISE: 224 or 1792 at 224×224).
      chunk: Deletion / Insertion steps per model call (memory: ``chunk × batch`` images).
    """

    metrics: tuple[str, ...]
    tolerance: int = M.TOLERANCE
    masking_space: str = "normalized"
    step: int = 224
    chunk: int = 8

    @property
    def confidence_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m in M.CONFIDENCE + M.CAUSAL)

    @property
    def localization_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m in M.LOCALIZATION)

    def identity(self) -> dict:
        out = {"metrics": list(self.metrics)}
        if self.localization_metrics:
            out["tolerance"] = self.tolerance
        if any(m in self.metrics for m in M.CONFIDENCE):
            out["masking_space"] = self.masking_space
        if any(m in self.metrics for m in M.CAUSAL):
            out["step"] = self.step
        return out


def _freeze(options: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


@functools.lru_cache(maxsize=64)
def _explainer(method: str, options: tuple) -> Callable:
    return explainer(method, **dict(options))


@functools.lru_cache(maxsize=64)
def _confidence(method: str, options: tuple, settings: Settings) -> Callable:
    explain_fn = _explainer(method, options)
    wanted = settings.confidence_metrics

    def run(model, x):
        probs = jax.nn.softmax(model.logits(x), axis=-1)
        classes = jnp.argmax(probs, axis=-1).astype(jnp.int32)
        y = jnp.take_along_axis(probs, classes[:, None], axis=1)[:, 0]
        maps = explain_fn(model, x, classes)
        out = {"pred": classes, "y": y, "maps": maps}
        if any(m in wanted for m in M.CONFIDENCE):
            o = M.masked_confidence(model, x, maps, classes, settings.masking_space)
            out["o"] = o
            out["average_drop"] = M.average_drop(y, o)
            out["increase_in_confidence"] = M.increase_in_confidence(y, o)
        xs = M.fractions(x.shape[1] * x.shape[2], settings.step)
        for mode in M.CAUSAL:
            if mode in wanted:
                curve = M.causal_curve(model, x, maps, classes, mode=mode, step=settings.step, chunk=settings.chunk)
                out[f"{mode}_curve"] = curve
                out[mode] = M.auc(curve, xs)
        return out

    return jax.jit(run)


def confidence_step(method: str, options: dict, settings: Settings) -> Callable:
    """``(model, x (B, H, W, C)) → {"pred", "y", "maps", "o", "average_drop", …, "deletion_curve", …}``."""
    return _confidence(method, _freeze(options), settings)


@functools.lru_cache(maxsize=64)
def _localization(method: str, options: tuple, targets: ClassTargets) -> Callable:
    explain_fn = _explainer(method, options)

    def run(model, x, ids):
        return explain_fn(model, x, targets.targets(ids))

    return jax.jit(run)


def localization_step(method: str, options: dict, targets: ClassTargets) -> Callable:
    """``(model, x (P, H, W, C), ids (P,) int) → maps (P, H, W)``: pair p explains entry ``ids[p]``."""
    return _localization(method, _freeze(options), targets)


@functools.partial(jax.jit, static_argnames=("canvas", "tolerance"))
def localization_metrics(maps, sizes, boxes, valid, *, canvas: tuple[int, int], tolerance: int):
    """(P, h, w) maps at the model input → Pointing Game hits and Energy PG in each image's own grid."""
    big = M.to_image_size(maps, sizes, canvas)
    hit, point = M.pointing_game(big, sizes, boxes, valid, tolerance)
    energy = M.energy_pointing_game(big, sizes, boxes, valid)
    return {"hit": hit, "point": point, "energy": energy}


_CANVAS_STEPS = (256, 384, 512, 640, 768, 1024, 1280, 1536, 2048, 3072, 4096)


def canvas_size(sizes: np.ndarray) -> tuple[int, int]:
    """A square canvas holding every (H, W) of the batch, from a short ladder of sizes (so only a
    few shapes are ever compiled)."""
    side = int(np.max(sizes))
    for step in _CANVAS_STEPS:
        if side <= step:
            return step, step
    side = -(-side // 1024) * 1024
    return side, side


def box_slots(n: int) -> int:
    """Padded box count: the next power of two ≥ max(n, 4)."""
    return 1 << max(2, int(np.ceil(np.log2(max(n, 1)))))
