"""gigjax/boundary.py: the checks of one explainer call — the input large enough for the network and
the probed layer (issue #12 item 10)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.boundary import check_input_size
from gigjax.testing import tiny_cnn


@pytest.fixture(scope="module")
def toy():
    return tiny_cnn()  # conv1 stride 2, features stride 2: 32×32 → 8×8 at the CAM layer


def test_a_one_pixel_cam_layer_is_an_error_naming_the_minimum_size(toy):
    """4×4 → features 1×1: a constant map, blank once normalised; 5×5 → 2×2 is the smallest that works."""
    with pytest.raises(gigjax.GigjaxError, match=r"input of 4×4 is too small for tiny_cnn: the probed layer "
                                                 r"'features' is 1×1.*at least 5×5"):
        gigjax.explain(toy, jnp.ones((1, 4, 4, 3)))
    out = gigjax.explain(toy, jax.random.normal(jax.random.PRNGKey(0), (1, 5, 5, 3)))
    assert float(out.max()) == pytest.approx(1.0, abs=1e-3)  # not blank
    with pytest.raises(gigjax.GigjaxError, match="the probed layer 'conv1' is 1×1"):
        check_input_size(toy, ("conv1",), (2, 2))
    check_input_size(toy, ("conv1",), (3, 3))


def test_input_space_methods_only_need_a_network_that_runs(toy):
    out = gigjax.explain(toy, jax.random.normal(jax.random.PRNGKey(1), (1, 4, 4, 3)), "integrated_gradients",
                         steps=2)
    assert out.shape == (1, 4, 4) and bool(jnp.all(jnp.isfinite(out)))


def test_too_small_for_efficientnet_lite0(lite0):
    """Lite0's CAM layer has stride 32: 8×8 (and 32×32) give a 1×1 head map, 33×33 the first 2×2."""
    with pytest.raises(gigjax.GigjaxError, match=r"8×8 is too small for efficientnet_lite0.*'head' is 1×1.*"
                                                 r"at least 33×33"):
        gigjax.explain(lite0, jnp.zeros((1, 8, 8, 3)))
    with pytest.raises(gigjax.GigjaxError, match=r"the 224×224 input at scale 0\.01 \(2×2\) is too small"
                                                 r".*at least 33×33"):
        gigjax.explainer("gradcam", scales=(0.01,))(lite0, jnp.zeros((1, 224, 224, 3)))


def test_a_layer_that_is_not_a_name_is_a_clear_error(toy):
    for bad in (5, [], ["conv1", 3], ""):
        with pytest.raises(gigjax.GigjaxError, match="layer must be a layer path"):
            gigjax.explainer("gradcam", layer=bad)
    np.testing.assert_array_equal(gigjax.explain(toy, jnp.ones((1, 32, 32, 3)), layer=["conv2"]),
                                  gigjax.explain(toy, jnp.ones((1, 32, 32, 3)), layer="conv2"))
