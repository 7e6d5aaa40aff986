"""Path methods as compositions of a path (:mod:`gigjax.paths`) and a per-step term
(:mod:`gigjax.methods.path_terms`), spec §3–§5:

=====================  ===============  ====================  =========================================
method                 path             term                  one step = one probe pass giving
=====================  ===============  ====================  =========================================
integrated_gradients   straight line    Δ ⊙ ∂S/∂x             ∂S/∂x
guided_ig              Guided IG        Δ ⊙ ∂S/∂x             ∂S/∂x (also the path's signal)
integrated_gradcam     straight line    ReLU(Σ_k A_k w_k)     A, ∂S/∂A
gigcam                 Guided IG        ReLU(Σ_k A_k w_k)     A, ∂S/∂A and ∂S/∂x together
gigcam_f               gigcam at scales (1, 2), fused by :func:`gigjax.fusion.multiscale`
=====================  ===============  ====================  =========================================

The target class is fixed once at the input x (argmax there for ``targets=None``) and explained at
every path point. The public functions :func:`integrated_gradients_attributions`,
:func:`guided_ig_attributions` return the full (B, H, W, C) attributions and
:func:`completeness_error` checks them; the registry methods reduce them to one (B, H, W) map.

Options and defaults:
  steps: T. IG and Integrated Grad-CAM 50 (captum, official code); Guided IG 200 (PAIR); GIG-CAM 50,
    so that GIG-CAM with ``max_dist=0`` is exactly Integrated Grad-CAM with its defaults.
  quadrature: straight paths, see :data:`gigjax.paths.QUADRATURES`. IG ``gausslegendre`` (captum's
    default), Integrated Grad-CAM ``riemann_left`` (the official code: Σ_{j<m} at x' + (j/m)(x − x')).
  batch_size: straight-path steps evaluated together (memory ∝ batch_size · B images), default 16.
  fraction, max_dist: Guided IG path (PAIR defaults 0.25, 0.02; ``max_dist=0`` or ``fraction=1``
    give the straight line).
  ties: ``"exact"`` (PAIR: features tied at a group's threshold move together) or ``"rank"``
    (loop-free fixed-rank groups); see :mod:`gigjax.paths.guided`.
  baseline: ``"black"`` (default), ``"zero"``, a number or an array (see :mod:`gigjax.baselines`).
  channel_reduce: IG / Guided IG map = Σ_c attribution (``"sum"``, default: signed, so the map sums to
    S(x) − S(x')) or Σ_c |attribution| (``"abs_sum"``, PAIR's visualisation).
  relu_placement: CAM terms, ``"step"`` (default, official: ReLU on every L_t) or ``"final"`` (raw
    L_t summed; the ReLU of the post-processing applies once at the end).
  feature_baseline: CAM terms, ``"zero"`` (default, official: A_k) or ``"baseline"`` (A_k − A_k(x')).
  path_signal: GIG-CAM's path selection, ``"gradient"`` (default: |∂S/∂x| as in Guided IG) or
    ``"cam"`` (the step's upsampled CAM; its probe then skips ∂S/∂x).
  scales: GIG-CAM(F)'s pyramid, default (1, 2).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp

from gigjax.baselines import baseline_for, check_baseline
from gigjax.errors import GigjaxError
from gigjax.methods import path_terms
from gigjax.models import Model
from gigjax.models.model import check_model
from gigjax.paths import QUADRATURES, guided_path, straight_path
from gigjax.paths.guided import TIES
from gigjax.probe import probe, resolve_layers
from gigjax.registry import Method, register
from gigjax.targets import Targets, freeze_targets, target_scores
from gigjax.validation import check_choice, check_fraction, check_images, check_positive_int

CHOICES = {
    "quadrature": QUADRATURES,
    "ties": TIES,
    "channel_reduce": ("sum", "abs_sum"),
    "relu_placement": ("step", "final"),
    "feature_baseline": ("zero", "baseline"),
    "path_signal": ("gradient", "cam"),
}


def check_options(options: dict) -> dict:
    """Validates and normalises the path methods' options (whichever are present)."""
    out = dict(options)
    for name in ("steps", "batch_size"):
        if name in out:
            out[name] = check_positive_int(out[name], name)
    if "fraction" in out:
        out["fraction"] = check_fraction(out["fraction"], "fraction")
    if "max_dist" in out:
        out["max_dist"] = check_fraction(out["max_dist"], "max_dist", low_open=False)
    for name, choices in CHOICES.items():
        if name in out:
            check_choice(out[name], name, choices)
    if out.get("quadrature") == "riemann_trapezoid" and out.get("steps", 2) < 2:
        raise GigjaxError("the riemann_trapezoid quadrature needs steps >= 2")
    if "baseline" in out:
        out["baseline"] = check_baseline(out["baseline"])
    if "scales" in out:
        from gigjax.fusion import check_scales

        out["scales"] = check_scales(out["scales"])
    return out


