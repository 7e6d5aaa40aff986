"""Building blocks shared by the model zoo (Flax linen, NHWC, float32, inference-mode BatchNorm).

Padding is always explicit: ``Conv2d`` takes symmetric torch-style padding, and
:func:`tf_same_padding` reproduces TensorFlow's 'SAME' rule (which pads (0, 1) on a stride-2 3×3
convolution of an even input) for the TF-ported EfficientNet-Lite. Flax's own ``padding='SAME'`` is
never used, so a torchvision checkpoint gives torchvision's numbers.

The parameters of the zoo's own layers (``Conv2d``, ``DepthwiseConv2d``, ``Dense``, ``BatchNorm``)
are read with :func:`param`, which skips Flax's check on every ``apply`` (a ``jax.eval_shape`` of the
initializer per parameter: ~30 % of the time JAX takes to trace Lite0, paid again by every explainer
and metric that traces the model) and checks the shape directly instead. ``Dense`` and ``BatchNorm``
hold Flax's ``nn.Dense`` / ``nn.BatchNorm`` variables (``kernel``/``bias``; ``scale``/``bias`` and
``batch_stats`` ``mean``/``var``) and compute what they compute, operation for operation.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError

Initializer = nn.initializers.Initializer


def param(module: nn.Module, name: str, init: Initializer, shape: Sequence[int], dtype=jnp.float32) -> jax.Array:
    """``module.param(name, init, shape, dtype)``, reading an existing parameter without Flax's per-call
    ``eval_shape`` of ``init`` (the shape is compared directly); initialising as Flax does."""
    if not module.has_variable("params", name):
        return module.param(name, init, tuple(shape), dtype)  # init, or Flax's missing-parameter error
    value = module.get_variable("params", name)
    if tuple(value.shape) != tuple(shape):
        raise GigjaxError(f"parameter {'/'.join(module.scope.path + (name,))} has shape {tuple(value.shape)}; "
                          f"the layer needs {tuple(shape)}")
    return value


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) of one spatial axis of length ``size``."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def explicit_padding(x: jax.Array, kernel: Sequence[int], stride: int, padding) -> tuple[tuple[int, int], ...]:
    """((top, bottom), (left, right)) for an NHWC input: ``padding`` is an int (symmetric) or ``"tf_same"``."""
    if padding == "tf_same":
        return tuple(tf_same_padding(x.shape[1 + i], kernel[i], stride) for i in range(2))
    p = int(padding)
    return ((p, p), (p, p))


class Conv2d(nn.Module):
    """A dense 2-D convolution; kernel HWIO (``torch OIHW.transpose(2, 3, 1, 0)``).

    ``padding`` is an int (symmetric, like ``torch.nn.Conv2d``) or ``"tf_same"``. An unpadded 1×1
    convolution is computed as the matrix product it is (after striding), which XLA's CPU backend
    runs, and differentiates, faster than a convolution.
    """

    features: int
    kernel_size: int
    stride: int = 1
    padding: int | str = 0
    use_bias: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k = self.kernel_size
        kernel = param(self, "kernel", nn.initializers.lecun_normal(), (k, k, x.shape[-1], self.features))
        pads = explicit_padding(x, (k, k), self.stride, self.padding)
        if k == 1 and pads == ((0, 0), (0, 0)):
            y = jnp.dot(x[:, ::self.stride, ::self.stride, :], kernel[0, 0])
        else:
            y = jax.lax.conv_general_dilated(x, kernel, window_strides=(self.stride, self.stride), padding=pads,
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
        if self.use_bias:
            y = y + param(self, "bias", nn.initializers.zeros, (self.features,))
        return y


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
    forward and backward (tests/models/test_layers.py).
    """

    kernel_size: int
    stride: int = 1
    padding: int | str = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k = self.kernel_size
        kernel = param(self, "kernel", nn.initializers.lecun_normal(), (k, k, 1, x.shape[-1]))
        return depthwise_conv(x, kernel, self.stride, self.padding)


