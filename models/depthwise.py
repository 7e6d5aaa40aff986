"""The depthwise convolution of the zoo (EfficientNet-Lite's), computed without XLA's grouped
convolution: Σ_ij w_ij ⊙ (shifted window of the padded input) over the stride phases of the input,
with its gradient supplied as the same kind of shifted sum (``jax.custom_vjp``).

Why: XLA's CPU backend runs grouped convolutions, and above all their gradients, on a slow path
(``benchmarks/lite0_gradient.py`` measures it); the shifted sums fuse into elementwise passes.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from gigjax.models.layers import explicit_padding, param


def _phases(x: jax.Array, kernel_size: int, stride: int, padding) -> tuple[jax.Array, tuple[int, int]]:
    """Pads ``x`` (B, H, W, C) and splits it into stride phases, (B, Hq, s, Wq, s, C), so that
    ``phases[:, q, a, r, b] = x_padded[:, s·q + a, s·r + b]``; returns them and the output (h, w).

    Tap (i, j) of a stride-s convolution then reads phase (i mod s, j mod s) at offset (i // s, j // s)
    with unit stride. The padded input is cut or extended at the far end to s·((k − 1)//s + out) rows
    and columns; the cells cut or added are never read by any tap.
    """
    k, s = kernel_size, stride
    pads = explicit_padding(x, (k, k), s, padding)
    b, h, w, c = x.shape
    out_h, out_w = (h + sum(pads[0]) - k) // s + 1, (w + sum(pads[1]) - k) // s + 1
    q = (k - 1) // s
    rows, cols = s * (q + out_h), s * (q + out_w)
    xp = jax.lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (pads[0][0], rows - h - pads[0][0], 0),
                                                  (pads[1][0], cols - w - pads[1][0], 0), (0, 0, 0)))
    return xp.reshape(b, rows // s, s, cols // s, s, c), (out_h, out_w)


def _tap(phases: jax.Array, i: int, j: int, s: int, out_hw: tuple[int, int]) -> jax.Array:
    """The (B, h, w, C) window of the padded input that kernel tap (i, j) multiplies."""
    return phases[:, i // s:i // s + out_hw[0], i % s, j // s:j // s + out_hw[1], j % s, :]


def _depthwise_taps(phases, kernel, k: int, s: int, out_hw: tuple[int, int]) -> jax.Array:
    """Σ_ij w_ij ⊙ window_ij: the depthwise convolution, (B, h, w, C)."""
    out = None
    for i in range(k):
        for j in range(k):
            term = _tap(phases, i, j, s, out_hw) * kernel[i, j, 0]
            out = term if out is None else out + term
    return out


def _depthwise_input_cotangent(g: jax.Array, kernel: jax.Array, k: int, s: int, phase_shape) -> jax.Array:
    """Transpose of :func:`_depthwise_taps` in ``phases``: each phase gathers its taps from the padded
    cotangent by unit-stride windows (the same fusible shifted sum as the forward pass)."""
    q = (k - 1) // s
    hq, wq = phase_shape[1], phase_shape[3]
    gp = jnp.pad(g, ((0, 0), (q, q), (q, q), (0, 0)))
    rows = []
    for a in range(s):
        cols = []
        for b in range(s):
            acc = jnp.zeros((g.shape[0], hq, wq, g.shape[-1]), g.dtype)
            for i in range(a, k, s):
                for j in range(b, k, s):
                    acc = acc + gp[:, q - i // s:q - i // s + hq, q - j // s:q - j // s + wq, :] * kernel[i, j, 0]
            cols.append(acc)
        rows.append(jnp.stack(cols, axis=3))  # (B, hq, wq, s, C)
    return jnp.stack(rows, axis=2)  # (B, hq, s, wq, s, C)


def _depthwise_kernel_cotangent(g: jax.Array, phases: jax.Array, k: int, s: int, out_hw) -> jax.Array:
    """Transpose of :func:`_depthwise_taps` in ``kernel``: (k, k, 1, C) sums of g ⊙ window_ij."""
    return jnp.stack([jnp.stack([jnp.sum(g * _tap(phases, i, j, s, out_hw), axis=(0, 1, 2)) for j in range(k)])
                      for i in range(k)])[:, :, None, :]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _depthwise_phases(phases, kernel, k: int, s: int, out_hw: tuple[int, int]) -> jax.Array:
    return _depthwise_taps(phases, kernel, k, s, out_hw)


def _depthwise_phases_fwd(phases, kernel, k, s, out_hw):
    return _depthwise_taps(phases, kernel, k, s, out_hw), (phases, kernel)


def _depthwise_phases_bwd(k, s, out_hw, residuals, g):
    phases, kernel = residuals
    return (_depthwise_input_cotangent(g, kernel, k, s, phases.shape),
            _depthwise_kernel_cotangent(g, phases, k, s, out_hw))


_depthwise_phases.defvjp(_depthwise_phases_fwd, _depthwise_phases_bwd)


def depthwise_conv(x: jax.Array, kernel: jax.Array, stride: int = 1, padding: int | str = 0) -> jax.Array:
    """Depthwise 2-D convolution: (B, H, W, C) input, (k, k, 1, C) kernel → (B, h, w, C).

    Equal to ``lax.conv_general_dilated(x, kernel, (s, s), pads, feature_group_count=C)`` (NHWC/HWIO),
    computed as Σ_ij w_ij ⊙ (shifted window of the padded input) over the stride phases of the input
    (:func:`_phases`). XLA's CPU backend runs grouped convolutions, and above all their gradients, on a
    slow path; the shifted sum fuses into one elementwise pass. Its automatic transpose would be k²
    conditional pads per element (slow), so the gradient is supplied (``jax.custom_vjp``) as the same
    kind of shifted sum over the padded cotangent — algebraically the exact transpose. Reverse mode
    (any order), ``jit`` and ``vmap`` work; forward mode (``jax.jvp``/``jacfwd``) does not go through
    a custom VJP.
    """
    k = kernel.shape[0]
    phases, out_hw = _phases(x, k, stride, padding)
    return _depthwise_phases(phases, kernel, k, stride, out_hw)


class DepthwiseConv2d(nn.Module):
    """Depthwise convolution (one k×k filter per channel), kernel ``(k, k, 1, C)`` as in Flax.

    See :func:`depthwise_conv` for how it is computed (and why not with XLA's grouped convolution).
    Results equal ``lax.conv_general_dilated`` with ``feature_group_count=C`` to float32 rounding,
    forward and backward (tests/models/test_depthwise.py).
    """

    kernel_size: int
    stride: int = 1
    padding: int | str = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k = self.kernel_size
        kernel = param(self, "kernel", nn.initializers.lecun_normal(), (k, k, 1, x.shape[-1]))
        return depthwise_conv(x, kernel, self.stride, self.padding)
