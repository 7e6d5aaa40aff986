"""gigjax/testing.py: the toy-model-and-card factory the tests build their models with."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.models.relevance_plan import Conv, Plan
from gigjax.testing import ConvLayer, ResNetBody, VGGBody, tiny_cnn, toy_model


def test_tiny_cnn_card_and_plan():
    model = tiny_cnn()
    card = model.card
    assert (card.name, card.layers, card.cam_layer, card.classifier) == ("tiny_cnn", ("conv1", "conv2", "features"),
                                                                         "features", "fc")
    assert card.class_names == tuple(f"class_{i}" for i in range(5)) and card.input_size == (32, 32)
    assert card.relevance_plan(model) == Plan((Conv("conv1", first=True), Conv("conv2"),
                                               Conv("features/conv", aliases=("features",))), base="features")


def test_cards_are_equal_and_hashable_across_calls():
    """The card is a static pytree field: equal toys must compile once under jit."""
    a, b = tiny_cnn(seed=0), tiny_cnn(seed=1)
    assert a.card == b.card and hash(a.card) == hash(b.card)
    assert toy_model(VGGBody(), head="mlp").card == toy_model(VGGBody(), head="mlp").card


def test_seeds_and_inits_change_the_weights_only():
    a, b, c = tiny_cnn(seed=0), tiny_cnn(seed=1), tiny_cnn(init="lecun")
    ka, kb, kc = (m.variables["params"]["conv1"]["kernel"] for m in (a, b, c))
    assert not np.allclose(ka, kb) and not np.allclose(ka, kc)
    # He-normal: N(0, 2/fan_in); LeCun: N(0, 1/fan_in) — fan_in 27 for the first 3×3×3 conv
    assert float(jnp.std(ka)) == pytest.approx(np.sqrt(2 / 27), rel=0.3)
    assert float(jnp.std(kc)) == pytest.approx(np.sqrt(1 / 27), rel=0.3)


def test_sum_head_is_closed_form():
    model = toy_model(head="sum", class_names=("sum", "zero", "other"), size=(2, 3))
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 2, 3, 3))
    np.testing.assert_allclose(model.logits(x)[:, 0], jnp.sum(x, axis=(1, 2, 3)), rtol=1e-6)
    assert float(jnp.abs(model.logits(x)[:, 1:]).max()) == 0.0
    assert model.card.input_size == (2, 3) and model.card.layers == () and model.card.relevance_plan is None


def test_bodies_set_the_default_layers():
    vgg = toy_model(VGGBody((8, "M")), head="mlp", size=8)
    assert vgg.card.layers == ("features/0", "features/1", "features/2") and vgg.card.classifier is None
    resnet = toy_model(ResNetBody(8, ((1, 4, 1),)), size=16)
    assert resnet.card.layers == ("maxpool", "layer1") and resnet.card.cam_layer == "layer1"
    smooth = toy_model((ConvLayer("conv1", 4, activation="tanh"),), size=8)
    assert smooth.card.relevance_plan is None  # FG-CAM's rules need ReLU-like activations


def test_block_and_batch_norm_layers():
    model = toy_model((ConvLayer("stem", 4, batch_norm="bn"), ConvLayer("out", 6, stride=2, block=True)), size=8)
    params = model.variables["params"]
    assert set(params) == {"stem", "bn", "out", "fc"} and set(params["out"]) == {"conv"}
    assert set(model.variables["batch_stats"]) == {"bn"}
    assert model.card.relevance_plan(model) == Plan((Conv("stem", bn="bn", first=True),
                                                     Conv("out/conv", aliases=("out",))), base="out")


def test_bad_knobs():
    with pytest.raises(GigjaxError, match="head.*'gap'"):
        toy_model(head="gap")
    with pytest.raises(GigjaxError, match="init.*'zeros'"):
        toy_model(init="zeros")
