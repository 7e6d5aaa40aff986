"""gigjax/relevance.py: FG-CAM's redistribution rules against explicit-matrix references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax import relevance as R


def _conv(stride=1, padding=((1, 1), (1, 1))):
    def op(x, w):
        return jax.lax.conv_general_dilated(x, w, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return op


def _matrix(op, x_shape, w):
    """The conv as an explicit (out, in) matrix, built column by column from basis inputs (no vjp)."""
    n = int(np.prod(x_shape))
    basis = jnp.eye(n).reshape(n, *x_shape[1:])
    cols = jax.vmap(lambda e: op(e[None], w)[0].reshape(-1))(basis)
    return np.asarray(cols).T


@pytest.fixture(scope="module")
def case():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(k1, (1, 5, 5, 2))
    w = jax.random.normal(k2, (3, 3, 2, 3))
    op = _conv(stride=2)
    y_shape = op(x, w).shape
    r = jax.random.normal(k3, y_shape)
    return x, w, op, r


def test_conv_rule_matches_the_explicit_formula(case):
    x, w, op, r = case
    xp, xn = np.maximum(np.asarray(x).ravel(), 0), np.minimum(np.asarray(x).ravel(), 0)
    mp, mn = _matrix(op, x.shape, jnp.maximum(w, 0)), _matrix(op, x.shape, jnp.minimum(w, 0))
    y = mp @ xp + mn @ xn
    s = np.asarray(r).ravel() / y
    expected = xp * (mp.T @ s) + xn * (mn.T @ s)
    np.testing.assert_allclose(np.asarray(R.conv_rule(op, x, w, r)).ravel(), expected, rtol=1e-4, atol=1e-5)


def test_conv_rule_conserves(case):
    x, w, op, r = case
    np.testing.assert_allclose(R.conv_rule(op, x, w, r).sum(), r.sum(), rtol=1e-4)


def test_box_rule_matches_the_explicit_formula_and_conserves(case):
    x, w, op, r = case
    lo, hi = float(x.min()), float(x.max())
    m, mp, mn = (_matrix(op, x.shape, v) for v in (w, jnp.maximum(w, 0), jnp.minimum(w, 0)))
    xv, lv, hv = np.asarray(x).ravel(), np.full(x.size, lo), np.full(x.size, hi)
    s = np.asarray(r).ravel() / (m @ xv - mp @ lv - mn @ hv)
    expected = xv * (m.T @ s) - lv * (mp.T @ s) - hv * (mn.T @ s)
    out = R.box_rule(op, x, w, r)
    np.testing.assert_allclose(np.asarray(out).ravel(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.sum(), r.sum(), rtol=1e-4)


def test_box_rule_bounds_are_per_image(case):
    x, w, op, _ = case
    batch = jnp.concatenate([x, 3 * x])
    r = jnp.ones(op(batch, w).shape)
    both = R.box_rule(op, batch, w, r)
    np.testing.assert_allclose(both[1:], R.box_rule(op, 3 * x, w, r[1:]), rtol=1e-5, atol=1e-6)


def test_zero_denominator_drops_relevance():
    op = _conv(padding=((0, 0), (0, 0)))
    x = jnp.zeros((1, 3, 3, 1))
    out = R.conv_rule(op, x, jnp.ones((3, 3, 1, 1)), jnp.ones((1, 1, 1, 1)))
    assert bool(jnp.all(jnp.isfinite(out))) and float(jnp.abs(out).sum()) == 0.0


def test_winner_rule_routes_to_the_maximum():
    x = jnp.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 1.0], [0.0, 0.0, 1.0, 2.0], [7.0, 0.0, 0.0, 3.0]])
    x = x[None, :, :, None]
    pool = lambda v: jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    r = jnp.array([[10.0, 20.0], [30.0, 40.0]])[None, :, :, None]
    out = R.winner_rule(pool, x, r)[0, :, :, 0]
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[3, 0], expected[3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(out, expected)


def test_split_rule():
    a = jnp.array([2.0, -1.0, 3.0, -2.0, 0.0])
    b = jnp.array([2.0, 3.0, -1.0, -2.0, 0.0])
    r = jnp.array([4.0, 4.0, 4.0, 4.0, 4.0])
    ra, rb = R.split_rule((a, b), r)
    np.testing.assert_allclose(ra, [2.0, 0.0, 4.0, 2.0, 0.0])
    np.testing.assert_allclose(rb, [2.0, 4.0, 0.0, 2.0, 0.0])


def test_fold_batch_norm_reproduces_conv_then_bn(case):
    x, w, op, _ = case
    scale, var, mean = jnp.array([1.5, -0.5, 2.0]), jnp.array([0.5, 2.0, 1.0]), jnp.array([0.1, -0.2, 0.3])
    bn = lambda y: (y - mean) * scale / jnp.sqrt(var + 1e-5)
    folded = R.fold_batch_norm(w, scale, var, 1e-5)
    np.testing.assert_allclose(op(x, folded), bn(op(x, w)) + mean * scale / jnp.sqrt(var + 1e-5), rtol=1e-5, atol=1e-5)


def test_denoise_matches_a_numpy_svd():
    r = jax.random.normal(jax.random.PRNGKey(4), (2, 4, 5, 30))  # K = 30, h·w = 20 → rank 2
    out = np.asarray(R.denoise(r))
    for b in range(2):
        m = np.asarray(r[b]).reshape(20, 30).T
        m = m - m.mean(axis=1, keepdims=True)
        u, s, vt = np.linalg.svd(m, full_matrices=False)
        expected = (u[:, :2] * s[:2]) @ vt[:2]
        np.testing.assert_allclose(out[b].reshape(20, 30).T, expected, rtol=1e-4, atol=1e-4)
        assert np.linalg.matrix_rank(out[b].reshape(20, 30), tol=1e-4) == 2


def test_denoise_rank_zero_gives_zeros():
    out = R.denoise(jnp.ones((1, 2, 2, 3)))  # min(K, hw) = 3 → ⌊0.3⌋ = 0 components
    np.testing.assert_array_equal(out, 0.0)
