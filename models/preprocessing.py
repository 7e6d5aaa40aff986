"""Photo preprocessing shared by the zoo: resize the shorter side, then centre-crop."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def resize_and_crop(image: jax.Array, short_side: int, size: tuple[int, int]) -> jax.Array:
    """(H, W, 3) pixels → (size[0], size[1], 3) float32 pixels in [0, 255].

    The shorter side becomes ``short_side`` (bilinear, antialiased when shrinking, like torchvision's
    ``Resize`` on a PIL image), then the centre ``size`` window is cut out the way torchvision's
    ``CenterCrop`` does (offset ``round((H − h) / 2)``). Shapes are static, so this jit-compiles.
    """
    h, w = image.shape[0], image.shape[1]
    scale = short_side / min(h, w)
    new_h, new_w = max(size[0], round(h * scale)), max(size[1], round(w * scale))
    resized = jax.image.resize(jnp.asarray(image, jnp.float32), (new_h, new_w, image.shape[2]),
                               method="bilinear", antialias=True)
    top = int(round((new_h - size[0]) / 2.0))
    left = int(round((new_w - size[1]) / 2.0))
    return jnp.clip(resized[top:top + size[0], left:left + size[1]], 0.0, 255.0)
