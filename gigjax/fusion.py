"""Multi-scale fusion, the "+M" of GIG-CAM+M (GIG-CAM(F), spec §5), as a combinator for any method.

``multiscale(core, scales, fusion=...)`` runs a method on the input resized by each scale r
(bilinear), brings every map to the input resolution, M_r = N(Up(E_r)), and refines from the largest
scale down:

    R_max = M_max;    R_r = N(F(M_r, R_next-larger));    result R_smallest (R_1 for (1, 2)),

with the fusion rule F (:data:`FUSIONS`):

* ``"geometric"`` (default): F = √(M_r ⊙ R), the geometric mean — the product's pixel ranking for two
  scales (√ is monotone) with the calibration of one map;
* ``"product"``: F = M_r ⊙ R (the first reconstruction; sparser maps);
* ``"mean"``: F = (M_r + R) / 2.

The original-scale map gates the result under ``geometric`` and ``product`` (a pixel needs both
scales); ``mean`` lets the larger scale add regions. The class is resolved ONCE on the original input
(argmax there for ``targets=None``) and the same class is explained at every scale. The fusion itself,
:func:`fuse_pyramid`, is a pure function of one image's (S, H, W) pyramid, vmapped over the batch. A
single scale is the identity. Cost ≈ Σ_r r² times the method's cost at scale 1.

Note: with several scales the result is min–max normalised by construction (every refinement is).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.postprocess import normalize
from gigjax.targets import Targets, freeze_targets
from gigjax.validation import check_choice

Core = Callable[..., jax.Array]


def _signed_sqrt(p: jax.Array) -> jax.Array:
    """sign(p) √|p| with a finite gradient at 0 (√ of the product of two maps ≥ 0; a signed map,
    ``relu=False``, keeps the product's order)."""
    nonzero = p != 0
    return jnp.where(nonzero, jnp.sign(p) * jnp.sqrt(jnp.where(nonzero, jnp.abs(p), 1.0)), 0.0)


FUSIONS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "geometric": lambda m, r: _signed_sqrt(m * r),
    "product": lambda m, r: m * r,
    "mean": lambda m, r: (m + r) / 2,
}
"""F(M_r, R_next-larger) of each fusion rule (spec §5); the names are the ``fusion=`` choices."""


def check_scales(scales: Any) -> tuple[float, ...]:
    """A non-empty sequence of distinct, positive, finite numbers (or a comma list ``"1,2"``), sorted."""
    if isinstance(scales, str):
        scales = [s for s in scales.replace(" ", "").split(",") if s]
    try:
        values = tuple(float(s) for s in scales)
    except (TypeError, ValueError):
        raise GigjaxError(f"scales must be a sequence of positive numbers, e.g. (1, 2); got {scales!r}") from None
    if not values:
        raise GigjaxError("scales must hold at least one scale, e.g. (1, 2)")
    if any(not math.isfinite(s) or s <= 0 for s in values):
        raise GigjaxError(f"scales must be positive finite numbers, got {scales!r}")
    if len(set(values)) != len(values):
        raise GigjaxError(f"scales must be distinct, got {scales!r}")
    return tuple(sorted(values))


def fuse_pyramid(maps: jax.Array, fusion: str = "geometric") -> jax.Array:
    """(S, H, W) maps of one image, scales ascending → (H, W): R_r = N(F(M_r, R_next-larger))."""
    rule = FUSIONS[fusion]
    fused = maps[-1]
    for level in range(maps.shape[0] - 2, -1, -1):
        fused = normalize(rule(maps[level], fused))
    return fused


def scaled_size(size: Sequence[int], scale: float) -> tuple[int, int]:
    """(H, W) of an input of ``size`` resized by ``scale`` (at least 1×1)."""
    return tuple(max(1, round(n * scale)) for n in size)


def rescale(x: jax.Array, scale: float) -> jax.Array:
    """(B, H, W, C) input resized by ``scale`` (bilinear, half-pixel centres; antialiased if shrinking)."""
    if scale == 1:
        return x
    h, w = scaled_size(x.shape[1:3], scale)
    return jax.image.resize(x, (x.shape[0], h, w, x.shape[3]), method="bilinear")


def multiscale(core: Core, scales: Sequence[float], *, fusion: str = "geometric",
               output_size: tuple[int, int] | None = None) -> Callable[..., jax.Array]:
    """Wraps a post-processed explainer into its multi-scale fusion.

    Args:
      core: ``core(model, x, targets, out_size) → (B, *out_size)`` post-processed maps of any method
        (as built by :func:`gigjax.explain.explainer`).
      scales: the pyramid, e.g. ``(1, 2)`` (validated here, when the combinator is built).
      fusion: the rule F, a key of :data:`FUSIONS`.
      output_size: (H, W) of the result; default the input's size.

    Returns:
      A pure ``(model, x, targets=None) → (B, H, W)`` function of validated input (``gigjax.explainer``
      checks model, x and targets before calling it).
    """
    scales = check_scales(scales)
    check_choice(fusion, "fusion", tuple(FUSIONS))

    def fused(model, x: jax.Array, targets: Targets = None) -> jax.Array:
        targets = freeze_targets(targets, model, x)
        size = tuple(output_size or x.shape[1:3])
        pyramid = jnp.stack([core(model, rescale(x, s), targets, size) for s in scales], axis=1)
        return jax.vmap(lambda maps: fuse_pyramid(maps, fusion))(pyramid)

    return fused
