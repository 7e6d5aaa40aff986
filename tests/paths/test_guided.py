"""Guided IG path (gigjax/paths/guided.py): PAIR's test vectors, path invariants, exact ties."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax import GigjaxError
from gigjax.paths import guided_path, guided_step, straight_path
from gigjax.paths.guided import check_guided

from golden_files import load_golden


def _input_term(g, step):
    return step.displacement * g


@functools.partial(jax.jit, static_argnames=("grad", "steps", "ties"))
def _guided_ig(x, baseline, fraction, max_dist, *, grad, steps, ties):
    return guided_path(jax.vmap(grad), _input_term, x, baseline, signal=jnp.abs, steps=steps, fraction=fraction,
                       max_dist=max_dist, ties=ties)


def guided_ig(grad, x, baseline, steps=200, fraction=0.25, max_dist=0.02, ties="exact"):
    """Guided IG of a toy function given its gradient (one input or a batch of 1-D inputs); one
    compilation per (grad, shape, steps, ties): fraction and max_dist are traced."""
    x, baseline = jnp.atleast_2d(jnp.asarray(x, jnp.float32)), jnp.atleast_2d(jnp.asarray(baseline, jnp.float32))
    check_guided(steps, fraction, max_dist, ties)
    return np.asarray(_guided_ig(x, baseline, fraction, max_dist, grad=grad, steps=steps, ties=ties))


def linear(v):  # f = 2x₁ + x₂
    return jnp.array([2.0, 1.0]) + 0 * v


def quadratic_indep(v):  # f = 2x₁² + x₂²
    return jnp.array([4.0, 2.0]) * v


def quadratic_dep(v):  # f = (2x₁ + x₂)²
    return jnp.array([4.0, 2.0]) * (2 * v[0] + v[1])


def wavy(v):  # a gradient field with interacting features
    return jnp.cos(v) * jnp.roll(v, 1) + 0.1 * v


def wavy_abs(v):
    return jnp.abs(jnp.sin(3 * v) + v ** 2)


# PAIR-code/saliency core/guided_ig_test.py (spec §3), with its tolerances.
@pytest.mark.parametrize("ties", ["exact", "rank"])
def test_pair_linear_vectors(ties):
    kw = dict(steps=10, fraction=0.1, max_dist=0.5, ties=ties)
    np.testing.assert_allclose(guided_ig(linear, [10, 5], [-1, -3], **kw)[0], [22, 8], rtol=1e-6)
    np.testing.assert_allclose(guided_ig(linear, [10, 5], [0, 0], **kw)[0], [20, 5], rtol=1e-6)


def test_pair_quadratic_vectors():
    kw = dict(steps=1000, fraction=0.1, max_dist=0.4)
    np.testing.assert_allclose(guided_ig(quadratic_indep, [3, 3], [0, 0], **kw)[0], [18, 9], rtol=0.01)
    np.testing.assert_allclose(guided_ig(quadratic_indep, [0, 0], [3, 3], **kw)[0], [-18, -9], rtol=0.01)
    ig = dict(steps=1000, fraction=0.1)
    np.testing.assert_allclose(guided_ig(quadratic_dep, [3, 3], [0, 0], max_dist=0.0, **ig)[0], [54, 27], rtol=0.01)
    np.testing.assert_allclose(guided_ig(quadratic_dep, [3, 3], [0, 0], steps=1000, fraction=1.0, max_dist=0.5)[0],
                               [54, 27], rtol=0.01)
    np.testing.assert_allclose(guided_ig(quadratic_dep, [3, 3], [0, 0], max_dist=1.0, **ig)[0], [72, 9], rtol=0.01)
    bounded = guided_ig(quadratic_dep, [3, 3], [0, 0], max_dist=0.2, **ig)[0]
    assert abs(bounded.sum() - 81.0) < 0.1
    assert 55 < bounded[0] < 71 and 10 < bounded[1] < 26


def _tied_gradient(v, a, kink):
    return jnp.asarray(a, jnp.float32) * (1 + (v > kink))


def test_exact_ties_match_pair():
    """A golden from PAIR's own loop (tests/golden/make_guided_ig_pair.py) on a function whose
    gradient has many exact ties, where one-sort-per-step without tie handling differs."""
    g = load_golden("guided_ig_pair_ties.npz")
    a, kink = tuple(g["a"].tolist()), float(g["kink"])
    grad = functools.partial(_tied_gradient, a=a, kink=kink)
    kw = dict(steps=int(g["steps"]), fraction=float(g["fraction"]), max_dist=float(g["max_dist"]))
    exact = guided_ig(grad, g["x"], g["baseline"], ties="exact", **kw)[0]
    np.testing.assert_allclose(exact, g["attribution"], rtol=1e-5, atol=1e-5 * np.abs(g["attribution"]).max())
    rank = guided_ig(grad, g["x"], g["baseline"], ties="rank", **kw)[0]
    assert np.abs(rank - g["attribution"]).max() > 1e-3  # the golden does exercise ties


@functools.partial(jax.jit, static_argnames=("ties",))
def _step(point, x, baseline, alpha, fraction, max_dist, ties):
    return jax.vmap(functools.partial(guided_step, fraction=fraction, max_dist=max_dist, ties=ties),
                    in_axes=(0, 0, 0, 0, None))(point, wavy_abs(point), x, baseline, alpha)


def _walk(x, baseline, steps, fraction, max_dist, ties):
    points = [baseline]
    for t in range(steps):
        points.append(_step(points[-1], x, baseline, (t + 1) / steps, fraction, max_dist, ties))
    return jnp.stack(points)


@pytest.mark.parametrize("max_dist,fraction,ties", [(0.02, 0.25, "exact"), (0.1, 0.1, "rank"), (1.0, 0.25, "exact")])
def test_path_endpoints_schedule_and_window(max_dist, fraction, ties):
    key = jax.random.PRNGKey(0)
    x, baseline = jax.random.normal(key, (6, 5)), jax.random.normal(jax.random.PRNGKey(1), (6, 5))
    steps = 20
    path = _walk(x, baseline, steps, fraction, max_dist, ties)
    l1_total = float(jnp.sum(jnp.abs(x - baseline)))
    np.testing.assert_array_equal(path[0], baseline)
    np.testing.assert_allclose(path[-1], x, atol=1e-5)
    progress = (path - baseline) / (x - baseline)
    for t in range(1, steps + 1):
        alpha = t / steps
        np.testing.assert_allclose(jnp.sum(jnp.abs(path[t] - x)), l1_total * (1 - alpha), rtol=1e-5, atol=1e-4)
        assert float(progress[t].min()) >= max(alpha - max_dist, 0) - 1e-5
        assert float(progress[t].max()) <= min(alpha + max_dist, 1) + 1e-5
    assert float(jnp.min(jnp.diff(progress, axis=0))) >= -1e-6  # every feature moves monotonically


@pytest.mark.parametrize("max_dist,fraction", [(0.0, 0.25), (0.3, 1.0)])
def test_reduces_to_the_straight_line(max_dist, fraction):
    x, baseline = jax.random.normal(jax.random.PRNGKey(2), (2, 7)), jnp.zeros((2, 7))
    ours = guided_ig(wavy, x, baseline, steps=16, max_dist=max_dist, fraction=fraction)
    ig = straight_path(jax.vmap(wavy), _input_term, x, baseline, steps=16, quadrature_rule="riemann_left")
    np.testing.assert_allclose(ours, ig, rtol=1e-5, atol=1e-6)


def test_images_follow_their_own_paths():
    x = jax.random.normal(jax.random.PRNGKey(3), (3, 7))
    baseline = jnp.zeros_like(x)
    batch = guided_ig(wavy, x, baseline, steps=16)
    for i in range(3):
        np.testing.assert_allclose(batch[i], guided_ig(wavy, x[i], baseline[i], steps=16)[0], rtol=1e-6, atol=1e-7)


def test_input_equal_to_baseline_gives_zero():
    out = guided_ig(quadratic_indep, [[1.0, 2.0], [3.0, 3.0]], [[1.0, 2.0], [0.0, 0.0]], steps=50)
    np.testing.assert_array_equal(out[0], 0.0)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("kw,msg", [(dict(steps=0), "steps"), (dict(fraction=0.0), "fraction"),
                                    (dict(fraction=1.5), "fraction"), (dict(max_dist=-0.1), "max_dist"),
                                    (dict(ties="loose"), "ties")])
def test_invalid_settings(kw, msg):
    with pytest.raises(GigjaxError, match=msg):
        guided_ig(linear, [1.0, 2.0], [0.0, 0.0], **kw)


class TestJit(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_jit_equals_eager(self):
        x = jax.random.normal(jax.random.PRNGKey(4), (2, 7))
        run = self.variant(lambda x: guided_path(jax.vmap(wavy), _input_term, x, 0 * x, signal=jnp.abs, steps=16))
        np.testing.assert_allclose(run(x), guided_ig(wavy, x, 0 * x, steps=16), rtol=1e-6, atol=1e-7)
