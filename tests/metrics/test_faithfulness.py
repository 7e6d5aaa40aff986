"""Average Drop % and Increase in Confidence % on hand-computed values and a closed-form toy model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.metrics import average_drop, class_probability, increase_in_confidence, mask_input, masked_confidence


def test_average_drop_and_increase_hand_computed():
    y = jnp.asarray([0.8, 0.5, 0.4, 0.0])
    o = jnp.asarray([0.2, 0.6, 0.4, 0.1])
    drop = np.asarray(average_drop(y, o))
    np.testing.assert_allclose(drop[:3], [75.0, 0.0, 0.0], atol=1e-5)   # relative: (0.8-0.2)/0.8
    assert np.isnan(drop[3])                                           # Y = 0: undefined, NaN
    np.testing.assert_array_equal(np.asarray(increase_in_confidence(y, o)), [0.0, 100.0, 0.0, 100.0])


def test_masking_spaces(pixel_sum):
    x = pixel_sum.normalize(jnp.full((1, 2, 2, 3), 200.0))
    maps = jnp.asarray([[[1.0, 0.0], [0.5, 0.25]]])
    normalized = np.asarray(mask_input(pixel_sum, x, maps, "normalized"))
    np.testing.assert_allclose(normalized, np.asarray(x) * np.asarray(maps)[..., None], rtol=1e-6)
    pixel = np.asarray(pixel_sum.denormalize(mask_input(pixel_sum, x, maps, "pixel")))
    np.testing.assert_allclose(pixel[0, :, :, 0], [[200.0, 0.0], [100.0, 50.0]], rtol=1e-5, atol=1e-3)
    # a zero mask gives black in pixel space, 0 (the mean colour) in normalised space
    np.testing.assert_allclose(np.asarray(mask_input(pixel_sum, x, maps, "pixel"))[0, 0, 1],
                               np.asarray(pixel_sum.black()), atol=1e-5)


def test_masked_confidence_closed_form(pixel_sum):
    x = jnp.full((2, 2, 2, 3), 0.5)                                    # Σx = 6
    maps = jnp.stack([jnp.ones((2, 2)), jnp.asarray([[1.0, 0.0], [0.0, 0.0]])])
    classes = jnp.asarray([0, 1])
    y = class_probability(pixel_sum, x, classes)
    o = masked_confidence(pixel_sum, x, maps, classes)
    sig = jax.nn.sigmoid
    np.testing.assert_allclose(y, [sig(6.0), sig(-6.0)], rtol=1e-4)
    np.testing.assert_allclose(o, [sig(6.0), sig(-1.5)], rtol=1e-4)  # masked Σx = 3 · 0.5
    drop = np.asarray(average_drop(y, o))
    np.testing.assert_allclose(drop, [0.0, 0.0], atol=1e-4)
    np.testing.assert_array_equal(np.asarray(increase_in_confidence(y, o)), [0.0, 100.0])


def test_unknown_masking_space_is_a_clear_error(pixel_sum):
    x = jnp.zeros((1, 4, 4, 3))
    with pytest.raises(GigjaxError, match="masking space must be one of 'normalized', 'pixel', got 'pixels'"):
        mask_input(pixel_sum, x, jnp.ones((1, 4, 4)), "pixels")
