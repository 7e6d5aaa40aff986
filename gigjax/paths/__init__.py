"""Integration paths from a baseline x' to an input x (pure path machinery; no models).

A path method is a *path* combined with a per-step *term*:

* a path walks from x' to x and, at every point x_t, asks an ``observe(x_t)`` function for whatever the
  term needs (for the methods in :mod:`gigjax.methods.integrated` that is one
  :func:`gigjax.probe.probe` pass), then hands the term a :class:`PathStep`;
* a term ``term(observation, step) → pytree`` turns one observation into that step's contribution;
  the path sums the contributions.

Paths: :func:`straight_path` (straight line with a quadrature rule, steps batched and chunked) and
:func:`guided_path` (Guided IG's adaptive path, a fixed-length ``lax.scan``, batched over images).
"""

from gigjax.paths.base import Observe, PathStep, Term
from gigjax.paths.guided import guided_path, guided_step
from gigjax.paths.straight import QUADRATURES, quadrature, straight_path

__all__ = ["Observe", "PathStep", "Term", "QUADRATURES", "guided_path", "guided_step", "quadrature",
           "straight_path"]
