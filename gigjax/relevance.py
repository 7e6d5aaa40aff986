"""Relevance redistribution rules (FG-CAM, spec §6): move a relevance tensor I from a layer's output
back to its input.

Every rule is a pure function of the layer's input ``x`` (B, h, w, C), the relevance at its output
and the layer's own operation given as a function. Each transposed operation (convᵀ, the routing of a
max-pool) is a ``jax.vjp`` of that function, never a hand-written kernel, so the rules work for any
convolution a Flax module implements (strides, dilation, TF 'SAME' padding, depthwise).

Conservation (Σ I_in = Σ I_out) holds for :func:`conv_rule`, :func:`box_rule` and :func:`split_rule`
wherever the denominator is non-zero, and for :func:`winner_rule` always; relevance that meets a zero
denominator is dropped (FG-CAM's ``divide_with_zero``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import chex
import jax
import jax.numpy as jnp

from gigjax.numerics import safe_divide

Op = Callable[[jax.Array, jax.Array], jax.Array]  # (input, kernel) → output, bias-free, linear in each


def transpose(f: Callable[[jax.Array], jax.Array], x: jax.Array, s: jax.Array) -> jax.Array:
    """fᵀ s for a function f linear in its input (a vjp; ``x`` fixes the shape and, for a max-pool,
    the winners)."""
    _, vjp = jax.vjp(f, x)
    return vjp(s)[0]


def _with_transpose(f: Callable[[jax.Array], jax.Array], x: jax.Array):
    """(f(x), s ↦ fᵀ s) from one trace of f."""
    y, vjp = jax.vjp(f, x)
    return y, lambda s: vjp(s)[0]


def positive(v: jax.Array) -> jax.Array:
    return jnp.maximum(v, 0.0)


def negative(v: jax.Array) -> jax.Array:
    return jnp.minimum(v, 0.0)


def conv_rule(op: Op, x: jax.Array, kernel: jax.Array, relevance: jax.Array) -> jax.Array:
    """Hidden convolution: Y = op(X⁺, W⁺) + op(X⁻, W⁻), s = I / Y,
    I_in = X⁺ ⊙ op(·, W⁺)ᵀ s + X⁻ ⊙ op(·, W⁻)ᵀ s. The bias takes no share."""
    xp, xn, wp, wn = positive(x), negative(x), positive(kernel), negative(kernel)
    yp, tp = _with_transpose(lambda v: op(v, wp), xp)
    yn, tn = _with_transpose(lambda v: op(v, wn), xn)
    chex.assert_equal_shape([yp, relevance])
    s = safe_divide(relevance, yp + yn)
    return xp * tp(s) + xn * tn(s)


def box_rule(op: Op, x: jax.Array, kernel: jax.Array, relevance: jax.Array,
             low: jax.Array | None = None, high: jax.Array | None = None) -> jax.Array:
    """First convolution (z^B rule): L, H = the lowest and highest input values (default: per image,
    over all pixels and channels); s = I / (op(X, W) − op(L, W⁺) − op(H, W⁻)),
    I_in = X ⊙ op(·, W)ᵀ s − L ⊙ op(·, W⁺)ᵀ s − H ⊙ op(·, W⁻)ᵀ s."""
    axes = tuple(range(1, x.ndim))
    low = jnp.broadcast_to(jnp.min(x, axis=axes, keepdims=True) if low is None else low, x.shape)
    high = jnp.broadcast_to(jnp.max(x, axis=axes, keepdims=True) if high is None else high, x.shape)
    wp, wn = positive(kernel), negative(kernel)
    y, t = _with_transpose(lambda v: op(v, kernel), x)
    yl, tl = _with_transpose(lambda v: op(v, wp), low)
    yh, th = _with_transpose(lambda v: op(v, wn), high)
    chex.assert_equal_shape([y, relevance])
    s = safe_divide(relevance, y - yl - yh)
    return x * t(s) - low * tl(s) - high * th(s)


def winner_rule(pool: Callable[[jax.Array], jax.Array], x: jax.Array, relevance: jax.Array) -> jax.Array:
    """Max-pool: each window's relevance goes to the input that won it (the pool's vjp at ``x``)."""
    return transpose(pool, x, relevance)


def split_rule(parts: Sequence[jax.Array], relevance: jax.Array) -> tuple[jax.Array, ...]:
    """A sum y = Σ_i parts_i (a residual add): where y ≥ 0, I_i = I ⊙ parts_i⁺ / Σ_j parts_j⁺ (spec §6);
    where y < 0, the same with the negative parts. After a ReLU (ResNet) relevance only reaches points
    with y > 0, so only the first case applies; the second keeps the rule conservative in networks
    without a ReLU after the add (EfficientNet-Lite0)."""
    chex.assert_equal_shape([*parts, relevance])
    total = sum(parts[1:], parts[0])
    side = [jnp.where(total >= 0, positive(p), negative(p)) for p in parts]
    s = safe_divide(relevance, sum(side[1:], side[0]))
    return tuple(p * s for p in side)


def fold_batch_norm(kernel: jax.Array, scale: jax.Array, var: jax.Array, epsilon: float) -> jax.Array:
    """The kernel of conv → BatchNorm as one convolution: W ⋅ γ/√(var + ε) along the output (last) axis.
    (The folded bias takes no relevance, so it is not returned.)"""
    return kernel * (scale / jnp.sqrt(var + epsilon))


def denoise(relevance: jax.Array, fraction: float = 0.1) -> jax.Array:
    """FG-CAM's denoising: per image, I as a K × (h·w) matrix, each row minus its mean, reduced to its
    top ⌊fraction·min(K, h·w)⌋ singular components (the mean is not added back). (B, h, w, K) → same."""
    chex.assert_rank(relevance, 4)
    b, h, w, k = relevance.shape
    rank = int(fraction * min(k, h * w))
    m = jnp.nan_to_num(relevance).reshape(b, h * w, k).transpose(0, 2, 1)  # (B, K, hw)
    m = m - jnp.mean(m, axis=2, keepdims=True)
    u, sv, vt = jnp.linalg.svd(m, full_matrices=False)
    low = jnp.einsum("bkr,br,brn->bkn", u[:, :, :rank], sv[:, :rank], vt[:, :rank, :])
    return low.transpose(0, 2, 1).reshape(b, h, w, k)
