"""XRAI (Kapishnikov et al., ICCV 2019; PAIR-code/saliency ``XRAI``, its ``full`` algorithm): regions
ranked by attribution density (spec §12).

1. Segments, on the host (:mod:`gigjax.segments`, scikit-image's Felzenszwalb at PAIR's 6 scales,
   dilated): a fixed-capacity (``max_segments``, H, W) mask stack per image, via ``jax.pure_callback``.
2. Base attribution, on the device: ``base="integrated_gradients"`` (PAIR's default: IG from the
   per-image min and max of x as constant baselines, averaged; ``steps`` quadrature nodes), or any
   other input-space method's raw map; (B, H, W, C) attributions are reduced by their max over the
   channels, as PAIR does.
3. Greedy selection, on the device (:func:`xrai_map`): repeatedly add the segment whose new pixels
   (those not yet covered) have the highest mean attribution, dropping segments that would add fewer
   than ``min_pixel_diff`` (50) pixels; each pixel's value is the gain of the segment that covered
   it first; pixels no segment covers get their own mean attribution. This is PAIR's ``_xrai`` with
   ``area_threshold`` 1.0; the loop is one ``lax.while_loop`` of two mask-times-vector products.

The map is PAIR's ``attribution_mask`` (gain densities: higher = added earlier, mostly). Needs the
``xrai`` extra (scikit-image).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.methods.integrated import integrated_gradients_attributions
from gigjax.models import Model
from gigjax.options import PATH_BATCH, STEPS, Option
from gigjax.registry import Method, get_method, register
from gigjax.segments import check_available, segment_masks
from gigjax.targets import Targets, freeze_targets
from gigjax.validation import check_positive_int


def _base(value, name: str) -> str:
    """``"integrated_gradients"`` or another registered input-space method."""
    if value != "integrated_gradients":
        spec = get_method(value)
        if spec.uses_layers or value == "xrai":
            raise GigjaxError(f"the XRAI {name} must be an input-space method (e.g. integrated_gradients, "
                              f"guided_ig, blur_ig, gradient), not {value!r}")
    return value


def _needs_scikit_image(options: dict) -> dict:
    check_available()
    return options


XRAI = {
    "base": Option("integrated_gradients", "the attribution ranked: PAIR's IG (min and max baselines) or an "
                                           "input-space method's raw map with its defaults", check=_base),
    "steps": STEPS.but(default=100, doc="IG steps of the default base, per baseline (PAIR: 100)", quick=2),
    "min_pixel_diff": Option(50, "smallest number of new pixels a region must add (PAIR)", check=check_positive_int,
                             quick=5),
    "max_segments": Option(512, "capacity of the per-image segment stack (more segments is an error)",
                           check=check_positive_int),
    "batch_size": PATH_BATCH,
}


def xrai_map(attribution: jax.Array, masks: jax.Array, min_pixel_diff: int = 50) -> jax.Array:
    """One image's XRAI map (H, W) from its (H, W) attribution and (M, H, W) bool segment masks."""
    h, w = attribution.shape
    m = masks.reshape(masks.shape[0], h * w).astype(jnp.float32)
    a = attribution.reshape(-1).astype(jnp.float32)
    area, mass = jnp.sum(m, axis=1), m @ a

    def body(state):
        covered, remaining, out, _ = state
        overlap = m @ jnp.stack([covered, covered * a], axis=1)  # (M, 2)
        new = area - overlap[:, 0]
        remaining = remaining & (new >= min_pixel_diff)
        gain = (mass - overlap[:, 1]) / jnp.maximum(new, 1.0)
        best = jnp.argmax(jnp.where(remaining, gain, -jnp.inf))
        go = jnp.any(remaining)
        added = go & (m[best] > 0) & (covered == 0)
        out = jnp.where(added, gain[best], out)
        covered = jnp.where(added, 1.0, covered)
        return covered, remaining.at[best].set(False), out, go

    init = (jnp.zeros(h * w), jnp.ones(masks.shape[0], bool), jnp.full(h * w, -jnp.inf), jnp.array(True))
    _, _, out, _ = jax.lax.while_loop(lambda s: s[3], body, init)
    rest = out == -jnp.inf
    fill = jnp.sum(jnp.where(rest, a, 0.0)) / jnp.maximum(jnp.sum(rest), 1)
    return jnp.where(rest, fill, out).reshape(h, w)


def pair_ig_attribution(model: Model, x: jax.Array, targets: Targets, steps: int, batch_size: int) -> jax.Array:
    """(B, H, W, C): IG from the per-image min and from the max of x, averaged (PAIR's XRAI base)."""
    lo = jnp.min(x, axis=(1, 2, 3), keepdims=True) * jnp.ones_like(x)
    hi = jnp.max(x, axis=(1, 2, 3), keepdims=True) * jnp.ones_like(x)
    return 0.5 * sum(integrated_gradients_attributions(model, x, targets, steps=steps, baseline=b,
                                                       batch_size=batch_size) for b in (lo, hi))


def base_attribution(model, x, targets, base: str, steps: int, batch_size: int) -> jax.Array:
    """(B, H, W) attribution XRAI ranks: PAIR's IG (max over channels) or another method's raw map."""
    if base == "integrated_gradients":
        return jnp.max(pair_ig_attribution(model, x, targets, steps, batch_size), axis=-1)
    spec = get_method(base)
    maps = spec.fn(model, x, targets, layers=(), **{k: o.default for k, o in spec.method_options.items()})
    if maps.shape[1:] != x.shape[1:3]:
        raise GigjaxError(f"the XRAI base {base!r} gives maps of shape {tuple(maps.shape[1:])}, not the input's")
    return maps


def xrai(model, x, targets, *, layers, base, steps, min_pixel_diff, max_segments, batch_size) -> jax.Array:
    """Registry function: the (B, H, W) XRAI map."""
    targets = freeze_targets(targets, model, x)
    attribution = base_attribution(model, x, targets, base, steps, batch_size)
    masks = segment_masks(x, max_segments)
    return jax.vmap(lambda a, s: xrai_map(a, s, min_pixel_diff))(attribution, masks)


register(Method(
    name="xrai", fn=xrai,
    summary="XRAI: Felzenszwalb regions ranked greedily by attribution density (IG base, PAIR)",
    options=XRAI, check=_needs_scikit_image, uses_layers=False))
