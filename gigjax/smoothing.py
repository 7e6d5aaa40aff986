"""Noise smoothing, a combinator over any method's raw map (spec §12; PAIR ``GetSmoothedMask``,
captum ``NoiseTunnel``, xplique SmoothGrad/SquareGrad/VarGrad):

    smoothgrad  mean_i m(x + ε_i)        squaregrad  mean_i m(x + ε_i)²        vargrad  var_i m(x + ε_i)

with ε_i ~ N(0, σ²), σ = ``smooth_sigma``·(max x − min x) per image (PAIR's ``stdev_spread``, default
0.15) and ``smooth_samples`` draws (default 25). m is the method's raw map (per layer for layer
methods), so ReLU, normalisation and resizing apply once, to the smoothed map.

Noise: ``key`` is a ``jax.random`` key (or an int seed); the default ``None`` means
``jax.random.PRNGKey(0)``, so results are repeatable. Draw i uses ``fold_in(key, i)``, and one draw
of shape (H, W, C) serves every image of the batch (scaled by each image's σ), so a batch gives
exactly its images' maps one by one. The class is fixed at the clean x. The samples run one after
the other in a ``lax.map`` (each one a call of the method on the whole batch): memory is that of one
call plus the (samples, B, h, w) maps.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.targets import freeze_targets

KINDS = ("smoothgrad", "squaregrad", "vargrad")
DEFAULT_SEED = 0


def check_sigma(value: Any, name: str = "smooth_sigma") -> float:
    """A non-negative finite number."""
    try:
        sigma = float(value)
    except (TypeError, ValueError):
        raise GigjaxError(f"{name} must be a non-negative number, got {value!r}") from None
    if not math.isfinite(sigma) or sigma < 0:
        raise GigjaxError(f"{name} must be a non-negative number, got {value!r}")
    return sigma


def check_key(value: Any, name: str = "key") -> Any:
    """``None``, an int seed or a ``jax.random`` key (typed or raw uint32 data)."""
    seed_or_key = value is None or isinstance(value, (int, np.integer)) or hasattr(value, "dtype")
    if isinstance(value, bool) or not seed_or_key:
        raise GigjaxError(f"{name} must be a jax.random key or an int seed, got {value!r}")
    return int(value) if isinstance(value, (int, np.integer)) else value


def as_key(key: Any) -> jax.Array:
    """A raw ``jax.random`` key from ``None`` (seed 0), an int seed or a key."""
    if key is None:
        key = DEFAULT_SEED
    if isinstance(key, (int, np.integer)):
        return jax.random.PRNGKey(int(key))
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def noise(key: Any, index: jax.Array, x: jax.Array, sigma: float) -> jax.Array:
    """(B, H, W, C) draw ``index``: one N(0, 1) (H, W, C) draw from ``fold_in(key, index)``, scaled by
    σ·(max x_b − min x_b) per image."""
    unit = jax.random.normal(jax.random.fold_in(as_key(key), index), x.shape[1:], x.dtype)
    spread = jnp.max(x, axis=(1, 2, 3)) - jnp.min(x, axis=(1, 2, 3))
    return (sigma * spread)[:, None, None, None] * unit[None]


def aggregate(samples: jax.Array, kind: str) -> jax.Array:
    """(n, …) per-sample maps → (…) their mean, mean of squares or variance."""
    if kind == "smoothgrad":
        return jnp.mean(samples, axis=0)
    if kind == "squaregrad":
        return jnp.mean(samples ** 2, axis=0)
    return jnp.var(samples, axis=0)


def smoothed(fn: Callable, kind: str, samples: int, sigma: float, key: Any) -> Callable:
    """The registry function ``fn`` (raw maps) wrapped into its noise-smoothed version."""

    def smooth_fn(model, x, targets, **kwargs):
        targets = freeze_targets(targets, model, x)
        maps = jax.lax.map(lambda i: fn(model, x + noise(key, i, x, sigma), targets, **kwargs),
                           jnp.arange(samples, dtype=jnp.uint32))
        return jax.tree_util.tree_map(lambda m: aggregate(m, kind), maps)

    return smooth_fn
