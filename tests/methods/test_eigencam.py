"""EigenCAM / EigenGradCAM / eigen_smooth on the toy CNN against numpy's SVD (the real-weights parity
with pytorch-grad-cam is tests/golden/test_eigencam_parity.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.combinators import with_raw_combinators
from gigjax.methods.base import gradient_cam
from gigjax.registry import Method
from gigjax.methods.channels import first_component


def numpy_projection(w):
    """pytorch-grad-cam's get_2d_projection for one (h, w, K) array, sign fixed along the mean."""
    h, wd, k = w.shape
    a = w.reshape(-1, k)
    p = a - a.mean(0)
    v = np.linalg.svd(p, full_matrices=False)[2][0]
    v = v if a.mean(0) @ v >= 0 else -v
    return (p @ v).reshape(h, wd)


@pytest.mark.parametrize("method", ["eigencam", "eigengradcam"])
def test_matches_numpy_svd(toy, toy_x, probe_np, raw, method):
    a, g, _, _ = probe_np(toy, toy_x, 2, "features")
    weighted = a if method == "eigencam" else a * g
    expected = np.stack([numpy_projection(w) for w in weighted])
    ours = raw(toy, toy_x, method, 2)
    np.testing.assert_allclose(ours, expected, atol=1e-4 * np.abs(expected).max())


def test_eigen_smooth_projects_the_weighted_activations(toy, toy_x, probe_np, raw):
    a, g, _, _ = probe_np(toy, toy_x, 1, "features")
    expected = np.stack([numpy_projection(w) for w in a * g.mean(axis=(1, 2), keepdims=True)])
    np.testing.assert_allclose(raw(toy, toy_x, "gradcam", 1, eigen_smooth=True), expected,
                               atol=1e-4 * np.abs(expected).max())
    lc = np.stack([numpy_projection(w) for w in a * np.maximum(g, 0)])
    np.testing.assert_allclose(raw(toy, toy_x, "layercam", 1, eigen_smooth=True), lc, atol=1e-4 * np.abs(lc).max())


def test_eigengradcam_is_hirescam_with_eigen_smooth(toy, toy_x, raw):
    eigen = raw(toy, toy_x, "eigengradcam", 2)
    np.testing.assert_array_equal(eigen, raw(toy, toy_x, "hirescam", 2, eigen_smooth=True))
    np.testing.assert_array_equal(raw(toy, toy_x, "eigengradcam", 2, eigen_smooth=False),
                                  raw(toy, toy_x, "hirescam", 2))


def test_blank_activations_give_zeros():
    assert not bool(jnp.any(first_component(jnp.zeros((2, 3, 3, 4)))))


def test_eigen_smooth_errors(toy, toy_x):
    with pytest.raises(gigjax.GigjaxError, match="CAM methods"):
        gigjax.explainer("gradient", eigen_smooth=True)
    with pytest.raises(gigjax.GigjaxError, match="True or False"):
        gigjax.explainer("gradcam", eigen_smooth="yes")
    plain = Method(name="channel_mean", fn=gradient_cam(lambda a, g: jnp.mean(a, axis=-1)), summary="test only")
    fn = with_raw_combinators(plain, {"eigen_smooth": True, "smooth": None})
    with pytest.raises(gigjax.GigjaxError, match="weights activations channel by channel"):
        jax.eval_shape(lambda m, x: fn(m, x, None, layers=("features",)), toy, toy_x)
