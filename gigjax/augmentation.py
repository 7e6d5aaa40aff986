"""Test-time augmentation, pytorch-grad-cam's ``aug_smooth`` (spec §12), as a combinator over any
post-processed explainer: the maps of x and of its horizontal flip, each at the multiplications
:data:`FACTORS` of the (normalised) input, are brought back to x's orientation and averaged.

:data:`FACTORS` are those of pytorch-grad-cam 1.5.7 (``tta.Multiply(factors=[0.9, 1, 1.1])``; older
releases used [1, 1.1]). Each transformed map is post-processed (ReLU, min–max, resize) before the
average, as there; the average is not normalised again. The class is fixed at the untransformed x.
Cost: 2·len(FACTORS) times the method's.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from gigjax.targets import Targets, freeze_targets

FACTORS = (0.9, 1.0, 1.1)


def aug_smoothed(core: Callable[..., jax.Array]) -> Callable[..., jax.Array]:
    """``core(model, x, targets, *rest) → (B, H, W)`` post-processed maps wrapped into their
    augmentation average (same signature; ``x`` and ``targets`` already validated)."""

    def averaged(model, x: jax.Array, targets: Targets, *rest) -> jax.Array:
        targets = freeze_targets(targets, model, x)
        maps = []
        for flip in (False, True):
            xf = jnp.flip(x, axis=2) if flip else x
            for factor in FACTORS:
                m = core(model, xf * factor, targets, *rest)
                maps.append(jnp.flip(m, axis=-1) if flip else m)
        return jnp.mean(jnp.stack(maps), axis=0)

    return averaged
