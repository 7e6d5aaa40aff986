"""ResNet50 (models/resnet.py): torchvision parity on seeded random weights, layout, names, card.

The golden logits come from torchvision's ``resnet50()`` filled with the same seeded arrays
(tests/golden/make_torchvision_golden.py); here the arrays are regenerated without torch, written as a
``.safetensors`` file and loaded through ``load_model`` — the full import path a user takes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.models import resnet


@pytest.fixture(scope="module")
def resnet50_random(numpy_weights, torchvision_golden, tmp_path_factory):
    """(ResNet50 loaded from a full-size .safetensors of the golden weights, the state dict)."""
    state = numpy_weights.random_state_dict("resnet50", int(torchvision_golden["weight_seed"]))
    path = tmp_path_factory.mktemp("resnet50") / "resnet50.safetensors"
    numpy_weights.write_safetensors(path, state)
    mp = pytest.MonkeyPatch()
    mp.setenv("GIGJAX_CACHE", str(path.parent / "cache"))
    try:
        model = gigjax.load_model("resnet50", weights=path)
    finally:
        mp.undo()
    return model, state


def test_logits_match_torchvision(resnet50_random, torchvision_golden, torchvision_input):
    model, _ = resnet50_random
    logits = jax.jit(lambda m, x: m.logits(x))(model, jnp.asarray(torchvision_input))
    want = torchvision_golden["resnet50_logits"]
    assert logits.shape == want.shape == (2, 1000)
    np.testing.assert_allclose(logits, want, rtol=0, atol=1e-4 * np.abs(want).max())
    assert not np.allclose(want[0], want[1], atol=1e-2)  # the two images really differ


def test_weights_land_in_flax_layout(resnet50_random):
    model, state = resnet50_random
    params, stats = model.variables["params"], model.variables["batch_stats"]
    np.testing.assert_array_equal(params["conv1"]["kernel"], state["conv1.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(params["layer2"]["0"]["downsample"]["0"]["kernel"],
                                  state["layer2.0.downsample.0.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(stats["layer4"]["2"]["bn3"]["var"], state["layer4.2.bn3.running_var"])
    np.testing.assert_array_equal(params["layer1"]["0"]["downsample"]["1"]["scale"],
                                  state["layer1.0.downsample.1.weight"])
    np.testing.assert_array_equal(params["fc"]["kernel"], state["fc.weight"].T)
    np.testing.assert_array_equal(params["fc"]["bias"], state["fc.bias"])


@pytest.mark.parametrize("name,target", [
    ("conv1.weight", ("params", ("conv1", "kernel"))),
    ("bn1.running_mean", ("batch_stats", ("bn1", "mean"))),
    ("layer1.0.bn2.weight", ("params", ("layer1", "0", "bn2", "scale"))),
    ("layer3.0.downsample.0.weight", ("params", ("layer3", "0", "downsample", "0", "kernel"))),
    ("layer3.0.downsample.1.bias", ("params", ("layer3", "0", "downsample", "1", "bias"))),
    ("layer3.0.downsample.1.running_var", ("batch_stats", ("layer3", "0", "downsample", "1", "var"))),
    ("fc.weight", ("params", ("fc", "kernel"))),
    ("fc.bias", ("params", ("fc", "bias"))),
    ("layer4.2.bn3.num_batches_tracked", None),
])
def test_torch_name_map(name, target):
    assert resnet.torch_name_map(name) == target


@pytest.fixture(scope="module")
def resnet50_shapes(shape_model):
    return shape_model("resnet50")


def test_layer_paths_mirror_torchvision(resnet50_shapes):
    layers = gigjax.list_layers(resnet50_shapes)
    assert layers["conv1"] == (1, 112, 112, 64)
    assert layers["maxpool"] == (1, 56, 56, 64)
    assert layers["layer1"] == (1, 56, 56, 256)
    assert layers["layer2"] == (1, 28, 28, 512)
    assert layers["layer3"] == (1, 14, 14, 1024)
    assert layers["layer4"] == layers["layer4/2"] == (1, 7, 7, 2048)
    assert layers["layer4/2/conv3"] == (1, 7, 7, 2048)
    assert layers["layer4/0/conv2"] == (1, 7, 7, 512)  # v1.5: the stride sits on the 3×3 conv
    assert layers["layer4/0/conv1"] == (1, 14, 14, 512)
    assert layers["layer4/0/downsample"] == layers["layer4/0/downsample/1"] == (1, 7, 7, 2048)
    for block in range(3):
        assert all(f"layer4/{block}/relu{i}" in layers for i in (1, 2, 3))
    assert layers["avgpool"] == (1, 1, 1, 2048) and layers["fc"] == (1, 1000)
    blocks = {path.split("/")[0]: int(path.split("/")[1]) + 1 for path in layers if path.count("/") == 1
              and path.startswith("layer")}
    assert blocks == {f"layer{s + 1}": n for s, (n, _, _) in enumerate(resnet.STAGES)} == {
        "layer1": 3, "layer2": 4, "layer3": 6, "layer4": 3}


def test_torch_dotted_names_resolve(resnet50_shapes):
    assert gigjax.resolve_layers(resnet50_shapes, ["layer4.2", "layer3.5.relu3"]) == ("layer4/2", "layer3/5/relu3")


def test_card(resnet50_shapes):
    card = resnet50_shapes.card
    layers = gigjax.list_layers(resnet50_shapes)
    assert card.cam_layer == "layer4" and card.classifier == "fc"
    assert set(card.layers) <= set(layers) and card.cam_layer in card.layers
    assert card.input_size == (224, 224) and card.resize_short == 256
    assert card.mean == (0.485, 0.456, 0.406) and card.std == (0.229, 0.224, 0.225)
    assert card.num_classes == 1000 and card.class_names[281] == "tabby"


def test_any_input_size_and_class_count():
    """Multi-scale explainers run ResNet50 at 448: layer4 becomes 14×14; the head stays global."""
    module = resnet.ResNet50(num_classes=10)
    variables = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, 448, 448, 3)))
    assert variables["params"]["fc"]["kernel"].shape == (2048, 10)
    out = jax.eval_shape(module.apply, variables, jnp.zeros((3, 448, 448, 3)))
    assert out.shape == (3, 10)
