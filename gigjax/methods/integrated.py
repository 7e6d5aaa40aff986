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

Options: declared once below (``gigjax.describe(name)`` lists them with defaults and choices). Why the
defaults: IG's T and quadrature are captum's; Integrated Grad-CAM's T and ``riemann_left`` rule the
official code's (Σ_{j<m} at x' + (j/m)(x − x')); Guided IG's T, ``fraction`` and ``max_dist`` PAIR's;
GIG-CAM takes Integrated Grad-CAM's T, so that GIG-CAM with ``max_dist=0`` is exactly Integrated
Grad-CAM with its defaults; GIG-CAM(F) is GIG-CAM on the pyramid (1, 2) with the default fusion.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp

from gigjax.baselines import baseline_for
from gigjax.boundary import check_call
from gigjax.errors import GigjaxError
from gigjax.methods import path_terms
from gigjax.models import Model
from gigjax.options import BASELINE, CHANNEL_REDUCE, PATH_BATCH, POSTPROCESSING, STEPS, Option, bind
from gigjax.paths import guided_path, straight_path
from gigjax.paths.guided import FRACTION, GUIDED_STEPS, MAX_DIST, TIES
from gigjax.paths.straight import QUADRATURE
from gigjax.probe import probe, resolve_layers
from gigjax.registry import Method, register
from gigjax.targets import Targets, freeze_targets, target_scores

STRAIGHT = {"steps": STEPS, "quadrature": QUADRATURE, "baseline": BASELINE, "batch_size": PATH_BATCH}
GUIDED = {"steps": GUIDED_STEPS, "fraction": FRACTION, "max_dist": MAX_DIST, "baseline": BASELINE, "ties": TIES}
CAM_TERMS = {
    "relu_placement": Option("step", "CAM path terms: ReLU on every step's map (step, official) or once at the "
                                     "end (final)", choices=("step", "final")),
    "feature_baseline": Option("zero", "CAM path terms: A_k (zero, official) or A_k - A_k(x') (baseline)",
                               choices=("zero", "baseline")),
}
INTEGRATED_GRADCAM = {**STRAIGHT, "quadrature": QUADRATURE.but(default="riemann_left"), **CAM_TERMS}
GIGCAM = {**GUIDED, "steps": STEPS,
          "path_signal": Option("gradient", "GIG-CAM path selection: |dS/dx| (gradient, as Guided IG) or the "
                                            "step's upsampled CAM (cam)", choices=("gradient", "cam")),
          **CAM_TERMS}


def check_steps(options: dict) -> dict:
    """The one combination the options' own checks cannot see."""
    if options.get("quadrature") == "riemann_trapezoid" and options["steps"] < 2:
        raise GigjaxError("the riemann_trapezoid quadrature needs steps >= 2")
    return options


def _start(model: Model, x: jax.Array, targets: Targets, baseline: Any):
    """(x, targets fixed at x, baseline batch) — the common start of every path method. A bf16/fp16
    input is promoted: the path is built in (at least) float32."""
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    return x, freeze_targets(targets, model, path_terms.model_input(model, x)), baseline_for(model, x, baseline)


def _integrated_gradients(model, x, targets, *, steps, quadrature, baseline, batch_size) -> jax.Array:
    x, targets, x0 = _start(model, x, targets, baseline)
    return straight_path(path_terms.observer(model, targets), path_terms.input_term, x, x0,
                         steps=steps, quadrature_rule=quadrature, batch_size=batch_size)


def _guided_ig(model, x, targets, *, steps, fraction, max_dist, baseline, ties) -> jax.Array:
    x, targets, x0 = _start(model, x, targets, baseline)
    return guided_path(path_terms.observer(model, targets), path_terms.input_term, x, x0,
                       signal=path_terms.gradient_signal, steps=steps, fraction=fraction, max_dist=max_dist,
                       ties=ties)


def _reference(model, x0, targets, layers, feature_baseline):
    """A(x') per layer for the ``"baseline"`` feature baseline (forward only: the unused backward of
    the probe is dead code under jit), else ``None``."""
    if feature_baseline == "zero":
        return None
    return probe(model, x0, targets, layers, input_gradient=False).activations


def _integrated_gradcam(model, x, targets, *, layers, steps, quadrature, baseline, batch_size, relu_placement,
                        feature_baseline) -> tuple[jax.Array, ...]:
    x, targets, x0 = _start(model, x, targets, baseline)
    term = path_terms.cam_term(layers, _reference(model, x0, targets, layers, feature_baseline),
                               step_relu=relu_placement == "step")
    return straight_path(path_terms.observer(model, targets, layers, input_gradient=False), term, x, x0,
                         steps=steps, quadrature_rule=quadrature, batch_size=batch_size)


def _gigcam(model, x, targets, *, layers, steps, fraction, max_dist, baseline, path_signal, relu_placement,
            feature_baseline, ties) -> tuple[jax.Array, ...]:
    x, targets, x0 = _start(model, x, targets, baseline)
    reference = _reference(model, x0, targets, layers, feature_baseline)
    term = path_terms.cam_term(layers, reference, step_relu=relu_placement == "step")
    by_gradient = path_signal == "gradient"
    signal = path_terms.gradient_signal if by_gradient else path_terms.cam_signal(layers, x.shape[1:3], reference)
    return guided_path(path_terms.observer(model, targets, layers, input_gradient=by_gradient), term, x, x0,
                       signal=signal, steps=steps, fraction=fraction, max_dist=max_dist, ties=ties)


# -- the public functions: validated once here, then the pure functions above -------------------------
def integrated_gradients_attributions(model: Model, x: jax.Array, targets: Targets = None, **options) -> jax.Array:
    """Integrated Gradients (Sundararajan et al. 2017): (x − x') ⊙ Σ_j w_j ∂S/∂x(x' + α_j (x − x')).

    Returns the (B, H, W, C) attributions of the normalised input ``x``; ``options`` are those of
    ``gigjax.describe("integrated_gradients")`` but ``channel_reduce``.
    """
    x, targets = check_call(model, x, targets)
    return _integrated_gradients(model, x, targets, **bind(STRAIGHT, options, "Integrated Gradients", check_steps))


def guided_ig_attributions(model: Model, x: jax.Array, targets: Targets = None, **options) -> jax.Array:
    """Guided Integrated Gradients (Kapishnikov et al. 2021), PAIR-code/saliency semantics, batched.

    Returns the (B, H, W, C) attributions Σ_t (x_{t+1} − x_t) ⊙ ∂S/∂x(x_t); ``options`` are those of
    ``gigjax.describe("guided_ig")`` but ``channel_reduce``.
    """
    x, targets = check_call(model, x, targets)
    return _guided_ig(model, x, targets, **bind(GUIDED, options, "Guided IG"))


def completeness_error(model: Model, x: jax.Array, attributions: jax.Array, targets: Targets = None,
                       baseline: Any = BASELINE.default) -> jax.Array:
    """Σ attribution − (S(x) − S(x')) per image, (B,): ≈ 0 for a converged IG / Guided IG."""
    x, targets = check_call(model, x, targets)
    x, targets, x0 = _start(model, x, targets, BASELINE.validate(baseline, "baseline"))
    score = lambda v: target_scores(targets, model.logits(path_terms.model_input(model, v)))[0]
    return jnp.sum(attributions, axis=tuple(range(1, attributions.ndim))) - (score(x) - score(x0))


def _layer_maps(fn, declared: dict, owner: str):
    def maps(model: Model, x: jax.Array, targets: Targets = None, *, layers: str | Sequence[str] | None = None,
             **options) -> tuple[jax.Array, ...]:
        x, targets = check_call(model, x, targets)
        layers = resolve_layers(model, POSTPROCESSING["layer"].validate(layers, "layers"), x)
        return fn(model, x, targets, layers=layers, **bind(declared, options, owner, check_steps))

    return maps


integrated_gradcam_maps = _layer_maps(_integrated_gradcam, INTEGRATED_GRADCAM, "Integrated Grad-CAM")
integrated_gradcam_maps.__doc__ = """Integrated Grad-CAM (Sattarzadeh et al. 2021): Σ_j T·w_j L_j, straight path.

    Returns one raw (B, h, w) map per layer (default: the card's CAM layer); ``options`` are those of
    ``gigjax.describe("integrated_gradcam")``.
    """
gigcam_maps = _layer_maps(_gigcam, GIGCAM, "GIG-CAM")
gigcam_maps.__doc__ = """GIG-CAM (Gao, Miao, Zhang 2025): Σ_t L_t along the Guided IG path.

    Every step is ONE probe pass giving A, ∂S/∂A (the CAM term) and ∂S/∂x (the path's signal).
    Returns one raw (B, h, w) map per layer (default: the card's CAM layer); ``options`` are those of
    ``gigjax.describe("gigcam")``.
    """


def reduce_channels(attributions: jax.Array, how: str) -> jax.Array:
    """(B, H, W, C) attributions → (B, H, W) map: Σ_c a (``"sum"``) or Σ_c |a| (``"abs_sum"``)."""
    return jnp.sum(attributions if how == "sum" else jnp.abs(attributions), axis=-1)


def _input_method(attributions_fn):
    def fn(model, x, targets, *, layers, channel_reduce, **options):
        return reduce_channels(attributions_fn(model, x, targets, **options), channel_reduce)

    return fn


register(Method(
    name="integrated_gradients", fn=_input_method(_integrated_gradients),
    summary="Integrated Gradients: gradients averaged along the straight line from a baseline",
    options={**STRAIGHT, "channel_reduce": CHANNEL_REDUCE}, check=check_steps, uses_layers=False))
register(Method(
    name="guided_ig", fn=_input_method(_guided_ig),
    summary="Guided IG: integrated gradients along an adaptive path that moves flat features first",
    options={**GUIDED, "channel_reduce": CHANNEL_REDUCE}, uses_layers=False))
register(Method(
    name="integrated_gradcam", fn=_integrated_gradcam,
    summary="Integrated Grad-CAM: Grad-CAM maps summed along the straight line from a baseline",
    options=INTEGRATED_GRADCAM, check=check_steps))
register(Method(
    name="gigcam", fn=_gigcam,
    summary="GIG-CAM: Grad-CAM maps summed along the Guided IG path", options=GIGCAM))
register(Method(
    name="gigcam_f", fn=_gigcam,
    summary="GIG-CAM(F): GIG-CAM at several input scales, fused from the largest down",
    options={**GIGCAM, "scales": POSTPROCESSING["scales"].but(default=(1, 2))}))
