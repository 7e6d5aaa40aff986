"""models/model.py: the Model pytree, normalisation and photo preprocessing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import gigjax
from gigjax.errors import GigjaxError


def test_black_is_normalised_zero(lite0):
    np.testing.assert_allclose(lite0.black(), [-1.0, -1.0, -1.0])  # Lite0: x/127.5 − 1
    pixels = jnp.array([[0.0, 127.5, 255.0]])
    np.testing.assert_allclose(lite0.normalize(pixels), [[-1.0, 0.0, 1.0]], atol=1e-6)
    np.testing.assert_allclose(lite0.denormalize(lite0.normalize(pixels)), pixels, atol=1e-4)


def test_preprocess_matches_pil_resize_and_centre_crop(lite0, chelsea):
    """Shorter side → 256 with PIL's antialiased bilinear, centre 224 crop (torchvision's pipeline)."""
    h, w = chelsea.shape[:2]
    new_w, new_h = round(w * 256 / h), 256
    resized = np.asarray(Image.fromarray(chelsea).resize((new_w, new_h), Image.Resampling.BILINEAR), np.float32)
    top, left = round((new_h - 224) / 2), round((new_w - 224) / 2)
    expected = resized[top:top + 224, left:left + 224]
    got = np.asarray(lite0.denormalize(lite0.preprocess(chelsea)[0]))
    assert np.mean(np.abs(got - expected)) < 1.0  # grey levels: PIL rounds to uint8, we keep floats
    assert np.max(np.abs(got - expected)) < 12.0


def test_batch_and_list_agree(lite0, chelsea, coffee):
    as_list = lite0.preprocess([chelsea, chelsea])
    as_batch = lite0.preprocess(np.stack([chelsea, chelsea]))
    np.testing.assert_allclose(as_list, as_batch, atol=1e-5)
    assert lite0.preprocess([chelsea, coffee]).shape == (2, 224, 224, 3)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((5, 5), np.uint8), "RGB images, got shape"),
    (np.zeros((5, 5, 3), np.float32), "uint8"),
    ([], "empty list"),
    (np.zeros((2, 5, 5, 4), np.uint8), "RGB images, got shape"),
])
def test_bad_photos(lite0, bad, message):
    with pytest.raises(GigjaxError, match=message):
        lite0.preprocess(bad)


def test_model_is_a_pytree_of_its_variables(lite0):
    leaves = jax.tree_util.tree_leaves(lite0)
    assert len(leaves) == len(jax.tree_util.tree_leaves(lite0.variables))
    doubled = jax.tree_util.tree_map(lambda v: v * 2, lite0)
    assert isinstance(doubled, gigjax.Model) and doubled.card == lite0.card
