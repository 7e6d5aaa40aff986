"""Token layers as feature maps: the ``reshape`` of a layer (pytorch-grad-cam's ``reshape_transform``).

A Vision Transformer's blocks output tokens (B, N, D): a class token (and perhaps register tokens)
followed by h·w patch tokens in row-major order. CAM methods need a (B, h, w, K) feature map, so a
layer may carry a *reshape*: a function from the layer's output to such a map. The activation A and the
gradient ∂S/∂A are both taken in the reshaped space (the probe perturbs the reshaped view; see
:func:`restore`), so every CAM term sees (B, h, w, K) arrays.

A reshape must be hashable (model cards and jit-compiled explainers are static) and must be a *view*:
it may only select, reorder and reshape entries (slicing, ``reshape``, ``transpose``), never combine
them, so that :func:`restore` can write a modified view back into the layer's output.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError

Reshape = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class TokensToGrid:
    """(B, N, D) tokens → (B, h, w, D): drops ``skip`` leading tokens, lays the rest out row-major.

    Attributes:
      skip: leading tokens that are not patches (1 for a class token; 1 + registers).
      grid: (h, w) of the patch grid; ``None`` for a square grid h = w = √(N − skip).
    """

    skip: int = 1
    grid: tuple[int, int] | None = None

    def __post_init__(self):
        if isinstance(self.skip, bool) or not isinstance(self.skip, int) or self.skip < 0:
            raise GigjaxError(f"tokens_to_grid: skip must be a non-negative int, got {self.skip!r}")
        if self.grid is not None:
            try:
                h, w = (int(v) for v in self.grid)
            except (TypeError, ValueError):
                raise GigjaxError(f"tokens_to_grid: grid must be (h, w), got {self.grid!r}") from None
            if h < 1 or w < 1:
                raise GigjaxError(f"tokens_to_grid: grid must be positive, got {self.grid!r}")
            object.__setattr__(self, "grid", (h, w))

    def grid_for(self, tokens: int) -> tuple[int, int]:
        """(h, w) for a layer of ``tokens`` tokens; raises :class:`GigjaxError` when they do not fit."""
        patches = tokens - self.skip
        if self.grid is not None:
            if self.grid[0] * self.grid[1] != patches:
                raise GigjaxError(f"tokens_to_grid: {tokens} tokens minus skip={self.skip} leave {patches}, "
                                  f"not grid {self.grid[0]}×{self.grid[1]}")
            return self.grid
        side = math.isqrt(max(patches, 0))
        if patches < 1 or side * side != patches:
            raise GigjaxError(f"tokens_to_grid: {tokens} tokens minus skip={self.skip} leave {patches}, which is "
                              f"not a square grid; give grid=(h, w) or the right skip")
        return side, side

    def __call__(self, tokens: jax.Array) -> jax.Array:
        if getattr(tokens, "ndim", None) != 3:
            raise GigjaxError(f"tokens_to_grid expects (B, N, D) tokens, got shape {getattr(tokens, 'shape', None)}")
        h, w = self.grid_for(tokens.shape[1])
        return tokens[:, self.skip:].reshape(tokens.shape[0], h, w, tokens.shape[2])


def tokens_to_grid(skip: int = 1, grid: tuple[int, int] | None = None) -> TokensToGrid:
    """The reshape of a ViT token layer: (B, N, D) → (B, h, w, D), dropping ``skip`` leading tokens
    (the class token, registers); h = w = √(N − skip) unless ``grid=(h, w)``. Hashable, so it can sit
    on a model card (``ModelCard(reshape={"encoder/layers/encoder_layer_11/ln_1": tokens_to_grid()})``)
    or be passed as ``gigjax.explain(..., reshape=tokens_to_grid())``."""
    return TokensToGrid(skip=skip, grid=grid)


def check_reshape(reshape: Any, name: str = "reshape") -> Reshape | None:
    """``None`` or a hashable callable; raises :class:`GigjaxError` otherwise."""
    if reshape is None:
        return None
    if not callable(reshape):
        raise GigjaxError(f"{name} must be a callable such as gigjax.tokens_to_grid(), got {reshape!r}")
    try:
        hash(reshape)
    except TypeError:
        raise GigjaxError(f"{name} must be hashable (a frozen dataclass such as gigjax.tokens_to_grid()), "
                          f"got {type(reshape).__name__}") from None
    return reshape


def restore(reshape: Reshape, view: jax.Array, output: jax.Array) -> jax.Array:
    """The layer output with its reshaped view replaced by ``view``: entries the view does not show
    (the class token) keep their values. Exact for any view: ``out + Rᵀ(view − R(out))`` with R the
    reshape and Rᵀ its transpose (a scatter back), taken with ``jax.vjp``."""
    current, transpose = jax.vjp(reshape, output)
    (update,) = transpose((view - current).astype(current.dtype))
    return output + update


def apply_view(reshape: Reshape | None, output: jax.Array, layer: str) -> jax.Array:
    """The (B, h, w, K) view of a layer output (the output itself without a reshape), checked."""
    if reshape is None:
        return output
    view = reshape(output)
    if getattr(view, "ndim", None) != 4:
        raise GigjaxError(f"the reshape of layer {layer!r} maps {tuple(output.shape)} to "
                          f"{getattr(view, 'shape', None)}, not a (B, h, w, K) feature map")
    return jnp.asarray(view)
