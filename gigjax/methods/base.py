"""The small base every CAM method stands on (compare torch-cam's ``core.py``).

A gradient CAM is a *term*: a pure function ``term(A, g) → (B, h, w)`` of one layer's activation
``A`` (B, h, w, K) and gradient ``g = ∂S/∂A``. :func:`gradient_cam` lifts a term into a registry
method that probes all requested layers in one forward+backward pass and applies the term per layer;
:func:`register_gradient_cam` registers it under a name, so a gradient CAM is a term and one call.
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from gigjax.errors import GigjaxError
from gigjax.probe import ProbeResult, probe
from gigjax.registry import Method, register

Term = Callable[..., jax.Array]


def feature_map(result: ProbeResult, layer: str) -> tuple[jax.Array, jax.Array]:
    """(A, ∂S/∂A) of ``layer``, checked to be (B, h, w, K) feature maps."""
    a, g = result.activations[layer], result.gradients[layer]
    if a.ndim != 4:
        raise GigjaxError(f"layer {layer!r} outputs shape {tuple(a.shape)}, not a (B, h, w, K) feature map; "
                          f"CAM methods need a convolutional layer")
    return a, g


def gradient_cam(term: Term) -> Callable[..., tuple[jax.Array, ...]]:
    """Registry ``fn`` applying ``term(A, g, **options)`` at every probed layer."""

    def fn(model, x, targets, *, layers, **options):
        result = probe(model, x, targets, layers, input_gradient=False)
        return tuple(term(*feature_map(result, layer), **options) for layer in layers)

    return fn


def register_gradient_cam(name: str, term: Term, summary: str, **fields: Any) -> Term:
    """Registers ``term`` as the gradient CAM method ``name`` (``fields``: the other
    :class:`gigjax.Method` fields, such as ``options``); returns the term."""
    register(Method(name=name, fn=gradient_cam(term), summary=summary, **fields))
    return term
