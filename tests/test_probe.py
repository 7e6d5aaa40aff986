"""gigjax/probe.py: one forward+backward gives logits, activations and exact gradients."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.models import Model
from gigjax.testing import tiny_cnn


@pytest.fixture(scope="module")
def toy():
    return tiny_cnn()


@pytest.fixture(scope="module")
def toy_x(toy):
    return jax.random.normal(jax.random.PRNGKey(1), (3, 32, 32, 3))


def test_gap_head_gradient_is_closed_form(toy, toy_x):
    """Behind GAP + Dense, ∂S_c/∂A_ijk = W_kc / (h·w) exactly."""
    r = gigjax.probe(toy, toy_x, targets=jnp.array([0, 3, 4]), layers=("features",))
    kernel = toy.variables["params"]["fc"]["kernel"]  # (K, classes)
    h, w = r.activations["features"].shape[1:3]
    for b, c in enumerate([0, 3, 4]):
        expected = jnp.broadcast_to(kernel[:, c] / (h * w), r.gradients["features"][b].shape)
        np.testing.assert_allclose(r.gradients["features"][b], expected, rtol=1e-6, atol=1e-8)


def test_matches_direct_autodiff(toy, toy_x):
    r = gigjax.probe(toy, toy_x, targets=2, layers=("conv2",))
    np.testing.assert_allclose(r.logits, toy.logits(toy_x), rtol=1e-6)
    grad_x = jax.grad(lambda x: toy.logits(x)[:, 2].sum())(toy_x)
    np.testing.assert_allclose(r.input_gradient, grad_x, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(r.scores, toy.logits(toy_x)[:, 2], rtol=1e-6)
    chex.assert_shape(r.activations["conv2"], (3, 16, 16, 8))
    chex.assert_equal_shape([r.activations["conv2"], r.gradients["conv2"]])


def test_layer_gradient_matches_perturbation(toy, toy_x):
    """∂S/∂A from the probe equals the derivative of S along a direction added to A."""
    r = gigjax.probe(toy, toy_x, targets=1, layers=("conv2",))
    direction = jax.random.normal(jax.random.PRNGKey(5), r.activations["conv2"].shape)

    def score(eps):
        def add(next_fun, args, kwargs, context):
            out = next_fun(*args, **kwargs)
            if context.method_name == "__call__" and context.module.path == ("conv2",):
                out = out + eps * direction
            return out

        with nn.intercept_methods(add):
            return toy.logits(toy_x)[:, 1].sum()

    np.testing.assert_allclose(jax.grad(score)(0.0), jnp.sum(r.gradients["conv2"] * direction), rtol=1e-4)


class TestTargets:
    def test_none_is_argmax(self, toy, toy_x):
        r = gigjax.probe(toy, toy_x, layers=("features",))
        np.testing.assert_array_equal(r.classes, jnp.argmax(toy.logits(toy_x), -1))

    def test_int_and_array(self, toy, toy_x):
        np.testing.assert_array_equal(gigjax.probe(toy, toy_x, 4).classes, [4, 4, 4])
        np.testing.assert_array_equal(gigjax.probe(toy, toy_x, np.array([1, 0, 2])).classes, [1, 0, 2])

    def test_callable_returning_classes(self, toy, toy_x):
        second = lambda logits: jnp.argsort(logits, axis=-1)[:, -2]
        r = gigjax.probe(toy, toy_x, second)
        np.testing.assert_array_equal(r.classes, second(toy.logits(toy_x)))

    def test_callable_returning_scores(self, toy, toy_x):
        lse = lambda logits: jax.nn.logsumexp(logits[:, :2], axis=-1)
        r = gigjax.probe(toy, toy_x, lse)
        np.testing.assert_array_equal(r.classes, [-1, -1, -1])
        grad = jax.grad(lambda x: lse(toy.logits(x)).sum())(toy_x)
        np.testing.assert_allclose(r.input_gradient, grad, rtol=1e-5, atol=1e-7)

    def test_callable_of_wrong_shape(self, toy, toy_x):
        with pytest.raises(gigjax.GigjaxError, match="targets callable"):
            gigjax.probe(toy, toy_x, lambda logits: logits[:, :2])


def test_batch_equals_one_by_one(toy, toy_x):
    r = gigjax.probe(toy, toy_x, None, ("conv1", "features"))
    for b in range(toy_x.shape[0]):
        rb = gigjax.probe(toy, toy_x[b:b + 1], None, ("conv1", "features"))
        for layer in ("conv1", "features"):
            np.testing.assert_allclose(r.gradients[layer][b:b + 1], rb.gradients[layer], rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(r.input_gradient[b:b + 1], rb.input_gradient, rtol=1e-5, atol=1e-8)


class TestTransforms(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_jit_equals_eager(self):
        toy = tiny_cnn()
        x = jax.random.normal(jax.random.PRNGKey(2), (2, 32, 32, 3))
        fn = self.variant(lambda m, x: gigjax.probe(m, x, None, ("features",)))
        r = fn(toy, x)
        ref = gigjax.probe(toy, x, None, ("features",))
        np.testing.assert_allclose(r.gradients["features"], ref.gradients["features"], rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(r.input_gradient, ref.input_gradient, rtol=1e-5, atol=1e-8)

    def test_vmap_over_an_outer_axis(self):
        toy = tiny_cnn()
        x = jax.random.normal(jax.random.PRNGKey(3), (2, 3, 32, 32, 3))  # (groups, B, ...)
        out = jax.vmap(lambda xb: gigjax.probe(toy, xb, 1, ("features",)).gradients["features"])(x)
        for g in range(2):
            ref = gigjax.probe(toy, x[g], 1, ("features",)).gradients["features"]
            np.testing.assert_allclose(out[g], ref, rtol=1e-5, atol=1e-8)


def test_without_input_gradient(toy, toy_x):
    r = gigjax.probe(toy, toy_x, None, ("features",), input_gradient=False)
    assert r.input_gradient is None


def test_unknown_layer_is_a_clear_error(toy, toy_x):
    with pytest.raises(gigjax.GigjaxError, match="unknown layer 'featurez'.*did you mean features"):
        gigjax.resolve_layers(toy, "featurez")
    with pytest.raises(gigjax.GigjaxError, match="unknown layer"):
        gigjax.probe(toy, toy_x, None, ("nope",))


def test_dotted_names_are_accepted(toy):
    assert gigjax.resolve_layers(toy, "features.conv") == ("features/conv",)
    assert gigjax.resolve_layers(toy, None) == ("features",)


def test_a_layer_called_twice_is_refused():
    class Shared(nn.Module):
        @nn.compact
        def __call__(self, x):
            conv = nn.Conv(3, (3, 3), padding=1, name="shared")
            x = conv(conv(x))
            return nn.Dense(2, name="fc")(x.mean((1, 2)))

    module = Shared()
    variables = module.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3)))
    model = Model(module=module, variables=variables, card=tiny_cnn().card)
    with pytest.raises(gigjax.GigjaxError, match="called more than once"):
        gigjax.probe(model, jnp.zeros((1, 8, 8, 3)), 0, ("shared",))


def test_user_module_with_layer_path():
    """Any linen classifier works, addressed by its module path."""

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.relu(nn.Conv(4, (3, 3), padding=1, name="body")(x))
            return nn.Dense(3, name="head")(x.mean((1, 2)))

    module = Net()
    variables = module.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3)))
    model = Model(module=module, variables=variables, card=tiny_cnn(num_classes=3, size=8).card)
    r = gigjax.probe(model, jnp.ones((2, 8, 8, 3)), 1, ("body",))
    chex.assert_shape(r.gradients["body"], (2, 8, 8, 4))


def test_lite0_head_gradient_is_closed_form(lite0, lite0_batch):
    """On the real model: the head feeds GAP + fc, so ∂S_c/∂head = fc_kernel[:, c] / 49."""
    r = jax.jit(lambda m, x: gigjax.probe(m, x, None, ("head",), input_gradient=False))(lite0, lite0_batch)
    kernel = lite0.variables["params"]["fc"]["kernel"]
    np.testing.assert_array_equal(r.classes[1], 967)
    for b in range(2):
        expected = jnp.broadcast_to(kernel[:, r.classes[b]] / 49.0, (7, 7, 1280))
        np.testing.assert_allclose(r.gradients["head"][b], expected, rtol=1e-5, atol=1e-9)