class ReLU(nn.Module):
    """``max(x, 0)`` as a module of its own, so its output has a probe-able path (like ``torch.nn.ReLU``)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(x)


class MaxPool2d(nn.Module):
    """``torch.nn.MaxPool2d(kernel_size, stride, padding)`` on NHWC (``ceil_mode=False``).

    Padding is symmetric and filled with −inf, so a padded cell never wins a window (torch's rule).
    """

    kernel_size: int
    stride: int
    padding: int = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, s, p = self.kernel_size, self.stride, self.padding
        return nn.max_pool(x, (k, k), strides=(s, s), padding=((p, p), (p, p)))


def adaptive_pool_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) averaging matrix of ``torch.nn.AdaptiveAvgPool`` along one axis.

    Bin ``i`` averages the inputs ``floor(i·size/out) … ceil((i+1)·size/out) − 1`` (bins overlap when
    ``size`` is not a multiple of ``out``), PyTorch's rule.
    """
    matrix = np.zeros((out, size), np.float32)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


class AdaptiveAvgPool2d(nn.Module):
    """``torch.nn.AdaptiveAvgPool2d(output_size)``: (B, H, W, C) → (B, oh, ow, C), any H, W.

    An exact reshape-mean when H, W are multiples of the output size (e.g. VGG16 at 224, where the 7×7
    pool is the identity); otherwise torch's overlapping bins as two small averaging matrices.
    """

    output_size: tuple[int, int]

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b, h, w, c = x.shape
        oh, ow = self.output_size
        if h % oh == 0 and w % ow == 0:
            return x.reshape(b, oh, h // oh, ow, w // ow, c).mean(axis=(2, 4))
        return jnp.einsum("ih,bhwc,jw->bijc", adaptive_pool_matrix(h, oh), x, adaptive_pool_matrix(w, ow),
                          precision=jax.lax.Precision.HIGHEST)


class Dropout(nn.Module):
    """``torch.nn.Dropout`` at inference: the identity. A module only so torchvision's indices line up."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return x


def flatten_nchw(x: jax.Array) -> jax.Array:
    """(B, H, W, C) → (B, C·H·W) in torch's ``flatten(NCHW, 1)`` order, so a torch ``Linear`` applies as is."""
    return jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)


class Dense(nn.Module):
    """``x @ kernel + bias`` on the last axis, kernel (in, out): ``flax.linen.Dense``'s variables and
    initialisers (LeCun normal, zeros)."""

    features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = param(self, "kernel", nn.initializers.lecun_normal(), (x.shape[-1], self.features))
        bias = param(self, "bias", nn.initializers.zeros, (self.features,))
        dtype = jnp.result_type(x, kernel, bias)  # Flax's promote_dtype: bf16 input, float32 weights → float32
        x, kernel, bias = (jnp.asarray(v, dtype) for v in (x, kernel, bias))
        y = jax.lax.dot_general(x, kernel, (((x.ndim - 1,), (0,)), ((), ())))
        return y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))


class BatchNorm(nn.Module):
    """Inference-mode BatchNorm on the running statistics: ``(x − mean) · (rsqrt(var + ε) · scale) + bias``
    over the last axis, so images in a batch never interact; ``flax.linen.BatchNorm``'s variables."""

    epsilon: float

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c = (x.shape[-1],)
        mean = self.variable("batch_stats", "mean", lambda: jnp.zeros(c, jnp.float32)).value
        var = self.variable("batch_stats", "var", lambda: jnp.ones(c, jnp.float32)).value
        scale = param(self, "scale", nn.initializers.ones, c)
        bias = param(self, "bias", nn.initializers.zeros, c)
        y = (x - mean) * (jax.lax.rsqrt(var + self.epsilon) * scale) + bias
        return jnp.asarray(y, jnp.result_type(x, scale, bias))


def batch_norm(epsilon: float, name: str) -> BatchNorm:
    """Inference-mode BatchNorm (running statistics), so images in a batch never interact."""
    return BatchNorm(epsilon, name=name)


def relu6(x: jax.Array) -> jax.Array:
    return jnp.clip(x, 0.0, 6.0)


def global_average_pool(x: jax.Array) -> jax.Array:
    """(B, H, W, C) → (B, C)."""
    return jnp.mean(x, axis=(1, 2))
