"""The jit-able separable Gaussian (gigjax.gaussian) against scipy.ndimage.gaussian_filter with
mode="constant" (PAIR Blur IG's blur), and its finite difference against scipy's in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from gigjax.gaussian import blur_and_derivative, gaussian_blur

X = np.random.default_rng(0).normal(size=(2, 40, 33, 3))


def scipy_blur(x, sigma):
    return np.stack([ndimage.gaussian_filter(im, (sigma, sigma, 0), mode="constant") for im in x]) if sigma else x


@pytest.mark.parametrize("sigma", [0.0, 0.01, 0.3, 1.0, 2.6, 12.5, 50.0])
def test_matches_scipy(sigma):
    ours = jax.jit(lambda x, s: gaussian_blur(x, s, 50.0))(jnp.asarray(X, jnp.float32), sigma)
    np.testing.assert_allclose(ours, scipy_blur(X, sigma), atol=2e-6)


@pytest.mark.parametrize("sigma", [0.0, 0.3, 2.6, 12.5, 49.99])
def test_finite_difference_matches_scipy_in_float64(sigma):
    h = 0.01
    blurred, derivative = jax.jit(lambda x, s: blur_and_derivative(x, s, h, 50.0))(jnp.asarray(X, jnp.float32), sigma)
    expected = (scipy_blur(X, sigma + h) - scipy_blur(X, sigma)) / h
    np.testing.assert_allclose(blurred, scipy_blur(X, sigma), atol=2e-6)
    scale = max(np.abs(expected).max(), 1e-12)
    assert np.abs(np.asarray(derivative) - expected).max() <= 1e-5 * scale + (0 if sigma else 1e-12)
