"""gigjax/postprocess.py: N, Up, ReLU and multi-layer fusion (spec §1)."""

import jax
import jax.numpy as jnp
import numpy as np

from gigjax import postprocess


def test_normalize_is_min_max_per_image():
    m = jnp.array([[[1.0, 3.0], [2.0, 5.0]], [[-2.0, -2.0], [0.0, 2.0]]])
    out = postprocess.normalize(m)
    np.testing.assert_allclose(out[0], (m[0] - 1) / (4 + postprocess.EPS), rtol=1e-6)
    np.testing.assert_allclose(out[1], (m[1] + 2) / (4 + postprocess.EPS), rtol=1e-6)


def test_blank_maps_give_zeros_not_nan():
    out = postprocess.finish(jnp.full((2, 3, 3), 7.0), (6, 6))
    assert np.all(np.asarray(out) == 0.0)
    assert np.all(np.isfinite(postprocess.finish(jnp.zeros((1, 7, 7)), (224, 224))))


def test_upsample_is_half_pixel_bilinear():
    """2×2 → 4×4 with half-pixel centres: edges replicate, interior interpolates at 1/4, 3/4."""
    m = jnp.array([[[0.0, 4.0], [8.0, 12.0]]])
    out = np.asarray(postprocess.upsample(m, (4, 4)))[0]
    np.testing.assert_allclose(out[0], [0.0, 1.0, 3.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(out[:, 0], [0.0, 2.0, 6.0, 8.0], atol=1e-6)


def test_relu_before_normalisation():
    m = jnp.array([[[-1.0, 0.5], [1.0, 0.0]]])
    np.testing.assert_allclose(postprocess.finish(m, None)[0], [[0.0, 0.5], [1.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(postprocess.finish(m, None, relu=False)[0], [[0.0, 0.75], [1.0, 0.5]], atol=1e-6)


def test_fuse_layers_mean_and_max():
    a = jnp.array([[[0.0, 1.0], [0.0, 0.0]]])
    b = jax.random.uniform(jax.random.PRNGKey(0), (1, 4, 4))
    size = (4, 4)
    # pytorch-grad-cam: per layer ReLU → N → resize; then mean (or max) → N
    na, nb = (postprocess.upsample(postprocess.normalize(jax.nn.relu(m)), size) for m in (a, b))
    np.testing.assert_allclose(postprocess.fuse_layers([a, b], "mean", size=size),
                               postprocess.normalize((na + nb) / 2), rtol=1e-6)
    np.testing.assert_allclose(postprocess.fuse_layers([a, b], "max", size=size),
                               postprocess.normalize(jnp.maximum(na, nb)), rtol=1e-6)
    assert postprocess.fuse_layers([a, b]).shape == (1, 4, 4)  # default: the largest layer's size


def test_single_layer_fusion_is_finish():
    a = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 3))
    np.testing.assert_allclose(postprocess.fuse_layers([a], size=(6, 6)), postprocess.finish(a, (6, 6)))


def test_resized_maps_span_exactly_zero_to_one():
    """Bilinear resizing misses the extremes; the final N brings the map back to [0, 1] (pytorch-grad-cam)."""
    m = jax.random.normal(jax.random.PRNGKey(2), (2, 7, 7))
    out = postprocess.finish(m, (224, 224))
    np.testing.assert_allclose(out.max(axis=(1, 2)), [1.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(out.min(axis=(1, 2)), [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out, postprocess.normalize(postprocess.upsample(jax.nn.relu(m), (224, 224))), atol=1e-5)
