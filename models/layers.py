"""Building blocks shared by the model zoo (Flax linen, NHWC, float32, inference-mode BatchNorm).

Padding is always explicit: ``Conv2d`` takes symmetric torch-style padding, and
:func:`tf_same_padding` reproduces TensorFlow's 'SAME' rule (which pads (0, 1) on a stride-2 3×3
convolution of an even input) for the TF-ported EfficientNet-Lite. Flax's own ``padding='SAME'`` is
never used, so a torchvision checkpoint gives torchvision's numbers.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


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

    ``padding`` is an int (symmetric, like ``torch.nn.Conv2d``) or ``"tf_same"``.
    """

    features: int
    kernel_size: int
    stride: int = 1
    padding: int | str = 0
    use_bias: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k = self.kernel_size
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, k, x.shape[-1], self.features),
                            jnp.float32)
        y = jax.lax.conv_general_dilated(
            x, kernel, window_strides=(self.stride, self.stride),
            padding=explicit_padding(x, (k, k), self.stride, self.padding),
            dimension_numbers=("NHWC", "HWIO", "NHWC"))
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
        return y


class DepthwiseConv2d(nn.Module):
    """Depthwise convolution (one k×k filter per channel), kernel ``(k, k, 1, C)`` as in Flax.

    XLA's CPU backend runs grouped convolutions (``feature_group_count = C``) on a slow path, and
    their gradients even slower. This module computes the algebraically identical sum of k²
    shifted, channel-scaled copies of the padded input, Σ_ij w_ij ⊙ x[i::s, j::s], which XLA fuses
    into a few elementwise passes forward and backward. Results equal ``lax.conv_general_dilated``
    with ``feature_group_count=C`` to float32 rounding (see tests/models/test_layers.py).
    """

    kernel_size: int
    stride: int = 1
    padding: int | str = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, s = self.kernel_size, self.stride
        channels = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, k, 1, channels), jnp.float32)
        pads = explicit_padding(x, (k, k), s, self.padding)
        xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
        out_h = (xp.shape[1] - k) // s + 1
        out_w = (xp.shape[2] - k) // s + 1
        out = None
        for i in range(k):
            for j in range(k):
                patch = jax.lax.slice(
                    xp, (0, i, j, 0), (xp.shape[0], i + (out_h - 1) * s + 1, j + (out_w - 1) * s + 1, channels),
                    (1, s, s, 1))
                term = patch * kernel[i, j, 0]
                out = term if out is None else out + term
        return out


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


def batch_norm(epsilon: float, name: str) -> nn.BatchNorm:
    """Inference-mode BatchNorm (running statistics), so images in a batch never interact."""
    return nn.BatchNorm(use_running_average=True, momentum=0.9, epsilon=epsilon, name=name)


def relu6(x: jax.Array) -> jax.Array:
    return jnp.clip(x, 0.0, 6.0)


def global_average_pool(x: jax.Array) -> jax.Array:
    """(B, H, W, C) → (B, C)."""
    return jnp.mean(x, axis=(1, 2))
