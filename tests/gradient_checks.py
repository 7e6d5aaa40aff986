"""Comparing a function's outputs and gradients with a reference's (the zoo's layer tests)."""

from __future__ import annotations

import chex
import jax
import numpy as np


def with_grads(f):
    """``f(x, w)`` → ``(x, w, cotangent) ↦ (f(x, w), ∂⟨f, cotangent⟩/∂x, ∂⟨f, cotangent⟩/∂w)``."""
    def run(x, w, cotangent):
        y, vjp = jax.vjp(f, x, w)
        return (y, *vjp(cotangent))
    return run


def assert_same_outputs_and_grads(got, want):
    chex.assert_trees_all_equal_shapes(got, want)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=2e-5)
