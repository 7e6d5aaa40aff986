"""Deletion / Insertion (RISE protocol) on a closed-form toy model: p(class 0) = sigmoid(Σ x)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from gigjax.errors import GigjaxError
from gigjax.metrics import auc, blur, causal_curve, fractions, gaussian_kernel, num_steps, saliency_rank

sig = jax.nn.sigmoid


def test_gaussian_kernel_is_risés_scipy_construction():
    impulse = np.zeros((11, 11))
    impulse[5, 5] = 1.0
    np.testing.assert_allclose(gaussian_kernel(11, 5.0), ndimage.gaussian_filter(impulse, 5.0), atol=1e-7)
    assert abs(gaussian_kernel().sum() - 1.0) < 1e-6


def test_blur_is_a_zero_padded_per_channel_convolution():
    rng = np.random.default_rng(0)
    x = rng.random((1, 16, 13, 3)).astype(np.float32)
    out = np.asarray(blur(jnp.asarray(x)))
    for ch in range(3):
        ref = ndimage.convolve(x[0, :, :, ch], gaussian_kernel(), mode="constant", cval=0.0)
        np.testing.assert_allclose(out[0, :, :, ch], ref, atol=1e-5)


def test_rank_most_salient_first_ties_in_raster_order():
    sal = jnp.asarray([[[0.5, 0.9], [0.5, 0.1]]])
    np.testing.assert_array_equal(np.asarray(saliency_rank(sal)), [[1, 0, 2, 3]])


def test_deletion_curve_closed_form(pixel_sum):
    x = jnp.ones((1, 2, 2, 3))                                         # each pixel adds 3 to Σx
    sal = jnp.asarray([[[0.1, 0.9], [0.5, 0.3]]])
    curve = np.asarray(causal_curve(pixel_sum, x, sal, jnp.asarray([0]), mode="deletion", pixels_per_step=1, chunk=2))
    np.testing.assert_allclose(curve[0], sig(jnp.asarray([12.0, 9.0, 6.0, 3.0, 0.0])), rtol=1e-6)
    xs = fractions(4, 1)
    np.testing.assert_allclose(xs, [0, 0.25, 0.5, 0.75, 1.0])
    expected = sum(0.25 * (curve[0, i] + curve[0, i + 1]) / 2 for i in range(4))
    np.testing.assert_allclose(np.asarray(auc(jnp.asarray(curve), xs)), [expected], rtol=1e-6)


def test_partial_last_step_uses_true_fractions(pixel_sum):
    x = jnp.ones((1, 2, 2, 3))
    sal = jnp.asarray([[[4.0, 3.0], [2.0, 1.0]]])
    assert num_steps(4, 3) == 3
    curve = np.asarray(causal_curve(pixel_sum, x, sal, jnp.asarray([0]), mode="deletion", pixels_per_step=3))
    np.testing.assert_allclose(curve[0], sig(jnp.asarray([12.0, 3.0, 0.0])), rtol=1e-6)
    xs = fractions(4, 3)
    np.testing.assert_allclose(xs, [0, 0.75, 1.0])
    expected = 0.75 * (curve[0, 0] + curve[0, 1]) / 2 + 0.25 * (curve[0, 1] + curve[0, 2]) / 2
    np.testing.assert_allclose(np.asarray(auc(jnp.asarray(curve), xs)), [expected], rtol=1e-6)


def test_insertion_starts_blurred_and_ends_at_the_image(pixel_sum):
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.random((2, 4, 4, 3)), jnp.float32) - 0.5
    sal = jnp.asarray(rng.random((2, 4, 4)), jnp.float32)
    classes = jnp.asarray([0, 1])
    curve = np.asarray(causal_curve(pixel_sum, x, sal, classes, mode="insertion", pixels_per_step=5, chunk=3))
    assert curve.shape == (2, num_steps(16, 5))
    sums_blur = np.asarray(jnp.sum(blur(x), axis=(1, 2, 3)))
    sums = np.asarray(jnp.sum(x, axis=(1, 2, 3)))
    p0 = lambda s: np.asarray(sig(jnp.asarray(s)))
    np.testing.assert_allclose(curve[:, 0], [p0(sums_blur[0]), 1 - p0(sums_blur[1])], rtol=1e-5)
    np.testing.assert_allclose(curve[:, -1], [p0(sums[0]), 1 - p0(sums[1])], rtol=1e-5)
    # step 2 of image 0: the 10 most salient pixels come from x, the rest from the blurred copy
    order = np.argsort(-np.asarray(sal[0]).ravel(), kind="stable")
    keep = np.zeros(16, bool)
    keep[order[:10]] = True
    mixed = np.where(keep.reshape(4, 4, 1), np.asarray(x[0]), np.asarray(blur(x))[0])
    np.testing.assert_allclose(curve[0, 2], p0(mixed.sum()), rtol=1e-5)


@pytest.mark.parametrize("chunk", [1, 4, 100])
def test_chunking_does_not_change_the_curve(pixel_sum, chunk):
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.random((3, 4, 4, 3)), jnp.float32)
    sal = jnp.asarray(rng.random((3, 4, 4)), jnp.float32)
    ref = causal_curve(pixel_sum, x, sal, jnp.zeros(3, jnp.int32), pixels_per_step=3, chunk=6)
    out = jax.jit(lambda a, b: causal_curve(pixel_sum, a, b, jnp.zeros(3, jnp.int32), pixels_per_step=3,
                                            chunk=chunk))(x, sal)
    np.testing.assert_allclose(np.asarray(out), np.asarray(ref), rtol=1e-6)


def test_bad_mode():
    with pytest.raises(GigjaxError, match="mode must be one of"):
        causal_curve(None, jnp.ones((1, 2, 2, 3)), jnp.ones((1, 2, 2)), jnp.zeros(1, jnp.int32), mode="erase")
