"""gigjax/methods/cam.py: Σ_k W_ck A_k at the GAP layer; Grad-CAM = CAM there (spec §2); clear errors."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax


def test_matches_the_classifier_weights(toy, toy_x, probe_np, raw):
    a, _, _, classes = probe_np(toy, toy_x, jnp.array([0, 4, 2]), "features")
    kernel = np.asarray(toy.variables["params"]["fc"]["kernel"], np.float64)
    expected = np.einsum("bhwk,kb->bhw", a, kernel[:, classes])
    np.testing.assert_allclose(raw(toy, toy_x, "cam", jnp.array([0, 4, 2])), expected, rtol=1e-4, atol=1e-6)


def test_gradcam_equals_cam_after_normalisation(toy, toy_x):
    out = [gigjax.explain(toy, toy_x, m, output_size=(8, 8)) for m in ("cam", "gradcam")]
    np.testing.assert_allclose(out[0], out[1], atol=1e-4)  # the eps of N differs relatively by Z


def test_callable_returning_classes(toy, toy_x, raw):
    second = lambda logits: jnp.argsort(logits, axis=-1)[:, -2]
    classes = np.asarray(second(jax.jit(toy.logits)(toy_x)))
    np.testing.assert_allclose(raw(toy, toy_x, "cam", second), raw(toy, toy_x, "cam", jnp.asarray(classes)), rtol=1e-6)


def test_a_layer_returning_the_same_array_is_accepted(fgcam_nets):
    """ResNet-style stages: ``layer2/0`` returns the very array ``layer2`` (the card's CAM layer) does."""
    model = fgcam_nets["toy_resnet"]()
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 32, 32, 3))
    fn = jax.jit(lambda m, x: [gigjax.explainer("cam", raw=True, layer=l)(m, x) for l in ("layer2", "layer2/0")])
    a, b = fn(model, x)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(gigjax.GigjaxError, match="not at 'layer2/0/bn3'"):
        jax.eval_shape(gigjax.explainer("cam", layer="layer2/0/bn3"), model, x)


def test_errors(toy, toy_x):
    with pytest.raises(gigjax.GigjaxError, match="layer feeding the global average pooling"):
        gigjax.explain(toy, toy_x, "cam", layer="conv2")
    no_head = dataclasses.replace(toy, card=dataclasses.replace(toy.card, classifier=None))
    with pytest.raises(gigjax.GigjaxError, match="global-average-pooling"):
        gigjax.explain(no_head, toy_x, "cam")
    with pytest.raises(gigjax.GigjaxError, match="class indices"):
        gigjax.explain(toy, toy_x, "cam", lambda logits: logits[:, 0])
