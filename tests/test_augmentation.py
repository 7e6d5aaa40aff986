"""aug_smooth (gigjax.augmentation): the average of the post-processed maps of the flipped and scaled
inputs, flipped back; a flip-equivariant toy check and errors. Parity with pytorch-grad-cam's
aug_smooth on the real Lite0 is in tests/golden/test_eigencam_parity.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.augmentation import FACTORS
from gigjax.testing import tiny_cnn


@pytest.fixture(scope="module")
def toy():
    return tiny_cnn(), jax.random.normal(jax.random.PRNGKey(2), (2, 32, 32, 3))


def test_is_the_mean_over_flips_and_factors(toy):
    model, x = toy
    targets = jnp.array([1, 3])
    fn = gigjax.explainer("gradcam")
    expected = np.mean([np.flip(np.asarray(fn(model, np.flip(x, 2) * f, targets)), -1) if flip
                        else np.asarray(fn(model, x * f, targets))
                        for flip in (False, True) for f in FACTORS], axis=0)
    ours = jax.jit(gigjax.explainer("gradcam", aug_smooth=True))(model, x, targets)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_class_is_fixed_at_the_original_input(toy):
    model, x = toy
    predicted = jnp.argmax(model.logits(x), -1)
    np.testing.assert_allclose(gigjax.explain(model, x, "gradcam", aug_smooth=True),
                               gigjax.explain(model, x, "gradcam", predicted, aug_smooth=True), rtol=1e-6)


def test_composes_with_scales_and_rejects_raw(toy):
    model, x = toy
    assert gigjax.explain(model, x, "gradient", aug_smooth=True, scales=(1, 2)).shape == (2, 32, 32)
    with pytest.raises(gigjax.GigjaxError, match="aug_smooth"):
        gigjax.explainer("gradcam", aug_smooth=True, raw=True)
