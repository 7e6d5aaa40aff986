"""gigjax/metrics/infidelity.py: captum 0.9 ``infidelity(normalize=True)`` given the SAME perturbations (golden
made once by tests/golden/make_captum_metric_golden.py), and per-image keys (batch = one by one)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.metrics.infidelity import infidelity_of, infidelity_score
from gigjax.models import Model, ModelCard

from golden_files import load_golden


class FlatLinear(nn.Module):
    """logits = x.reshape(B, −1) @ kernel + bias (the golden's model)."""

    @nn.compact
    def __call__(self, x):
        return nn.Dense(4, name="dense")(x.reshape(x.shape[0], -1))


@pytest.fixture(scope="module")
def golden():
    return load_golden("captum_metrics.npz")


@pytest.fixture(scope="module")
def linear(golden):
    card = ModelCard(name="flat_linear", input_size=(6, 6), resize_short=6, mean=(0.5,) * 3, std=(0.25,) * 3,
                     class_names=("a", "b", "c", "d"), layers=(), cam_layer="", classifier="dense")
    return Model(module=FlatLinear(), variables={"params": {"dense": {"kernel": golden["w"], "bias": golden["b"]}}},
                 card=card)


def test_infidelity_matches_captum_given_the_same_perturbations(linear, golden):
    ours = jax.jit(infidelity_of)(linear, golden["x"], golden["maps"], golden["classes"], golden["infidelity_noise"])
    np.testing.assert_allclose(np.asarray(ours), golden["infidelity"], rtol=2e-3)


def test_perturbations_come_from_each_image_s_key(linear, golden):
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(0), i))(jnp.arange(2))
    both = infidelity_score(linear, golden["x"], golden["maps"], golden["classes"], keys, samples=4)
    second = infidelity_score(linear, golden["x"][1:], golden["maps"][1:], golden["classes"][1:], keys[1:], samples=4)
    np.testing.assert_allclose(np.asarray(both[1]), np.asarray(second[0]), rtol=1e-5)
    assert np.all(np.isfinite(np.asarray(both))) and float(both[0]) != float(both[1])
