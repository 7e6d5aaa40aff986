"""gigjax/metrics/concentration.py: Sparseness (Gini) and Complexity (entropy) against Quantus 0.6's formulas —
closed forms on uniform and one-pixel maps, and Quantus's ``evaluate_batch`` arithmetic (transcribed in numpy
from quantus/metrics/complexity/{sparseness,complexity}.py, after its abs + normalise_by_max) on a random map."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from gigjax.metrics.concentration import complexity, sparseness


def quantus_sparseness(a: np.ndarray) -> np.ndarray:
    a = np.abs(a.reshape(a.shape[0], -1)).astype(np.float64)
    a = a / a.max(axis=1, keepdims=True) + 1e-7
    a = np.sort(a, axis=-1)
    n = a.shape[-1]
    return ((2 * np.arange(1, n + 1) - n - 1) * a).sum(-1) / (n * a.sum(-1))


def quantus_complexity(a: np.ndarray) -> np.ndarray:
    a = np.abs(a.reshape(a.shape[0], -1)).astype(np.float64)
    a = a / a.max(axis=1, keepdims=True)
    a /= np.abs(a).sum(-1, keepdims=True)
    return -(a * np.log(a + 1e-12)).sum(-1)


def test_closed_forms_on_uniform_and_single_pixel_maps():
    n = 7 * 9
    uniform, single = np.full((1, 7, 9), 0.3, np.float32), np.zeros((1, 7, 9), np.float32)
    single[0, 3, 4] = 2.0
    maps = np.concatenate([uniform, single])
    np.testing.assert_allclose(np.asarray(sparseness(maps)), [0.0, (n - 1) / n], atol=1e-5)
    np.testing.assert_allclose(np.asarray(complexity(maps)), [np.log(n), 0.0], atol=1e-5)


def test_matches_quantus_arithmetic_on_signed_maps_and_blank_is_finite():
    maps = np.random.RandomState(0).normal(size=(3, 12, 10)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(jax.jit(sparseness)(maps)), quantus_sparseness(maps), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(jax.jit(complexity)(maps)), quantus_complexity(maps), rtol=1e-5)
    blank = np.zeros((1, 4, 4), np.float32)
    assert float(sparseness(blank)[0]) == pytest.approx(0.0, abs=1e-6) and float(complexity(blank)[0]) == 0.0
