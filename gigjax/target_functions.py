"""Ready-made ``targets`` callables (available as ``gigjax.targets.classes`` etc.).

A targets callable receives the model's output, whatever its pytree — (B, C) logits, (B, H, W, C)
segmentation logits, a detection dict — and returns (B,) class indices (int) or (B,) scores (float)
to explain. Each constructor returns a frozen dataclass: hashable, so ``gigjax.explain`` compiles once
per distinct target and not once per call.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError


def _batch(output: Any) -> int:
    leaves = jax.tree_util.tree_leaves(output)
    if not leaves or getattr(leaves[0], "ndim", 0) < 1:
        raise GigjaxError("the model's output has no batch axis")
    return leaves[0].shape[0]


def _shapes(output: Any) -> Any:
    """The output's pytree with every array replaced by its shape (for messages)."""
    return jax.tree_util.tree_map(lambda v: getattr(v, "shape", v), output)


def _logits(output: Any, who: str) -> jax.Array:
    if not isinstance(output, jax.Array) or output.ndim != 2:
        raise GigjaxError(f"{who} needs (B, classes) logits, the model outputs {_shapes(output)}")
    return output


def _check_in_range(who: str, what: str, index: int, size: int) -> None:
    if index >= size:
        raise GigjaxError(f"{who}: {what} {index} is out of range 0..{size - 1}")


def _class_index(c: Any) -> Any:
    if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or c < 0:
        raise GigjaxError(f"a class is a non-negative int, got {c!r}")
    return int(c)


@dataclasses.dataclass(frozen=True)
class _OfClass:
    """A target read off (B, C) logits for one class ``c`` (a non-negative int, checked on
    construction); a subclass names itself (``name``, for messages) and says what it reads (``of``)."""

    c: int
    name: ClassVar[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "c", _class_index(self.c))

    def __call__(self, output: Any) -> jax.Array:
        return self.of(_logits(output, f"targets.{self.name}"))  # type: ignore[attr-defined]


class Classes(_OfClass):
    """The class ``c`` for every image: logits (B, C) → (B,) int32."""

    name = "classes"

    def of(self, logits: jax.Array) -> jax.Array:
        return jnp.full((_batch(logits),), self.c, jnp.int32)


class Probability(_OfClass):
    """The softmax probability of class ``c``: logits (B, C) → (B,) float."""

    name = "probability"

    def of(self, logits: jax.Array) -> jax.Array:
        _check_in_range("targets.probability", "class", self.c, logits.shape[1])
        return jax.nn.softmax(logits.astype(jnp.float32), axis=-1)[:, self.c]


@dataclasses.dataclass(frozen=True, eq=False)
class Region:
    """Σ over a mask of class ``c``'s segmentation logit: (B, H, W, C) → (B,) float.

    Attributes:
      mask: (H, W) or (B, H, W) weights (0/1 for a region) at the output's resolution.
      c: the segmentation class.
    """

    mask: Any
    c: int

    def __call__(self, output: Any) -> jax.Array:
        if not isinstance(output, jax.Array) or output.ndim != 4:
            raise GigjaxError(f"targets.region needs (B, H, W, classes) segmentation logits, the model outputs "
                              f"{_shapes(output)}")
        mask = jnp.asarray(self.mask, jnp.float32)
        if mask.shape not in (output.shape[1:3], output.shape[:3]):
            raise GigjaxError(f"targets.region: mask of shape {mask.shape} does not cover the output's "
                              f"{output.shape[1:3]} pixels")
        _check_in_range("targets.region", "class", self.c, output.shape[3])
        return jnp.sum(output[..., self.c].astype(jnp.float32) * mask, axis=(1, 2))


@dataclasses.dataclass(frozen=True)
class BoxScore:
    """The score of detection ``i``: ``output[key][:, i]`` for a dict output, else ``output[:, i]``."""

    i: int
    key: str = "scores"

    def __call__(self, output: Any) -> jax.Array:
        scores = output
        if isinstance(output, Mapping):
            if self.key not in output:
                raise GigjaxError(f"targets.box_score: the model's output has no {self.key!r} entry "
                                  f"(keys: {', '.join(map(str, output))}); give key=")
            scores = output[self.key]
        if not isinstance(scores, jax.Array) or scores.ndim != 2:
            raise GigjaxError(f"targets.box_score needs (B, detections) scores, got "
                              f"{getattr(scores, 'shape', type(scores).__name__)}")
        _check_in_range("targets.box_score", "detection", self.i, scores.shape[1])
        return scores[:, self.i].astype(jnp.float32)


def classes(c: int) -> Classes:
    """Targets: class ``c`` of (B, C) logits for every image (an int array target does the same)."""
    return Classes(c)


def probability(c: int) -> Probability:
    """Targets: the softmax probability of class ``c`` (instead of its logit)."""
    return Probability(c)


def region(mask: Any, c: int) -> Region:
    """Targets: Σ_{ij} mask_ij · logit_ijc of a segmentation output (B, H, W, classes)."""
    if getattr(mask, "ndim", None) not in (2, 3):
        raise GigjaxError(f"targets.region: mask must be (H, W) or (B, H, W), got {getattr(mask, 'shape', mask)!r}")
    return Region(mask=mask, c=_class_index(c))


def box_score(i: int, key: str = "scores") -> BoxScore:
    """Targets: the score of detection ``i`` (``output[key][:, i]`` of a detection dict)."""
    return BoxScore(_class_index(i), key)
