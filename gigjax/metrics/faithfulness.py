"""Average Drop % and Increase in Confidence % (Chattopadhyay et al., Grad-CAM++; spec §8).

``Y`` is the softmax score of class c on the image, ``O`` the score on the image multiplied by the
explanation map (upsampled, in [0, 1]). Per image:

* Average Drop % = 100 · max(0, Y − O) / Y   (relative, lower is better; pytorch-grad-cam's
  ``DropInConfidence`` is absolute, not divided by Y — this is not that);
* Increase in Confidence % = 100 · 1[O > Y]  (higher is better).

Their means over images are the paper's figures. The class is each image's prediction unless given.

Masking space (``space``): ``"normalized"`` multiplies the normalised network input by the map (the
reference code's choice and the default); ``"pixel"`` multiplies the photo's pixel values, so masked
regions turn black rather than to the dataset mean.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

from gigjax.options import Option
from gigjax.validation import check_choice

SPACES = ("normalized", "pixel")
#: The evaluation setting Average Drop and Increase in Confidence read (see :mod:`gigjax.metrics.table`).
SETTINGS = {"masking_space": Option("normalized", "average drop / increase: multiply the normalised input "
                                                  "(normalized) or the pixels (pixel)", choices=SPACES)}


def mask_input(model, x: jax.Array, maps: jax.Array, space: str = "normalized") -> jax.Array:
    """x ⊙ map in the chosen space: (B, H, W, C) input, (B, H, W) maps in [0, 1] → (B, H, W, C)."""
    check_choice(space, "masking space", SPACES)
    chex.assert_shape(maps, x.shape[:3])
    m = maps[..., None].astype(x.dtype)
    if space == "normalized":
        return x * m
    return model.normalize(model.denormalize(x) * m)


def class_probability(model, x: jax.Array, classes: jax.Array) -> jax.Array:
    """(B,) softmax probability of ``classes`` (B,) int on the batch ``x``."""
    probs = jax.nn.softmax(model.logits(x), axis=-1)
    return jnp.take_along_axis(probs, classes[:, None].astype(jnp.int32), axis=1)[:, 0]


def masked_confidence(model, x: jax.Array, maps: jax.Array, classes: jax.Array,
                      space: str = "normalized") -> jax.Array:
    """O: (B,) softmax probability of ``classes`` on the masked images."""
    return class_probability(model, mask_input(model, x, maps, space), classes)


def average_drop(y: jax.Array, o: jax.Array) -> jax.Array:
    """Per-image Average Drop % = 100 · max(0, Y − O) / Y; NaN where Y = 0."""
    return jnp.where(y > 0, 100.0 * jax.nn.relu(y - o) / jnp.where(y > 0, y, 1.0), jnp.nan)


def increase_in_confidence(y: jax.Array, o: jax.Array) -> jax.Array:
    """Per-image Increase in Confidence % = 100 · 1[O > Y]."""
    return 100.0 * (o > y).astype(jnp.float32)
