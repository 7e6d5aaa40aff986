"""A tiny linen CNN wrapped as a gigjax Model (fast to compile), for the path-method tests."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gigjax.models import Model, ModelCard


class ToyNet(nn.Module):
    """(B, H, W, 3) → conv 3×3 (6) → tanh → conv 3×3 stride 2 (8) "features" → softplus → GAP → Dense(4)."""

    @nn.compact
    def __call__(self, x):
        x = jnp.tanh(nn.Conv(6, (3, 3), padding=((1, 1), (1, 1)), name="conv1")(x))
        x = nn.Conv(8, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)), name="features")(x)
        x = jax.nn.softplus(x)
        return nn.Dense(4, name="fc")(jnp.mean(x, axis=(1, 2)))


def make_toy_model(size: int = 16, seed: int = 0) -> Model:
    module = ToyNet()
    variables = module.init(jax.random.PRNGKey(seed), jnp.zeros((1, size, size, 3)))
    card = ModelCard(name="toy", input_size=(size, size), resize_short=size, mean=(0.5, 0.5, 0.5),
                     std=(0.25, 0.25, 0.25), class_names=("a", "b", "c", "d"), layers=("conv1", "features"),
                     cam_layer="features", classifier="fc")
    return Model(module=module, variables=variables, card=card)


def toy_batch(batch: int = 3, size: int = 16, seed: int = 1) -> jax.Array:
    return jax.random.normal(jax.random.PRNGKey(seed), (batch, size, size, 3))
