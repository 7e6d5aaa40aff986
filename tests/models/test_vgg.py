"""VGG16 (models/vgg.py): torchvision parity on seeded random weights, layout, names, card.

The golden logits come from torchvision's ``vgg16()`` filled with the same seeded arrays
(tests/golden/make_torchvision_golden.py); here they are regenerated without torch and converted in
memory with the torchvision name map (the 550 MB file round trip is exercised on ResNet50 instead).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.models import convert, vgg


@pytest.fixture(scope="module")
def vgg16_shapes(shape_model):
    return shape_model("vgg16")


def test_logits_match_torchvision(numpy_weights, torchvision_golden, torchvision_input, vgg16_shapes):
    state = numpy_weights.random_state_dict("vgg16", int(torchvision_golden["weight_seed"]))
    variables = convert.torch_to_flax(state, vgg.torch_name_map, vgg16_shapes.variables, "vgg16")
    np.testing.assert_array_equal(variables["params"]["features"]["28"]["kernel"],
                                  state["features.28.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(variables["params"]["classifier"]["0"]["kernel"], state["classifier.0.weight"].T)
    del state
    model = vgg16_shapes.replace(variables=jax.tree_util.tree_map(jnp.asarray, variables))
    logits = jax.jit(lambda m, x: m.logits(x))(model, jnp.asarray(torchvision_input))
    want = torchvision_golden["vgg16_logits"]
    assert logits.shape == want.shape == (2, 1000)
    np.testing.assert_allclose(logits, want, rtol=0, atol=1e-4 * np.abs(want).max())
    assert not np.allclose(want[0], want[1], atol=1e-2)


@pytest.mark.parametrize("name,target", [
    ("features.0.weight", ("params", ("features", "0", "kernel"))),
    ("features.28.bias", ("params", ("features", "28", "bias"))),
    ("classifier.6.weight", ("params", ("classifier", "6", "kernel"))),
])
def test_torch_name_map(name, target):
    assert vgg.torch_name_map(name) == target


def test_every_features_index_is_a_module(vgg16_shapes):
    layers = gigjax.list_layers(vgg16_shapes)
    kinds = [spec.kind for spec in vgg.FEATURES]
    assert len(kinds) == 31 and kinds.count("conv") == 13 and kinds.count("maxpool") == 5
    assert all(f"features/{i}" in layers for i in range(31))
    assert [i for i, k in enumerate(kinds) if k == "maxpool"] == [4, 9, 16, 23, 30]
    assert layers["features/28"] == layers["features/29"] == (1, 14, 14, 512)  # last conv, its ReLU
    assert layers["features/30"] == layers["avgpool"] == (1, 7, 7, 512)  # pool5; 7×7 avgpool is the identity
    for i in range(7):
        assert f"classifier/{i}" in layers
    assert layers["classifier/6"] == (1, 1000)


def test_card_and_dotted_names(vgg16_shapes):
    card = vgg16_shapes.card
    layers = gigjax.list_layers(vgg16_shapes)
    assert card.cam_layer == "features/29" and card.classifier is None
    assert set(card.layers) <= set(layers) and card.cam_layer in card.layers
    assert card.mean == (0.485, 0.456, 0.406) and card.std == (0.229, 0.224, 0.225)
    assert gigjax.resolve_layers(vgg16_shapes, "features.29") == ("features/29",)


def test_other_input_sizes_pool_adaptively(vgg16_shapes):
    """At 256×256 the feature map is 8×8 and torch's adaptive pool bins (tested in test_layers) make it 7×7."""
    layers = gigjax.list_layers(vgg16_shapes, jax.ShapeDtypeStruct((2, 256, 256, 3), jnp.float32))
    assert layers["features/30"] == (2, 8, 8, 512) and layers["avgpool"] == (2, 7, 7, 512)
    assert layers["classifier/6"] == (2, 1000)
