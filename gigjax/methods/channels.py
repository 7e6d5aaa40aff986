"""How a CAM turns its weighted activations (B, h, w, K) into a map (B, h, w): the sum over channels,
or — inside :func:`eigen_smooth` — their first principal component (pytorch-grad-cam's
``eigen_smooth``, its ``get_2d_projection``; spec §12).

Every channel-weighted CAM term reduces through :func:`channel_sum` (``weighted_sum`` of Grad-CAM and
the methods built on it, LayerCAM's and HiResCAM's element-wise terms), so ``eigen_smooth=True``
applies to all of them without any method knowing. The switch is a trace-time scope: it only decides
which reduction is traced, so the compiled function stays pure.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from typing import Iterator

import jax
import jax.numpy as jnp


def first_component(weighted: jax.Array) -> jax.Array:
    """(B, h, w, K) → (B, h, w): the centred activations P = A − mean_hw A, reshaped (h·w, K), projected
    on their first right singular vector v₁ (P·v₁, pytorch-grad-cam's ``get_2d_projection``).

    The SVD's sign is arbitrary. The centred map P·v₁ always sums to 0, so the sign is fixed on the
    un-centred activations instead: v₁ points along their mean, mean_hw(A)·v₁ ≥ 0 — the projection
    of A itself (not of P) sums to ≥ 0 over the image. NaN values count as 0 (as in
    pytorch-grad-cam); an all-zero input gives zeros.
    """
    b, h, w, k = weighted.shape
    a = jnp.nan_to_num(weighted).reshape(b, h * w, k)
    mean = jnp.mean(a, axis=1, keepdims=True)
    p = a - mean
    _, _, vt = jnp.linalg.svd(p, full_matrices=False)
    v = vt[:, 0, :]
    sign = jnp.where(jnp.einsum("bk,bk->b", mean[:, 0], v) < 0, -1.0, 1.0).astype(v.dtype)
    return jnp.einsum("bnk,bk->bn", p, sign[:, None] * v).reshape(b, h, w)


@dataclasses.dataclass
class _Scope:
    used: bool = False


_EIGEN: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("gigjax_eigen_smooth", default=None)


def channel_sum(weighted: jax.Array) -> jax.Array:
    """(B, h, w, K) weighted activations → (B, h, w): Σ_k, or the first principal component inside
    :func:`eigen_smooth`."""
    scope = _EIGEN.get()
    if scope is None:
        return jnp.sum(weighted, axis=-1)
    scope.used = True
    return first_component(weighted)


@contextlib.contextmanager
def eigen_smooth() -> Iterator[_Scope]:
    """While active, :func:`channel_sum` projects on the first principal component. The yielded
    scope's ``used`` tells whether the traced method reduced any weighted activations at all."""
    scope = _Scope()
    token = _EIGEN.set(scope)
    try:
        yield scope
    finally:
        _EIGEN.reset(token)
