"""Per-step terms and path-selection signals of the path methods (spec §3–§5).

Each path step makes one :func:`gigjax.probe.probe` pass (its *observation*); a term turns that pass
and the :class:`gigjax.paths.PathStep` into the step's contribution:

* :func:`input_term` — IG / Guided IG: Δ_t ⊙ ∂S/∂x(x_t), (B, H, W, C);
* :func:`cam_term` — Integrated Grad-CAM / GIG-CAM: weight_t · L_t with
  L_t = [ReLU](Σ_k (A_k(x_t) − A_k^ref) · mean_ij ∂S/∂A_k(x_t)) per layer, (B, h, w) each.

A signal chooses which features the Guided IG path moves first (lowest first):
:func:`gradient_signal` (|∂S/∂x|, Guided IG) or :func:`cam_signal` (the step's upsampled CAM).
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from gigjax.methods.base import feature_map
from gigjax.methods.gradcam import gradcam_term
from gigjax.paths import Observe, PathStep
from gigjax.postprocess import fuse_layers
from gigjax.probe import ProbeResult, probe
from gigjax.targets import Targets


def model_input(model, points: jax.Array) -> jax.Array:
    """Points of a float64 path rounded to float32 for a model without float64 weights (the zoo's
    float32 models, as PAIR's gradient function does); a float64 model, or other dtypes, unchanged."""
    if points.dtype != jnp.float64 or any(getattr(leaf, "dtype", None) == jnp.float64
                                          for leaf in jax.tree_util.tree_leaves(model)):
        return points
    return points.astype(jnp.float32)


def observer(model, targets: Targets, layers: Sequence[str] = (), input_gradient: bool = True) -> Observe:
    """The one forward+backward pass of a step: ``points (B, H, W, C) → ProbeResult``.

    A float64 path (``jax.enable_x64`` and a float64 x, as PAIR's reference keeps its path) feeds the
    float32 model with its points rounded to float32, as PAIR's gradient function does (a float64
    model gets them as they are).
    """

    def observe(points: jax.Array) -> ProbeResult:
        return probe(model, model_input(model, points), targets, tuple(layers), input_gradient=input_gradient)

    return observe


def input_term(result: ProbeResult, step: PathStep) -> jax.Array:
    """Δ_t ⊙ ∂S/∂x(x_t): the step's share of the (B, H, W, C) input attribution."""
    return step.displacement * result.input_gradient


def step_cams(result: ProbeResult, layers: Sequence[str], reference: dict | None = None) -> tuple[jax.Array, ...]:
    """Raw Grad-CAM maps Σ_k (A_k − A_k^ref) · mean_ij g_k of one step, one (B, h, w) map per layer.

    ``reference`` holds the feature baseline A(x') per layer (``None``: zero feature baseline).
    """
    maps = []
    for layer in layers:
        a, g = feature_map(result, layer)
        maps.append(gradcam_term(a if reference is None else a - reference[layer], g))
    return tuple(maps)


def cam_term(layers: Sequence[str], reference: dict | None = None, step_relu: bool = True) -> Callable:
    """Term weight_t · L_t per layer (a tuple of (B, h, w)); ``step_relu`` applies ReLU to each L_t
    (the official Integrated Grad-CAM code), otherwise the raw maps are summed and the ReLU is left
    to the final post-processing."""

    def term(result: ProbeResult, step: PathStep) -> tuple[jax.Array, ...]:
        maps = step_cams(result, layers, reference)
        return tuple(step.weight * (jax.nn.relu(m) if step_relu else m) for m in maps)

    return term


def gradient_signal(result: ProbeResult) -> jax.Array:
    """|∂S/∂x| (B, H, W, C): Guided IG moves the features where the score is flattest first."""
    return abs(result.input_gradient)


def cam_signal(layers: Sequence[str], size: tuple[int, int], reference: dict | None = None) -> Callable:
    """The step's CAM, ReLU'd, normalised, upsampled to ``size`` and averaged over layers, as a
    (B, H, W, 1) saliency: the pixels the CAM finds least relevant move first."""

    def signal(result: ProbeResult) -> jax.Array:
        return fuse_layers(step_cams(result, layers, reference), "mean", size=size)[..., None]

    return signal
