"""Small models for tests and examples: fast to compile, with closed-form gradients where it matters.

``tiny_cnn()`` is a 3-layer convolutional classifier with a GAP + Dense head (so CAM applies and
∂S/∂A at the last feature map is W[:, c] / (h·w) in closed form), wrapped as a
:class:`gigjax.models.Model` with its own card.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gigjax.models import Model, ModelCard
from gigjax.models.layers import Conv2d, global_average_pool
from gigjax.models.zoo import random_variables


class TinyCNN(nn.Module):
    """(B, H, W, 3) → (B, num_classes). Layers: ``conv1`` (stride 2), ``conv2``, ``features`` (ReLU'd
    last conv, the CAM layer), ``fc``."""

    num_classes: int = 5
    width: int = 8

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.relu(Conv2d(self.width, 3, 2, 1, use_bias=True, name="conv1")(x))
        x = nn.relu(Conv2d(self.width, 3, 1, 1, use_bias=True, name="conv2")(x))
        x = Features(self.width * 2, name="features")(x)
        return nn.Dense(self.num_classes, name="fc")(global_average_pool(x))


class Features(nn.Module):
    width: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return nn.relu(Conv2d(self.width, 3, 2, 1, use_bias=True, name="conv")(x))


def tiny_cnn(num_classes: int = 5, size: int = 32, seed: int = 0) -> Model:
    """A randomly initialised :class:`TinyCNN` as a ``Model`` (input ``size``×``size``, mean 0.5, std 0.25;
    He-normal kernels drawn with numpy, zero biases)."""
    module = TinyCNN(num_classes=num_classes)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32))
    variables = jax.tree_util.tree_map(jnp.asarray, random_variables(shapes, seed))  # no PRNG compile
    card = ModelCard(
        name="tiny_cnn", input_size=(size, size), resize_short=size, mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25), class_names=tuple(f"class_{i}" for i in range(num_classes)),
        layers=("conv1", "conv2", "features"), cam_layer="features", classifier="fc",
        description="a tiny random CNN for tests")
    return Model(module=module, variables=variables, card=card)
