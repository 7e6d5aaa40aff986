"""EfficientNet-Lite0 with its embedded ImageNet weights against the reference PyTorch implementation.

Goldens: tests/golden/lite0_chelsea.npz, from ``efficientnet-lite-pytorch`` by
tests/golden/make_lite0_golden.py, on the centre 224×224 crop of chelsea scaled as ``x/127.5 − 1``
(built identically here with numpy; the photo is fetched from scikit-image, never committed).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.models import efficientnet_lite

CAT_CLASSES = {281, 282, 285}  # tabby, tiger cat, Egyptian cat
ESPRESSO = 967


@pytest.fixture(scope="module")
def chelsea_crop(chelsea) -> np.ndarray:
    assert chelsea.shape == (300, 451, 3)
    return (chelsea[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None]


@pytest.fixture(scope="module")
def probed(lite0, chelsea_crop):
    """One forward + backward of the top-1 logit: logits, the ``head`` feature map, ∂S/∂x."""
    return jax.jit(lambda m, x: gigjax.probe(m, x, None, ("head",)))(lite0, jnp.asarray(chelsea_crop))


def test_probabilities_match_reference_implementation(probed, lite0_golden):
    got, want = jax.nn.softmax(probed.logits), jax.nn.softmax(jnp.asarray(lite0_golden["logits"]))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    want_logits = lite0_golden["logits"]
    np.testing.assert_allclose(probed.logits, want_logits, rtol=0, atol=1e-4 * np.abs(want_logits).max())
    assert int(probed.classes[0]) == int(lite0_golden["top1"]) in CAT_CLASSES


def test_head_features_match_reference(probed, lite0_golden):
    head = probed.activations["head"]
    assert head.shape == (1, 7, 7, 1280)
    np.testing.assert_allclose(head.mean(axis=(1, 2)), lite0_golden["features"], rtol=0,
                               atol=1e-4 * np.abs(lite0_golden["features"]).max())


def _projections(grad: np.ndarray) -> np.ndarray:
    directions = np.random.RandomState(3).standard_normal((16, 224, 224, 3))
    return np.einsum("hwc,nhwc->n", np.asarray(grad, np.float64), directions)


def test_input_gradient_matches_reference_in_float64(lite0, chelsea_crop, lite0_golden):
    """The reference gradient is PyTorch's in float64 (see the golden script): the same model in
    float64 agrees to rounding, so the implementation (custom depthwise VJP included) is exact."""
    with jax.enable_x64(True):
        model = lite0.replace(variables=jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64),
                                                               lite0.variables))
        grad = np.asarray(gigjax.probe(model, jnp.asarray(chelsea_crop, jnp.float64)).input_gradient[0])
    want = lite0_golden["gradient_projections"]
    np.testing.assert_allclose(_projections(grad), want, rtol=0, atol=1e-9 * np.abs(want).max())
    np.testing.assert_allclose(grad.sum(axis=(0, 1)), lite0_golden["gradient_channel_sums"], rtol=1e-9)


def test_input_gradient_in_float32(probed, lite0_golden):
    """float32 against the float64 reference: ReLU6 gates that float32 rounding flips make the
    error version-dependent (XLA 0.10 on CPU: 4.7e-4 of the largest projection, 1.5e-3 relative on
    the channel sums), so the tolerance bounds it rather than pinning one XLA's rounding."""
    want = lite0_golden["gradient_projections"]
    np.testing.assert_allclose(_projections(probed.input_gradient[0]), want, rtol=0, atol=3e-3 * np.abs(want).max())
    np.testing.assert_allclose(np.asarray(probed.input_gradient[0], np.float64).sum(axis=(0, 1)),
                               lite0_golden["gradient_channel_sums"], rtol=1e-2)


def test_top1_on_real_photos(lite0, lite0_batch):
    """Through ``model.preprocess`` (resize 256, centre crop 224): a cat, and espresso."""
    logits = jax.jit(lambda m, x: m.logits(x))(lite0, lite0_batch)
    top = np.asarray(jnp.argmax(logits, axis=-1))
    assert int(top[0]) in CAT_CLASSES
    assert int(top[1]) == ESPRESSO
    assert lite0.card.class_names[ESPRESSO] == "espresso"


@pytest.mark.parametrize("name,target", [
    ("_conv_stem.weight", ("params", ("stem", "conv", "kernel"))),
    ("_bn0.running_var", ("batch_stats", ("stem", "bn", "var"))),
    ("_blocks.3._depthwise_conv.weight", ("params", ("blocks_3", "depthwise", "conv", "kernel"))),
    ("_blocks.3._bn1.weight", ("params", ("blocks_3", "depthwise", "bn", "scale"))),
    ("_blocks.15._bn2.running_mean", ("batch_stats", ("blocks_15", "project", "bn", "mean"))),
    ("_conv_head.weight", ("params", ("head", "conv", "kernel"))),
    ("_bn1.bias", ("params", ("head", "bn", "bias"))),
    ("_fc.weight", ("params", ("fc", "kernel"))),
    ("_blocks.0._bn1.num_batches_tracked", None),
])
def test_torch_name_map(name, target):
    assert efficientnet_lite.torch_name_map(name) == target


def test_card_and_layers(lite0):
    card = lite0.card
    layers = gigjax.list_layers(lite0)
    assert card.cam_layer == "head" and card.classifier == "fc"
    assert set(card.layers) <= set(layers)
    assert layers["head"] == (1, 7, 7, 1280) and layers["stem"] == (1, 112, 112, 32)
    assert len(efficientnet_lite.block_configs()) == 16
    assert card.mean == card.std == (0.5, 0.5, 0.5)  # x/127.5 − 1
    np.testing.assert_allclose(lite0.normalize(jnp.array([0.0, 127.5, 255.0])), [-1.0, 0.0, 1.0])
