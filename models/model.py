"""``Model``: a pure Flax classifier bundled with its weights and card, as one JAX pytree.

The variables are the pytree's leaves and the Flax module and card are static, so a ``Model`` can be
passed straight into ``jax.jit``/``jax.vmap``'d functions without baking the weights into the
compiled program as constants.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.models import constructors
from gigjax.models.card import ModelCard


@flax.struct.dataclass
class Model:
    """A model: ``output = module.apply(variables, x)`` on normalised NHWC float input.

    Build one with :meth:`from_linen`, :meth:`from_nnx` or :meth:`from_function` (which fill the card
    from the model), or take one from the zoo (``gigjax.load_model``).

    Attributes:
      module: static: a Flax linen module, an NNX graphdef (:class:`gigjax.model_kinds.nnx.NnxModule`)
        or a pair of functions (:class:`gigjax.model_kinds.function.FunctionModule`).
      variables: the pytree leaves: linen variables (``{"params": ..., "batch_stats": ...}``), an
        ``nnx.State`` or any params pytree.
      card: the :class:`ModelCard` (static).
    """

    module: nn.Module = flax.struct.field(pytree_node=False)
    variables: Any
    card: ModelCard = flax.struct.field(pytree_node=False)

    def logits(self, x: jax.Array) -> Any:
        """(B, H, W, C) normalised input → (B, num_classes) pre-softmax logits (or the model's own output
        pytree for a model that is not a classifier). Pure and jit-able."""
        return self.module.apply(self.variables, x)

    def with_reshape(self, layers, reshape) -> "Model":
        """This model with ``reshape`` (e.g. ``gigjax.tokens_to_grid()``) set on its card for ``layers``."""
        return self.replace(card=self.card.with_reshape(layers, reshape))

    from_linen = staticmethod(constructors.from_linen)
    from_nnx = staticmethod(constructors.from_nnx)
    from_function = staticmethod(constructors.from_function)

    def normalize(self, pixels: jax.Array) -> jax.Array:
        """Pixel values in [0, 255] (any float or uint8 array, channels last) → network input."""
        mean = jnp.asarray(self.card.mean, jnp.float32) * 255.0
        std = jnp.asarray(self.card.std, jnp.float32) * 255.0
        return (jnp.asarray(pixels, jnp.float32) - mean) / std

    def denormalize(self, x: jax.Array) -> jax.Array:
        """Network input → pixel values in [0, 255] (float, unclipped)."""
        mean = jnp.asarray(self.card.mean, jnp.float32) * 255.0
        std = jnp.asarray(self.card.std, jnp.float32) * 255.0
        return jnp.asarray(x, jnp.float32) * std + mean

    def black(self) -> jax.Array:
        """The normalised value of a black pixel, (3,): ``(0 − mean)/std``, not 0."""
        return self.normalize(jnp.zeros((3,), jnp.float32))

    def preprocess(self, images: np.ndarray | jax.Array | Sequence[np.ndarray]) -> jax.Array:
        """Photo(s) → the normalised (B, H, W, 3) float32 batch the model expects.

        Accepts one uint8 (H, W, 3) image, a uint8 (B, H, W, 3) batch, or a list of uint8 images of
        any sizes. Each image's shorter side is resized to ``card.resize_short`` (bilinear with
        antialiasing, like torchvision's ``Resize`` on a PIL image), centre-cropped to
        ``card.input_size`` and normalised with the card's mean/std.
        """
        from gigjax.models.preprocessing import resize_and_crop  # local: keeps this module light

        size, short = self.card.input_size, self.card.resize_short
        if isinstance(images, (list, tuple)):
            if not images:
                raise GigjaxError("preprocess: got an empty list of images")
            pixels = jnp.stack([resize_and_crop(_check_photos(im, 3), short, size) for im in images])
        else:
            batch = _check_photos(images[None] if getattr(images, "ndim", None) == 3 else images, 4)
            pixels = jax.vmap(lambda im: resize_and_crop(im, short, size))(batch)
        return self.normalize(pixels)


def _check_photos(images, ndim: int) -> jax.Array:
    """uint8 RGB images of rank ``ndim`` (3: one (H, W, 3) photo, 4: a (B, H, W, 3) batch) → jax.Array."""
    shape = getattr(images, "shape", None)
    if shape is None or len(shape) != ndim or shape[-1] != 3:
        raise GigjaxError(f"preprocess: expected (H, W, 3) or (B, H, W, 3) RGB images, got shape {shape}")
    if images.dtype != np.uint8:
        raise GigjaxError(f"preprocess: expected uint8 pixels in [0, 255], got dtype {images.dtype}")
    return jnp.asarray(images)


def check_input(model: Model, x: Any) -> None:
    """Raises :class:`GigjaxError` when an image batch ``x`` has another channel count than the model takes."""
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) == 4 and shape[-1] != model.card.channels:
        raise GigjaxError(f"{model.card.name} takes {model.card.channels}-channel input, x has {shape[-1]} "
                          f"channels (shape {tuple(shape)})")


def check_model(model: Any) -> None:
    """Raises :class:`GigjaxError` unless ``model`` is a :class:`Model`, saying how to wrap what was given."""
    if isinstance(model, Model):
        from gigjax.model_kinds import kind_of

        kind_of(model.module)  # a Model around something no kind serves (an NNX module): says how to build one
        return
    raise GigjaxError(f"model must be a gigjax Model, got {constructors.describe_unwrapped(model)}")