def _prepare(model: Model, x: jax.Array, targets: Targets, baseline: Any):
    """(x, targets fixed at x, baseline batch) — the common start of every path method."""
    check_model(model)
    x = check_images(x)
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))  # a bf16/fp16 input: the path is kept in float32
    return x, freeze_targets(targets, model, path_terms.model_input(x)), baseline_for(model, x, baseline)


def integrated_gradients_attributions(model: Model, x: jax.Array, targets: Targets = None, *, steps: int = 50,
                                      quadrature: str = "gausslegendre", baseline: Any = "black",
                                      batch_size: int = 16) -> jax.Array:
    """Integrated Gradients (Sundararajan et al. 2017): (x − x') ⊙ Σ_j w_j ∂S/∂x(x' + α_j (x − x')).

    Returns the (B, H, W, C) attributions of the normalised input ``x`` (see the module docstring
    for the options).
    """
    opts = check_options(dict(steps=steps, quadrature=quadrature, baseline=baseline, batch_size=batch_size))
    x, targets, x0 = _prepare(model, x, targets, opts["baseline"])
    return straight_path(path_terms.observer(model, targets), path_terms.input_term, x, x0,
                         steps=opts["steps"], quadrature_rule=quadrature, batch_size=opts["batch_size"])


def guided_ig_attributions(model: Model, x: jax.Array, targets: Targets = None, *, steps: int = 200,
                           fraction: float = 0.25, max_dist: float = 0.02, baseline: Any = "black",
                           ties: str = "exact") -> jax.Array:
    """Guided Integrated Gradients (Kapishnikov et al. 2021), PAIR-code/saliency semantics, batched.

    Returns the (B, H, W, C) attributions Σ_t (x_{t+1} − x_t) ⊙ ∂S/∂x(x_t).
    """
    opts = check_options(dict(steps=steps, fraction=fraction, max_dist=max_dist, baseline=baseline, ties=ties))
    x, targets, x0 = _prepare(model, x, targets, opts["baseline"])
    return guided_path(path_terms.observer(model, targets), path_terms.input_term, x, x0,
                       signal=path_terms.gradient_signal, steps=opts["steps"], fraction=opts["fraction"],
                       max_dist=opts["max_dist"], ties=ties)


def completeness_error(model: Model, x: jax.Array, attributions: jax.Array, targets: Targets = None,
                       baseline: Any = "black") -> jax.Array:
    """Σ attribution − (S(x) − S(x')) per image, (B,): ≈ 0 for a converged IG / Guided IG."""
    x, targets, x0 = _prepare(model, x, targets, baseline)
    score = lambda v: target_scores(targets, model.logits(path_terms.model_input(v)))[0]
    return jnp.sum(attributions, axis=tuple(range(1, attributions.ndim))) - (score(x) - score(x0))


def _reference(model, x0, targets, layers, feature_baseline):
    """A(x') per layer for the ``"baseline"`` feature baseline (forward only: the unused backward of
    the probe is dead code under jit), else ``None``."""
    if feature_baseline == "zero":
        return None
    return probe(model, x0, targets, layers, input_gradient=False).activations


def _layers(model, layers, x) -> tuple[str, ...]:
    return resolve_layers(model, layers, x) if layers is None or isinstance(layers, str) else tuple(layers)


def integrated_gradcam_maps(model: Model, x: jax.Array, targets: Targets = None, *,
                            layers: str | Sequence[str] | None = None, steps: int = 50,
                            quadrature: str = "riemann_left", baseline: Any = "black", batch_size: int = 16,
                            relu_placement: str = "step", feature_baseline: str = "zero") -> tuple[jax.Array, ...]:
    """Integrated Grad-CAM (Sattarzadeh et al. 2021): Σ_j T·w_j L_j along the straight path.

    Returns one raw (B, h, w) map per layer (default: the card's CAM layer).
    """
    opts = check_options(dict(steps=steps, quadrature=quadrature, baseline=baseline, batch_size=batch_size,
                              relu_placement=relu_placement, feature_baseline=feature_baseline))
    x, targets, x0 = _prepare(model, x, targets, opts["baseline"])
    layers = _layers(model, layers, x)
    term = path_terms.cam_term(layers, _reference(model, x0, targets, layers, feature_baseline),
                               step_relu=relu_placement == "step")
    return straight_path(path_terms.observer(model, targets, layers, input_gradient=False), term, x, x0,
                         steps=opts["steps"], quadrature_rule=quadrature, batch_size=opts["batch_size"])


