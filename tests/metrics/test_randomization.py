"""gigjax/metrics/randomization.py: MPRT on a two-layer linear model whose randomised maps are known in closed
form (|gradient| = |Aᵀ B[c]| per pixel, summed over channels), checked against ``scipy.stats.spearmanr``;
average ranks for ties; layer order from the card, and a map that ignores the model stays correlated."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import spearmanr

from gigjax.errors import GigjaxError
from gigjax.metrics.randomization import average_ranks, layer_groups, randomization_curve, spearman
from gigjax.models import Model, ModelCard

SIZE, HIDDEN, CLASSES = (5, 4), 6, 3


class TwoLinear(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.Dense(HIDDEN, name="hidden")(x.reshape(x.shape[0], -1))
        return nn.Dense(CLASSES, name="out")(h)


def known(key, leaf):
    """The known re-initialisation: cos(0, 1, 2, …) in the leaf's shape (the key is ignored)."""
    return jnp.cos(jnp.arange(leaf.size, dtype=jnp.float32)).reshape(leaf.shape)


@pytest.fixture(scope="module")
def two_linear():
    rng = np.random.RandomState(0)
    n = SIZE[0] * SIZE[1] * 3
    params = {"out": {"kernel": rng.normal(size=(HIDDEN, CLASSES)).astype(np.float32),
                      "bias": np.zeros(CLASSES, np.float32)},
              "hidden": {"kernel": rng.normal(size=(n, HIDDEN)).astype(np.float32),
                         "bias": np.zeros(HIDDEN, np.float32)}}
    card = ModelCard(name="two_linear", input_size=SIZE, resize_short=SIZE[0], mean=(0.5,) * 3, std=(0.25,) * 3,
                     class_names=("a", "b", "c"), layers=("hidden",), cam_layer="hidden", classifier="out")
    return Model(module=TwoLinear(), variables={"params": params}, card=card)


def gradient_magnitude(model, x, classes):
    """(B, H, W) |∂logit_c/∂x| summed over channels."""
    grad = jax.vmap(jax.grad(lambda xi, c: model.logits(xi[None])[0, c]))(x, classes)
    return jnp.sum(jnp.abs(grad), axis=-1)


def closed_form(a, b, c):
    return np.abs(a @ b[:, c]).reshape(*SIZE, 3).sum(-1)


def test_cascade_top_down_matches_closed_form_maps_and_scipy(two_linear):
    assert layer_groups(two_linear) == ("hidden", "out")          # the card's order, not the dict's
    x = jnp.asarray(np.random.RandomState(1).normal(size=(2, *SIZE, 3)).astype(np.float32))
    classes = jnp.asarray([0, 2])
    maps = gradient_magnitude(two_linear, x, classes)
    curve = jax.jit(lambda m, x: randomization_curve(m, x, maps, classes, gradient_magnitude, jax.random.PRNGKey(0),
                                                     init=known))(two_linear, x)
    p = two_linear.variables["params"]
    a, b = p["hidden"]["kernel"], p["out"]["kernel"]
    a2, b2 = np.asarray(known(None, a)), np.asarray(known(None, b))
    for i, c in enumerate(np.asarray(classes)):
        original = closed_form(a, b, c)
        np.testing.assert_allclose(np.asarray(maps[i]), original, rtol=1e-5)
        stages = [closed_form(a, b2, c), closed_form(a2, b2, c)]     # top layer, then both
        expected = [spearmanr(original.ravel(), s.ravel()).statistic for s in stages]
        np.testing.assert_allclose(np.asarray(curve[i]), expected, atol=1e-5)


def test_a_model_independent_map_stays_perfectly_correlated(two_linear):
    x = jnp.asarray(np.random.RandomState(2).normal(size=(1, *SIZE, 3)).astype(np.float32))
    explain = lambda model, x, classes: jnp.sum(x ** 2, axis=-1)  # noqa: E731
    curve = randomization_curve(two_linear, x, explain(None, x, None), jnp.asarray([1]), explain,
                                jax.random.PRNGKey(0))
    np.testing.assert_allclose(np.asarray(curve), 1.0, atol=1e-6)


def test_spearman_uses_average_ranks_for_ties_like_scipy():
    a = np.asarray([[0.0, 0.0, 1.0, 3.0, 3.0, 3.0, 2.0, 0.5]], np.float32)
    b = np.asarray([[1.0, 2.0, 2.0, 0.0, 5.0, 5.0, 1.0, 4.0]], np.float32)
    np.testing.assert_allclose(np.asarray(average_ranks(jnp.asarray(a[0]))), [1.5, 1.5, 4, 7, 7, 7, 5, 3])
    np.testing.assert_allclose(float(spearman(a, b)[0]), spearmanr(a[0], b[0]).statistic, atol=1e-6)
    assert np.isnan(float(spearman(a, np.ones_like(b))[0]))


def test_a_function_model_s_dict_of_params_is_randomised_in_its_order(two_linear):
    p = two_linear.variables["params"]
    params = {"w": jnp.asarray(p["hidden"]["kernel"]), "v": jnp.asarray(p["out"]["kernel"])}
    model = Model.from_function(lambda q, x: (x.reshape(x.shape[0], -1) @ q["w"]) @ q["v"], params,
                                input_size=SIZE, num_classes=CLASSES, name="two_matrices")
    assert layer_groups(model) == ("w", "v")
    x = jnp.asarray(np.random.RandomState(3).normal(size=(1, *SIZE, 3)).astype(np.float32))
    classes = jnp.asarray([1])
    curve = randomization_curve(model, x, gradient_magnitude(model, x, classes), classes, gradient_magnitude,
                                jax.random.PRNGKey(0), init=known)
    expected = [spearmanr(closed_form(p["hidden"]["kernel"], p["out"]["kernel"], 1).ravel(), s.ravel()).statistic
                for s in (closed_form(p["hidden"]["kernel"], np.asarray(known(None, p["out"]["kernel"])), 1),
                          closed_form(np.asarray(known(None, p["hidden"]["kernel"])),
                                      np.asarray(known(None, p["out"]["kernel"])), 1))]
    np.testing.assert_allclose(np.asarray(curve[0]), expected, atol=1e-5)


def test_a_model_without_params_is_refused(two_linear):
    with pytest.raises(GigjaxError, match="no 'params' to randomise"):
        layer_groups(two_linear.replace(variables={}))
    with pytest.raises(GigjaxError, match="no 'params' to randomise.*got list"):
        layer_groups(two_linear.replace(variables=[1.0]))
