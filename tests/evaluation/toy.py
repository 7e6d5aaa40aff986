"""A tiny seeded CNN over the 20 VOC classes (32×32 input), so runner tests compile and run in
seconds; also imported by the subprocess scripts of the kill and sharding tests."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gigjax.data import VOC_CLASSES
from gigjax.models import Model, ModelCard
from gigjax.models.layers import Conv2d

SETTINGS = {"pixels_per_step": 64, "curve_chunk": 8}   # 32×32 = 1024 px → 17 curve points


class TinyCNN(nn.Module):
    num_classes: int = len(VOC_CLASSES)

    @nn.compact
    def __call__(self, x):
        x = nn.relu(Conv2d(8, 3, 2, 1, use_bias=True, name="conv1")(x))
        x = nn.relu(Conv2d(16, 3, 1, 1, use_bias=True, name="features")(x))
        return nn.Dense(self.num_classes, name="fc")(jnp.mean(x, axis=(1, 2)))


def tiny_model() -> Model:
    module = TinyCNN()
    variables = module.init(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3)))
    card = ModelCard(name="tiny_cnn", input_size=(32, 32), resize_short=32, mean=(0.5, 0.5, 0.5),
                     std=(0.25, 0.25, 0.25), class_names=VOC_CLASSES, layers=("conv1", "features"),
                     cam_layer="features", classifier="fc")
    return Model(module=module, variables=variables, card=card)
