"""The combinators that apply to any method, wired into :func:`gigjax.explainer` (like ``scales``):

* on the method's raw maps: ``eigen_smooth`` (:mod:`gigjax.methods.channels`), then ``smooth`` with
  ``smooth_samples``, ``smooth_sigma`` and ``key`` (:mod:`gigjax.smoothing`);
* on the post-processed maps: ``aug_smooth`` (:mod:`gigjax.augmentation`), then ``scales``
  (:mod:`gigjax.fusion`).
"""

from __future__ import annotations

from typing import Any, Callable

from gigjax.augmentation import aug_smoothed
from gigjax.errors import GigjaxError
from gigjax.methods.channels import eigen_smooth as eigen_scope
from gigjax.registry import Method
from gigjax.smoothing import check_smoothing, smoothed

__all__ = ["ARRAY_OPTIONS", "aug_smoothed", "with_raw_combinators"]

ARRAY_OPTIONS = frozenset({"key"})
"""Combinator options that may be arrays (passed to the compiled function as arguments)."""


def _eigen_smoothed(spec: Method) -> Callable:
    def fn(*args, **kwargs):
        with eigen_scope() as scope:
            out = spec.fn(*args, **kwargs)
        if not scope.used:
            raise GigjaxError(f"eigen_smooth needs a method that weights activations channel by channel; "
                              f"{spec.name!r} does not")
        return out

    return fn


def with_raw_combinators(spec: Method, smooth: str | None, smooth_samples: int, smooth_sigma: float, key: Any,
                         eigen_smooth: bool) -> Callable:
    """``spec.fn`` with ``eigen_smooth`` and noise smoothing applied; options validated here."""
    smooth, smooth_samples, smooth_sigma = check_smoothing(smooth, smooth_samples, smooth_sigma, key)
    if not isinstance(eigen_smooth, bool):
        raise GigjaxError(f"eigen_smooth must be True or False, got {eigen_smooth!r}")
    if eigen_smooth and not spec.uses_layers:
        raise GigjaxError(f"eigen_smooth applies to CAM methods; {spec.name!r} works on the input")
    fn = _eigen_smoothed(spec) if eigen_smooth else spec.fn
    return fn if smooth is None else smoothed(fn, smooth, smooth_samples, smooth_sigma, key)
