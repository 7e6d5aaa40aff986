"""gigjax/explain.py: the public entry point, its post-processing options and its error handling."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import postprocess
from gigjax.explain import _compiled
from gigjax.testing import tiny_cnn


@pytest.fixture(scope="module")
def toy():
    return tiny_cnn()


@pytest.fixture(scope="module")
def toy_x():
    return jax.random.normal(jax.random.PRNGKey(7), (3, 32, 32, 3))


def _gradcam_by_hand(model, x, layer, targets):
    r = gigjax.probe(model, x, targets, (layer,))
    a, g = r.activations[layer], r.gradients[layer]
    return jnp.einsum("bhwk,bk->bhw", a, g.mean(axis=(1, 2)))


def test_gradcam_pipeline(toy, toy_x):
    raw = _gradcam_by_hand(toy, toy_x, "features", None)
    expected = postprocess.normalize(postprocess.upsample(postprocess.normalize(jax.nn.relu(raw)), (32, 32)))
    out = gigjax.explain(toy, toy_x)
    assert isinstance(out, jax.Array)
    chex.assert_shape(out, (3, 32, 32))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gigjax.explain(toy, toy_x, raw=True), raw, rtol=1e-5, atol=1e-7)


def test_gradcam_equals_cam_at_a_gap_head(lite0, lite0_batch):
    """Spec §2: at the last conv layer of a GAP+FC head, Grad-CAM = CAM after normalisation."""
    out = gigjax.explain(lite0, lite0_batch, output_size=(7, 7))
    r = gigjax.probe(lite0, lite0_batch, None, ("head",), input_gradient=False)
    kernel = lite0.variables["params"]["fc"]["kernel"]
    cam = jnp.einsum("bhwk,kb->bhw", r.activations["head"], kernel[:, r.classes])
    np.testing.assert_allclose(out, postprocess.normalize(jax.nn.relu(cam)), atol=2e-5)


def test_output_size_relu_and_normalize(toy, toy_x):
    raw = _gradcam_by_hand(toy, toy_x, "features", 1)
    out = gigjax.explain(toy, toy_x, targets=1, relu=False, normalize=False, output_size=(8, 8))
    np.testing.assert_allclose(out, raw, rtol=1e-5, atol=1e-7)  # features are 8×8 already
    out = gigjax.explain(toy, toy_x, targets=1, output_size=(5, 7))
    chex.assert_shape(out, (3, 5, 7))


def test_several_layers_are_fused(toy, toy_x):
    maps = [_gradcam_by_hand(toy, toy_x, layer, None) for layer in ("conv2", "features")]
    for fuse in ("mean", "max"):
        out = gigjax.explain(toy, toy_x, layer=["conv2", "features"], fuse=fuse)
        np.testing.assert_allclose(out, postprocess.fuse_layers(maps, fuse, size=(32, 32)), rtol=1e-5, atol=1e-6)


def test_batch_equals_one_by_one(toy, toy_x):
    out = gigjax.explain(toy, toy_x, targets=np.array([0, 1, 2]))
    for b in range(3):
        np.testing.assert_allclose(out[b:b + 1], gigjax.explain(toy, toy_x[b:b + 1], targets=b), rtol=1e-5, atol=1e-6)


class TestComposition(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_jit_equals_eager(self):
        toy, x = tiny_cnn(), jax.random.normal(jax.random.PRNGKey(8), (2, 32, 32, 3))
        fn = self.variant(gigjax.explainer("gradcam", layer="conv2"))
        np.testing.assert_allclose(fn(toy, x), gigjax.explain(toy, x, layer="conv2"), rtol=1e-5, atol=1e-6)

    def test_vmap_and_grad(self):
        toy, x = tiny_cnn(), jax.random.normal(jax.random.PRNGKey(9), (2, 2, 32, 32, 3))
        fn = gigjax.explainer("gradcam", normalize=False)
        out = jax.vmap(lambda xb: fn(toy, xb, 0))(x)
        np.testing.assert_allclose(out[1], fn(toy, x[1], 0), rtol=1e-5, atol=1e-7)
        grad = jax.grad(lambda xb: fn(toy, xb, 0).sum())(x[0])  # Grad-CAM is differentiable
        assert grad.shape == x[0].shape and bool(jnp.all(jnp.isfinite(grad)))


def test_compiled_once_per_configuration(toy, toy_x):
    gigjax.explain(toy, toy_x, layer="conv1")
    before = _compiled.cache_info().hits
    gigjax.explain(toy, toy_x, layer="conv1")
    assert _compiled.cache_info().hits == before + 1


def test_blank_and_saturated_images_give_finite_maps(lite0):
    for value in (-1.0, 0.0, 1.0):
        out = gigjax.explain(lite0, jnp.full((1, 224, 224, 3), value))
        assert bool(jnp.all(jnp.isfinite(out)))


class TestBadInput:
    def test_shape(self, toy):
        with pytest.raises(gigjax.GigjaxError, match=r"shape \(B, H, W, C\).*x\[None\]"):
            gigjax.explain(toy, jnp.zeros((32, 32, 3)))

    def test_integer_dtype(self, toy):
        with pytest.raises(gigjax.GigjaxError, match="dtype uint8.*preprocess"):
            gigjax.explain(toy, np.zeros((1, 32, 32, 3), np.uint8))

    def test_nan(self, toy):
        with pytest.raises(gigjax.GigjaxError, match="NaN"):
            gigjax.explain(toy, jnp.full((1, 32, 32, 3), jnp.nan))

    def test_unknown_method_and_option(self, toy, toy_x):
        with pytest.raises(gigjax.GigjaxError, match="unknown method 'gradcamm'"):
            gigjax.explain(toy, toy_x, method="gradcamm")
        with pytest.raises(gigjax.GigjaxError, match="has no option"):
            gigjax.explain(toy, toy_x, stepz=3)

    def test_targets(self, toy, toy_x):
        with pytest.raises(gigjax.GigjaxError, match="batch holds 3 images"):
            gigjax.explain(toy, toy_x, targets=[0, 1])
        with pytest.raises(gigjax.GigjaxError, match="out of range"):
            gigjax.explain(toy, toy_x, targets=99)

    def test_layer_and_postprocessing(self, toy, toy_x):
        with pytest.raises(gigjax.GigjaxError, match="unknown layer"):
            gigjax.explain(toy, toy_x, layer="fc2")
        with pytest.raises(gigjax.GigjaxError, match="fuse"):
            gigjax.explain(toy, toy_x, fuse="median")
        with pytest.raises(gigjax.GigjaxError, match="output_size"):
            gigjax.explain(toy, toy_x, output_size=(0, 4))
        with pytest.raises(gigjax.GigjaxError, match="single layer"):
            gigjax.explain(toy, toy_x, raw=True, layer=["conv1", "conv2"])
        with pytest.raises(gigjax.GigjaxError, match="not a \\(B, h, w, K\\) feature map"):
            gigjax.explain(toy, toy_x, layer="fc")

    def test_not_a_model(self, toy_x):
        with pytest.raises(gigjax.GigjaxError, match="gigjax Model"):
            gigjax.explain(object(), toy_x)


def test_a_method_value_needs_no_registration(toy, toy_x):
    """A user's Method, declared with its option and passed by value, through explainer, explain and describe."""
    from gigjax.methods.base import gradient_cam
    from gigjax.methods.gradcam import gradcam_term
    from gigjax.options import Option

    scaled = gigjax.Method(name="scaled_gradcam", fn=gradient_cam(lambda a, g, *, factor: factor * gradcam_term(a, g)),
                           summary="Grad-CAM times a factor",
                           options={"factor": Option(2.0, "the factor", check=lambda v, name: float(v))})
    assert "scaled_gradcam" not in gigjax.available_methods()
    raw = gigjax.explain(toy, toy_x, raw=True)
    np.testing.assert_allclose(gigjax.explain(toy, toy_x, scaled, raw=True), 2 * raw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gigjax.explainer(scaled, factor=3, raw=True)(toy, toy_x), 3 * raw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gigjax.explain(toy, toy_x, scaled), gigjax.explain(toy, toy_x), rtol=1e-5, atol=1e-6)
    assert gigjax.describe(scaled).options["factor"].default == 2.0
    with pytest.raises(gigjax.GigjaxError, match="method 'scaled_gradcam' has no option"):
        gigjax.explainer(scaled, steps=2)


def test_layer_must_name_layers(toy, toy_x):
    with pytest.raises(gigjax.GigjaxError, match="layer must be a layer path or a sequence of layer paths"):
        gigjax.explain(toy, toy_x, layer=5)
