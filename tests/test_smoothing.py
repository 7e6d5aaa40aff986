"""Noise smoothing (gigjax.smoothing) on a closed-form model: S(x) = Σ a ⊙ x², so input × gradient is
m(x) = 2 a x² per pixel (one channel) and its smoothed versions have analytic expectations:

  SmoothGrad  E[m(x + ε)] = 2a(x² + σ²);   SquareGrad  E[m²] = 4a²(x⁴ + 6x²σ² + 3σ⁴);
  VarGrad     Var[m] = 4a²(4x²σ² + 2σ⁴),   ε ~ N(0, σ²), σ = smooth_sigma·(max x − min x).

Also exact agreement with a numpy loop over the same draws, batch = one by one, and errors.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import smoothing
from gigjax.models import Model, ModelCard

SIZE = 4


class Quadratic(nn.Module):
    @nn.compact
    def __call__(self, x):
        a = self.param("a", nn.initializers.ones, (SIZE, SIZE, 1))
        s = jnp.sum(a * x ** 2, axis=(1, 2, 3))
        return jnp.stack([s, -s], axis=1)


@pytest.fixture(scope="module")
def quad():
    a = np.linspace(0.5, 2.0, SIZE * SIZE).reshape(SIZE, SIZE, 1).astype(np.float32)
    card = ModelCard(name="quadratic", input_size=(SIZE, SIZE), resize_short=SIZE, mean=(0.5,), std=(0.25,),
                     class_names=("s", "minus_s"), layers=(), cam_layer="")
    return Model(module=Quadratic(), variables={"params": {"a": jnp.asarray(a)}}, card=card), a


X = np.linspace(-1.0, 1.0, SIZE * SIZE, dtype=np.float32).reshape(1, SIZE, SIZE, 1)


def smoothed(model, kind, n, sigma=0.15, key=None, x=X):
    return np.asarray(gigjax.explain(model, x, "input_x_gradient", 0, raw=True, smooth=kind, smooth_samples=n,
                                     smooth_sigma=sigma, key=key), np.float64)


@pytest.mark.parametrize("kind", smoothing.KINDS)
def test_matches_the_analytic_expectation(quad, kind):
    model, a = quad
    n = 4000
    s = 0.15 * (X.max() - X.min())
    x, a = X[0, ..., 0].astype(np.float64), a[..., 0]
    expected = {"smoothgrad": 2 * a * (x ** 2 + s ** 2),
                "squaregrad": 4 * a ** 2 * (x ** 4 + 6 * x ** 2 * s ** 2 + 3 * s ** 4),
                "vargrad": 4 * a ** 2 * (4 * x ** 2 * s ** 2 + 2 * s ** 4)}[kind]
    # Monte-Carlo standard error of each estimate, from the per-sample distribution m = 2a(x + ε)²
    eps = np.random.default_rng(0).normal(0, s, (200000, 1, 1))
    m = 2 * a * (x + eps) ** 2
    per_sample = {"smoothgrad": m, "squaregrad": m ** 2, "vargrad": (m - m.mean(0)) ** 2}[kind]
    stderr = per_sample.std(0) / np.sqrt(n)
    ours = smoothed(model, kind, n)[0]
    assert np.all(np.abs(ours - expected) < 5 * stderr + 1e-6), np.max(np.abs(ours - expected) / stderr)


def test_equals_a_loop_over_the_same_draws(quad):
    model, a = quad
    key = jax.random.PRNGKey(7)
    n = 6
    x = np.concatenate([X, 0.5 * X[:, ::-1]])
    draws = np.stack([np.asarray(smoothing.noise(key, jnp.uint32(i), jnp.asarray(x), 0.2)) for i in range(n)])
    maps = 2 * a[None, None, ..., 0] * (x[None, ..., 0] + draws[..., 0]) ** 2  # (n, B, H, W)
    np.testing.assert_allclose(smoothed(model, "vargrad", n, 0.2, key, x), maps.var(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(smoothed(model, "smoothgrad", n, 0.2, key, x), maps.mean(0), rtol=1e-5, atol=1e-6)
    one = smoothed(model, "smoothgrad", n, 0.2, key, x[1:])
    np.testing.assert_allclose(one, smoothed(model, "smoothgrad", n, 0.2, key, x)[1:], rtol=1e-6)


def test_default_key_is_fixed_and_int_seed_equals_its_key(quad):
    model, _ = quad
    np.testing.assert_array_equal(smoothed(model, "smoothgrad", 3), smoothed(model, "smoothgrad", 3, key=0))
    np.testing.assert_array_equal(smoothed(model, "smoothgrad", 3, key=5),
                                  smoothed(model, "smoothgrad", 3, key=jax.random.key(5)))
    assert not np.allclose(smoothed(model, "smoothgrad", 3, key=5), smoothed(model, "smoothgrad", 3))


def test_smoothing_layer_methods_and_jit(toy_layer_model):
    model, x = toy_layer_model
    fn = gigjax.explainer("gradcam", smooth="squaregrad", smooth_samples=3)
    np.testing.assert_allclose(fn(model, x, 1), jax.jit(fn)(model, x, 1), rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def toy_layer_model():
    from gigjax.testing import tiny_cnn

    return tiny_cnn(), jax.random.normal(jax.random.PRNGKey(1), (2, 32, 32, 3))


@pytest.mark.parametrize("options, message", [
    (dict(smooth="smooth"), "smooth must be one of"),
    (dict(smooth="smoothgrad", smooth_samples=0), "smooth_samples must be a positive integer"),
    (dict(smooth="smoothgrad", smooth_sigma=-1), "smooth_sigma must be a non-negative number"),
    (dict(smooth="smoothgrad", key="abc"), "key must be a jax.random key"),
])
def test_bad_options_are_clear_errors(options, message):
    with pytest.raises(gigjax.GigjaxError, match=message):
        gigjax.explainer("gradient", **options)
