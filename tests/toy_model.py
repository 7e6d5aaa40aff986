"""A tiny smooth CNN (tanh, softplus: no ReLU kinks), for the path-method tests, from gigjax.testing's factory."""

from __future__ import annotations

import jax

from gigjax.models import Model
from gigjax.testing import ConvLayer, toy_model

# conv 3×3 (6) → tanh → conv 3×3 stride 2 (8) "features" → softplus → GAP → Dense(4)
TOY_NET = (ConvLayer("conv1", 6, activation="tanh"), ConvLayer("features", 8, stride=2, activation="softplus"))


def make_toy_model(size: int = 16, seed: int = 0) -> Model:
    return toy_model(TOY_NET, class_names=("a", "b", "c", "d"), size=size, init="flax", seed=seed)


def toy_batch(batch: int = 3, size: int = 16, seed: int = 1) -> jax.Array:
    return jax.random.normal(jax.random.PRNGKey(seed), (batch, size, size, 3))
