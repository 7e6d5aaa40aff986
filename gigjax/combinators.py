"""The combinators that apply to any method, wired into :func:`gigjax.explainer` like ``scales``
(their options are declared in :data:`gigjax.options.POSTPROCESSING`):

* on the method's raw maps: ``eigen_smooth`` (:mod:`gigjax.methods.channels`), then ``smooth`` with
  ``smooth_samples``, ``smooth_sigma`` and ``key`` (:mod:`gigjax.smoothing`);
* on the post-processed maps: ``aug_smooth`` (:mod:`gigjax.augmentation`), then ``scales``
  (:mod:`gigjax.fusion`).
"""

from __future__ import annotations

from typing import Callable

from gigjax.augmentation import aug_smoothed
from gigjax.errors import GigjaxError
from gigjax.methods.channels import eigen_smooth as eigen_scope
from gigjax.registry import Method
from gigjax.smoothing import smoothed

__all__ = ["aug_smoothed", "check_combinators", "with_raw_combinators"]


def check_combinators(spec: Method, post: dict) -> None:
    """The combinations the options' own checks cannot see; raises :class:`GigjaxError`."""
    if post["eigen_smooth"] and not spec.uses_layers:
        raise GigjaxError(f"eigen_smooth applies to CAM methods; {spec.name!r} works on the input")
    if post["aug_smooth"] and post["raw"]:
        raise GigjaxError("aug_smooth averages post-processed maps: drop raw=True or aug_smooth")


def _eigen_smoothed(spec: Method) -> Callable:
    def fn(*args, **kwargs):
        with eigen_scope() as scope:
            out = spec.fn(*args, **kwargs)
        if not scope.used:
            raise GigjaxError(f"eigen_smooth needs a method that weights activations channel by channel; "
                              f"{spec.name!r} does not")
        return out

    return fn


def with_raw_combinators(spec: Method, post: dict) -> Callable:
    """``spec.fn`` with ``eigen_smooth`` and noise smoothing applied (``post``: validated options)."""
    fn = _eigen_smoothed(spec) if post["eigen_smooth"] else spec.fn
    if post["smooth"] is None:
        return fn
    return smoothed(fn, post["smooth"], post["smooth_samples"], post["smooth_sigma"], post["key"])
