"""Building blocks shared by the model zoo (Flax linen, NHWC, float32, inference-mode BatchNorm).

Padding is always explicit: ``Conv2d`` takes symmetric torch-style padding, and
:func:`tf_same_padding` reproduces TensorFlow's 'SAME' rule (which pads (0, 1) on a stride-2 3×3
convolution of an even input) for the TF-ported EfficientNet-Lite. Flax's own ``padding='SAME'`` is
never used, so a torchvision checkpoint gives torchvision's numbers.

The parameters of the zoo's own layers (``Conv2d``, ``Dense``, ``BatchNorm`` here, and
:class:`gigjax.models.depthwise.DepthwiseConv2d`) are read with :func:`param`, which skips Flax's
check on every ``apply`` (a ``jax.eval_shape`` of the initializer per parameter: ~30 % of the time
JAX takes to trace Lite0, paid again by every explainer and metric that traces the model) and checks
the shape directly instead. ``Dense`` and ``BatchNorm``
hold Flax's ``nn.Dense`` / ``nn.BatchNorm`` variables (``kernel``/``bias``; ``scale``/``bias`` and
``batch_stats`` ``mean``/``var``) and compute what they compute, operation for operation.
"""

from __future__ import annotations

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
