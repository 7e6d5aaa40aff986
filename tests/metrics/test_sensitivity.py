"""gigjax/metrics/sensitivity.py: captum 0.9 ``sensitivity_max`` given the SAME perturbations (golden made once by
tests/golden/make_captum_metric_golden.py), the zero-explanation rule, and the radius of the draws."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.metrics.sensitivity import sensitivity_max, sensitivity_max_of, uniform_perturbations

from golden_files import load_golden


def test_sensitivity_max_matches_captum_given_the_same_perturbations():
    g = load_golden("captum_metrics.npz")
    x, v, noise, expected = g["x"], g["v"], g["sensitivity_noise"], g["sensitivity"]
    explain = lambda x: jnp.sum(x * v, axis=-1) ** 2  # noqa: E731 — the golden's explanation function
    ours = jax.jit(lambda x, n: sensitivity_max_of(explain, x, explain(x), n))(x, noise)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-4)


def test_zero_explanation_divides_by_one_and_draws_stay_in_the_radius():
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(3), i))(jnp.arange(2))
    draws = uniform_perturbations(keys, (4, 4, 3), 6, 0.05)
    assert draws.shape == (6, 2, 4, 4, 3) and float(jnp.max(jnp.abs(draws))) <= 0.05
    x = jnp.zeros((2, 4, 4, 3))
    value = sensitivity_max(lambda x: jnp.sum(x, axis=-1), x, jnp.zeros((2, 4, 4)), keys, samples=6, radius=0.05)
    expected = jnp.max(jnp.sqrt(jnp.sum(jnp.sum(draws, axis=-1) ** 2, axis=(2, 3))), axis=0)
    np.testing.assert_allclose(np.asarray(value), np.asarray(expected), rtol=1e-5)
