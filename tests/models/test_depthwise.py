"""models/depthwise.py against XLA's grouped convolution (``feature_group_count = C``): forward, both
gradients, under vmap, twice differentiated, jitted and eager."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.models.depthwise import DepthwiseConv2d, depthwise_conv
from gigjax.models.layers import tf_same_padding

from gradient_checks import assert_same_outputs_and_grads, with_grads


def depthwise_pair(kernel: int, stride: int, padding, channels: int = 6):
    """(ours, reference): each maps (x, w, cotangent) to (output, ∂⟨output, cotangent⟩/∂x, …/∂w)."""
    module = DepthwiseConv2d(kernel, stride, padding)

    def ours(x, w):
        return module.apply({"params": {"kernel": w}}, x)

    def reference(x, w):
        if padding == "tf_same":
            pads = tuple(tf_same_padding(n, kernel, stride) for n in x.shape[1:3])
        else:
            pads = ((padding, padding), (padding, padding))
        return jax.lax.conv_general_dilated(x, w, (stride, stride), pads, feature_group_count=channels,
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                            precision=jax.lax.Precision.HIGHEST)

    return with_grads(ours), with_grads(reference)


def depthwise_inputs(kernel: int, stride: int, padding, channels: int = 6):
    """An input with one even and one odd spatial side, a (k, k, 1, C) kernel and an output cotangent
    (numpy draws: no compilation spent on making test data)."""
    rng = np.random.RandomState(kernel * 10 + stride)
    x = rng.standard_normal((2, 10, 9, channels)).astype(np.float32)
    w = rng.standard_normal((kernel, kernel, 1, channels)).astype(np.float32)
    out_shape = jax.eval_shape(lambda x, w: DepthwiseConv2d(kernel, stride, padding).apply(
        {"params": {"kernel": w}}, x), x, w).shape
    return x, w, rng.standard_normal(out_shape).astype(np.float32)


DEPTHWISE_CASES = [(k, s, p) for k in (3, 5) for s in (1, 2) for p in ("tf_same", 1)] + [(3, 1, 0), (5, 2, 2)]


@pytest.mark.parametrize("kernel,stride,padding", DEPTHWISE_CASES)
def test_depthwise_conv_matches_grouped_convolution(kernel, stride, padding):
    """Forward and both gradients equal XLA's ``feature_group_count = C`` convolution."""
    ours, reference = depthwise_pair(kernel, stride, padding)
    args = depthwise_inputs(kernel, stride, padding)
    got = jax.jit(lambda *a: (ours(*a), reference(*a)))(*args)
    assert_same_outputs_and_grads(*got)


def test_depthwise_custom_gradient_vmaps_and_differentiates_twice():
    """The custom VJP composes: per-image gradients under ``vmap`` and a Hessian-vector product
    (reverse over reverse) equal those of XLA's grouped convolution."""
    rng = np.random.RandomState(7)
    x = rng.standard_normal((3, 9, 8, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 1, 4)).astype(np.float32)
    v = rng.standard_normal(x.shape[1:]).astype(np.float32)

    def reference(x, w):
        pads = tuple(tf_same_padding(n, 3, 2) for n in x.shape[1:3])
        return jax.lax.conv_general_dilated(x, w, (2, 2), pads, feature_group_count=4,
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                            precision=jax.lax.Precision.HIGHEST)

    def checks(conv):
        loss = lambda image: jnp.sum(jnp.tanh(conv(image[None], w)))  # noqa: E731
        per_image = jax.vmap(jax.grad(loss))(x)
        hvp = jax.grad(lambda image: jnp.vdot(jax.grad(loss)(image), v))(x[0])
        return per_image, hvp

    got = jax.jit(lambda: checks(lambda x, w: depthwise_conv(x, w, 2, "tf_same")))()
    want = jax.jit(lambda: checks(reference))()
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


class DepthwiseConvVariantsTest(chex.TestCase):
    """jit and eager give the same depthwise convolution."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_jit_equals_eager(self):
        ours, reference = depthwise_pair(3, 2, "tf_same")
        args = depthwise_inputs(3, 2, "tf_same")
        assert_same_outputs_and_grads(self.variant(ours)(*args), jax.jit(reference)(*args))
