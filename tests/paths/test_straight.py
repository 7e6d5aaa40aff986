"""Straight-line path and quadratures (gigjax/paths/straight.py) against closed forms."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax import GigjaxError
from gigjax.paths import QUADRATURES, quadrature, straight_path


def _ig(grad, x, baseline, **kw):
    """IG of a toy function given its gradient: Σ_j Δ_j ⊙ ∇f(x_j)."""
    return straight_path(jax.vmap(grad), lambda g, step: step.displacement * g, x, baseline, **kw)


@pytest.mark.parametrize("name", QUADRATURES)
def test_weights_sum_to_one_and_nodes_in_unit_interval(name):
    alphas, weights = quadrature(name, 7)
    assert alphas.shape == weights.shape == (7,)
    np.testing.assert_allclose(weights.sum(), 1.0, rtol=1e-12)
    assert alphas.min() >= 0 and alphas.max() <= 1


def test_nodes_match_the_rule_definitions():
    np.testing.assert_allclose(quadrature("riemann_left", 4)[0], [0, .25, .5, .75])
    np.testing.assert_allclose(quadrature("riemann_right", 4)[0], [.25, .5, .75, 1])
    np.testing.assert_allclose(quadrature("riemann_middle", 4)[0], [.125, .375, .625, .875])
    a, w = quadrature("riemann_trapezoid", 5)
    np.testing.assert_allclose(a, [0, .25, .5, .75, 1])
    np.testing.assert_allclose(w, [.125, .25, .25, .25, .125])


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_gauss_legendre_is_exact_to_degree_2n_minus_1(n):
    alphas, weights = quadrature("gausslegendre", n)
    for p in range(2 * n):
        np.testing.assert_allclose(np.sum(weights * alphas ** p), 1 / (p + 1), rtol=1e-12)


def test_invalid_quadrature_and_steps():
    with pytest.raises(GigjaxError, match="quadrature must be one of"):
        quadrature("simpson", 4)
    with pytest.raises(GigjaxError, match="positive integer"):
        quadrature("riemann_left", 0)
    with pytest.raises(GigjaxError, match="steps >= 2"):
        quadrature("riemann_trapezoid", 1)


def test_ig_of_a_cubic_is_exact_with_gauss_legendre():
    # f(x) = Σ a x³: IG_i = a_i (x_i³ − x'_i³) exactly, and the integrand is quadratic in α.
    a = jnp.array([[1.0, -2.0, 0.5]])
    x, baseline = jnp.array([[1.0, 2.0, -3.0]]), jnp.array([[-0.5, 0.0, 1.0]])
    out = _ig(lambda v: 3 * a[0] * v ** 2, x, baseline, steps=2, quadrature_rule="gausslegendre")
    np.testing.assert_allclose(out, a * (x ** 3 - baseline ** 3), rtol=1e-5)


def test_left_riemann_on_a_quadratic_has_its_closed_form_error():
    # f = Σ x², x' = 0: Σ_j 2 (j/n) x · x/n = x² (n − 1)/n.
    x = jnp.array([[1.0, -2.0, 3.0]])
    n = 8
    out = _ig(lambda v: 2 * v, x, jnp.zeros_like(x), steps=n, quadrature_rule="riemann_left")
    np.testing.assert_allclose(out, x ** 2 * (n - 1) / n, rtol=1e-6)
    right = _ig(lambda v: 2 * v, x, jnp.zeros_like(x), steps=n, quadrature_rule="riemann_right")
    np.testing.assert_allclose(right, x ** 2 * (n + 1) / n, rtol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 3, 7, None])
def test_chunking_does_not_change_the_sum(batch_size):
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 5))
    grad = lambda v: jnp.cos(v) * v
    ref = _ig(grad, x, jnp.zeros_like(x), steps=7, quadrature_rule="riemann_middle", batch_size=None)
    out = _ig(grad, x, jnp.zeros_like(x), steps=7, quadrature_rule="riemann_middle", batch_size=batch_size)
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-7)


def test_step_weight_makes_left_riemann_a_plain_sum():
    # weight_t = T·w_t = 1 for left Riemann: Σ_t weight_t · 1 = T.
    x = jnp.ones((1, 2))
    total = straight_path(lambda p: p, lambda obs, step: step.weight * jnp.ones(()), x, 0 * x, steps=6,
                          quadrature_rule="riemann_left")
    np.testing.assert_allclose(total, 6.0)


class TestJit(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_jit_equals_eager(self):
        x = jax.random.normal(jax.random.PRNGKey(1), (2, 4))
        fn = self.variant(lambda x, b: _ig(jnp.tanh, x, b, steps=5, quadrature_rule="gausslegendre", batch_size=2))
        ref = _ig(jnp.tanh, x, jnp.zeros_like(x), steps=5, quadrature_rule="gausslegendre", batch_size=None)
        np.testing.assert_allclose(fn(x, jnp.zeros_like(x)), ref, rtol=1e-6)
