"""Toy models with closed-form outputs for the metric tests."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
import pytest

from gigjax.models import Model, ModelCard


class PixelSum(nn.Module):
    """logits = [Σ x, 0]: the probability of class 0 is sigmoid(Σ x)."""

    @nn.compact
    def __call__(self, x):
        s = jnp.sum(x, axis=(1, 2, 3))
        return jnp.stack([s, jnp.zeros_like(s)], axis=-1)


def toy_model(size=(2, 2), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)) -> Model:
    card = ModelCard(name="pixel_sum", input_size=size, resize_short=size[0], mean=mean, std=std,
                     class_names=("sum", "zero"), layers=(), cam_layer="")
    return Model(module=PixelSum(), variables={}, card=card)


@pytest.fixture
def pixel_sum():
    return toy_model()