def gigcam_maps(model: Model, x: jax.Array, targets: Targets = None, *, layers: str | Sequence[str] | None = None,
                steps: int = 50, fraction: float = 0.25, max_dist: float = 0.02, baseline: Any = "black",
                path_signal: str = "gradient", relu_placement: str = "step", feature_baseline: str = "zero",
                ties: str = "exact") -> tuple[jax.Array, ...]:
    """GIG-CAM (Gao, Miao, Zhang 2025): Σ_t L_t along the Guided IG path.

    Every step is ONE probe pass giving A, ∂S/∂A (the CAM term) and ∂S/∂x (the path's signal).
    Returns one raw (B, h, w) map per layer (default: the card's CAM layer).
    """
    opts = check_options(dict(steps=steps, fraction=fraction, max_dist=max_dist, baseline=baseline,
                              path_signal=path_signal, relu_placement=relu_placement,
                              feature_baseline=feature_baseline, ties=ties))
    x, targets, x0 = _prepare(model, x, targets, opts["baseline"])
    layers = _layers(model, layers, x)
    reference = _reference(model, x0, targets, layers, feature_baseline)
    term = path_terms.cam_term(layers, reference, step_relu=relu_placement == "step")
    by_gradient = path_signal == "gradient"
    signal = path_terms.gradient_signal if by_gradient else path_terms.cam_signal(layers, x.shape[1:3], reference)
    return guided_path(path_terms.observer(model, targets, layers, input_gradient=by_gradient), term, x, x0,
                       signal=signal, steps=opts["steps"], fraction=opts["fraction"], max_dist=opts["max_dist"],
                       ties=ties)


def reduce_channels(attributions: jax.Array, how: str = "sum") -> jax.Array:
    """(B, H, W, C) attributions → (B, H, W) map: Σ_c a (``"sum"``) or Σ_c |a| (``"abs_sum"``)."""
    return jnp.sum(attributions if how == "sum" else jnp.abs(attributions), axis=-1)


def _input_method(attributions_fn):
    def fn(model, x, targets, *, layers, channel_reduce, **options):
        return reduce_channels(attributions_fn(model, x, targets, **options), channel_reduce)

    return fn


def _cam_method(maps_fn):
    def fn(model, x, targets, *, layers, **options):
        return maps_fn(model, x, targets, layers=layers, **options)

    return fn


_STRAIGHT = dict(steps=50, baseline="black", batch_size=16)
_GUIDED = dict(steps=200, fraction=0.25, max_dist=0.02, baseline="black", ties="exact")
_CAM = dict(relu_placement="step", feature_baseline="zero")
_GIGCAM = dict(_GUIDED, steps=50, path_signal="gradient", **_CAM)

register(Method(
    name="integrated_gradients", fn=_input_method(integrated_gradients_attributions),
    summary="Integrated Gradients: gradients averaged along the straight line from a baseline",
    options=dict(_STRAIGHT, quadrature="gausslegendre", channel_reduce="sum"), check=check_options,
    uses_layers=False, array_options=frozenset({"baseline"})))
register(Method(
    name="guided_ig", fn=_input_method(guided_ig_attributions),
    summary="Guided IG: integrated gradients along an adaptive path that moves flat features first",
    options=dict(_GUIDED, channel_reduce="sum"), check=check_options,
    uses_layers=False, array_options=frozenset({"baseline"})))
register(Method(
    name="integrated_gradcam", fn=_cam_method(integrated_gradcam_maps),
    summary="Integrated Grad-CAM: Grad-CAM maps summed along the straight line from a baseline",
    options=dict(_STRAIGHT, quadrature="riemann_left", **_CAM), check=check_options,
    array_options=frozenset({"baseline"})))
register(Method(
    name="gigcam", fn=_cam_method(gigcam_maps),
    summary="GIG-CAM: Grad-CAM maps summed along the Guided IG path",
    options=_GIGCAM, check=check_options, array_options=frozenset({"baseline"})))
register(Method(
    name="gigcam_f", fn=_cam_method(gigcam_maps),
    summary="GIG-CAM(F): GIG-CAM at several input scales, fused from the largest down",
    options=dict(_GIGCAM, scales=(1, 2)), check=check_options, array_options=frozenset({"baseline"})))
