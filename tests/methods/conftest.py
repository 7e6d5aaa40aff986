"""Fixtures for the method tests: the tiny GAP+FC CNN of gigjax.testing and a jitted probe."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import gigjax
from gigjax.testing import tiny_cnn


@pytest.fixture(scope="session")
def toy():
    return tiny_cnn()


@pytest.fixture(scope="session")
def toy_x():
    """(3, 32, 32, 3) random input for ``toy``."""
    return jax.random.normal(jax.random.PRNGKey(11), (3, 32, 32, 3))


@pytest.fixture(scope="session")
def probe_np():
    """``probe_np(model, x, targets, layer) → (A, g, logits, classes)`` as float64 numpy arrays."""

    def probe_np(model, x, targets, layer):
        r = jax.jit(lambda m, x: gigjax.probe(m, x, targets, (layer,), input_gradient=False))(model, x)
        return (np.asarray(r.activations[layer], np.float64), np.asarray(r.gradients[layer], np.float64),
                np.asarray(r.logits, np.float64), np.asarray(r.classes))

    return probe_np


def raw_map(model, x, method, targets=None, **options):
    """The method's raw map through ``gigjax.explain`` (jitted)."""
    return np.asarray(gigjax.explain(model, x, method, targets, raw=True, **options), np.float64)


@pytest.fixture(scope="session")
def raw():
    return raw_map
