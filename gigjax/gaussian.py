"""Separable Gaussian blur of (B, H, W, C) images as two matrix products: jit-able, with a traced σ.

It reproduces ``scipy.ndimage.gaussian_filter(image, (σ, σ, 0), mode="constant")`` (PAIR's Blur IG
blur): taps k = −r..r with r = ⌊4σ + ½⌋ (scipy's ``truncate=4``), weights exp(−k²/2σ²) normalised over
those taps, zeros outside the image; σ = 0 is the identity. Along an axis of length n the blur is the
(n, n) banded matrix M_σ[i, j] = w_σ(i − j), and the image blur is M_σ,H · X · M_σ,Wᵀ per channel.

:func:`blur_and_derivative` also returns the finite difference (G_{σ+h} ∗ x − G_σ ∗ x)/h without the
cancellation of subtracting two blurred images: the matrices' difference is formed from the taps'
exact differences (expm1), then applied once. Everything is computed in x's dtype (float64 under
``jax.enable_x64`` for a float64 x, as PAIR's scipy blur).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

TRUNCATE = 4.0  # scipy.ndimage's default kernel radius, in σ


def radius_bound(max_sigma: float) -> int:
    """The largest kernel radius r = ⌊4σ + ½⌋ for σ ≤ ``max_sigma`` (a static bound on the taps)."""
    return int(TRUNCATE * float(max_sigma) + 0.5)


def _log_taps(sigma: jax.Array, bound: int) -> tuple[jax.Array, jax.Array]:
    """(−k²/2σ² for k = −bound..bound, inside (|k| ≤ ⌊4σ + ½⌋))."""
    k = jnp.arange(-bound, bound + 1, dtype=sigma.dtype)
    inside = jnp.abs(k) <= jnp.floor(TRUNCATE * sigma + 0.5)
    s = jnp.maximum(sigma, jnp.finfo(sigma.dtype).tiny ** 0.25)
    return jnp.where(inside, -0.5 * (k / s) ** 2, -jnp.inf), inside


def _band(taps: jax.Array, n: int, bound: int) -> jax.Array:
    """(n, n) matrix M[i, j] = taps[i − j + bound] (0 beyond the taps)."""
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    idx = np.clip(d + bound, 0, 2 * bound)
    return jnp.where(jnp.asarray(np.abs(d) <= bound), taps[idx], 0.0)


def _weights(sigma: jax.Array, bound: int) -> jax.Array:
    log_w, _ = _log_taps(sigma, bound)
    e = jnp.exp(log_w)
    return e / jnp.sum(e)


def _weights_and_difference(sigma: jax.Array, h: float, bound: int) -> tuple[jax.Array, jax.Array]:
    """(w_σ, w_{σ+h} − w_σ) with the difference formed without cancellation."""
    a, inside = _log_taps(sigma, bound)
    a2, inside2 = _log_taps(sigma + h, bound)
    k2 = jnp.arange(-bound, bound + 1, dtype=sigma.dtype) ** 2
    s = jnp.maximum(sigma, jnp.finfo(sigma.dtype).tiny ** 0.25)
    both = inside & inside2
    # a2 − a = k²/2 · (1/σ² − 1/(σ+h)²) = k²/2 · h(2σ + h)/(σ²(σ+h)²) ≥ 0, exact for σ > 0
    delta = jnp.where(sigma > 0, 0.5 * k2 * h * (2 * s + h) / (s * s * (s + h) ** 2), 0.0)
    e, e2 = jnp.exp(a), jnp.exp(a2)
    de = jnp.where(both, e * jnp.expm1(jnp.where(both, delta, 0.0)), e2 - e)
    z, dz = jnp.sum(e), jnp.sum(de)
    return e / z, (de * z - e * dz) / (z * (z + dz))


def _apply(mh: jax.Array, x: jax.Array, mw: jax.Array) -> jax.Array:
    return jnp.einsum("ih,bhwc,jw->bijc", mh, x, mw)


def gaussian_blur(x: jax.Array, sigma, max_sigma: float | None = None) -> jax.Array:
    """(B, H, W, C) images blurred by a Gaussian of standard deviation ``sigma`` pixels (a scalar,
    may be traced; ``max_sigma`` bounds it statically, default ``sigma`` itself)."""
    bound = radius_bound(sigma if max_sigma is None else max_sigma)
    w = _weights(jnp.asarray(sigma, x.dtype), bound)
    return _apply(_band(w, x.shape[1], bound), x, _band(w, x.shape[2], bound))


def blur_and_derivative(x: jax.Array, sigma, h: float, max_sigma: float) -> tuple[jax.Array, jax.Array]:
    """(G_σ ∗ x, (G_{σ+h} ∗ x − G_σ ∗ x)/h) for (B, H, W, C) images; σ ≤ ``max_sigma`` (static bound).

    With M' = M + D per axis: M'_H X M'_Wᵀ − M_H X M_Wᵀ = D_H X M'_Wᵀ + M_H X D_Wᵀ.
    """
    bound = radius_bound(max_sigma + h)
    w, dw = _weights_and_difference(jnp.asarray(sigma, x.dtype), h, bound)
    (mh, dh), (mw, dwm) = [(_band(w, n, bound), _band(dw, n, bound)) for n in x.shape[1:3]]
    blurred = _apply(mh, x, mw)
    difference = _apply(dh, x, mw + dwm) + _apply(mh, x, dwm)
    return blurred, difference / h
