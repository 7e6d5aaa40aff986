"""Multi-scale fusion (gigjax/fusion.py): the pyramid fusion, the combinator, the target rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import GigjaxError
from gigjax.fusion import check_scales, fuse_pyramid, multiscale, rescale
from gigjax.postprocess import normalize

from toy_model import make_toy_model, toy_batch


@pytest.fixture(scope="module")
def toy():
    return make_toy_model()


@pytest.fixture(scope="module")
def xs():
    return toy_batch(2)


def _n(m):
    return (m - m.min()) / (m.max() - m.min() + 1e-7)


def test_fuse_pyramid_closed_form():
    rng = np.random.default_rng(0)
    m1, m2, m4 = (rng.random((5, 6)).astype(np.float32) for _ in range(3))
    np.testing.assert_array_equal(fuse_pyramid(jnp.asarray(m1[None])), m1)
    np.testing.assert_allclose(fuse_pyramid(jnp.stack([m1, m2])), _n(m1 * m2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fuse_pyramid(jnp.stack([m1, m2, m4])), _n(m1 * _n(m2 * m4)), rtol=1e-5, atol=1e-6)


def test_check_scales():
    assert check_scales((2, 1)) == (1.0, 2.0)
    assert check_scales("1,2") == (1.0, 2.0)
    for bad, msg in [((), "at least one"), ((1, 0), "positive"), ((1, 1), "distinct"), ("a,b", "positive numbers"),
                     ((1, float("nan")), "positive")]:
        with pytest.raises(GigjaxError, match=msg):
            check_scales(bad)
    with pytest.raises(GigjaxError, match="scales"):
        gigjax.explainer("gradcam", scales=(0,))


def test_single_scale_is_the_identity(toy, xs):
    np.testing.assert_array_equal(gigjax.explain(toy, xs, "gradcam", scales=(1,)), gigjax.explain(toy, xs, "gradcam"))


def test_any_method_two_scales_by_hand(toy, xs):
    cls = jnp.argmax(toy.logits(xs), axis=-1)
    m1 = gigjax.explain(toy, xs, "gradcam", targets=cls)
    m2 = gigjax.explain(toy, rescale(xs, 2), "gradcam", targets=cls, output_size=xs.shape[1:3])
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gradcam", scales=(1, 2)), normalize(m1 * m2),
                               rtol=1e-5, atol=1e-6)


def test_class_is_resolved_once_at_scale_one(toy, xs):
    seen = []

    def core(model, x, targets, out_size):
        seen.append((x.shape, targets))
        return jnp.ones((x.shape[0], *out_size))

    multiscale(core, (1, 2, 0.5))(toy, xs)
    expected = np.asarray(jnp.argmax(toy.logits(xs), axis=-1))
    assert [s[0][1] for s in seen] == [8, 16, 32]
    for _, targets in seen:
        np.testing.assert_array_equal(targets, expected)


def test_batch_equals_one_by_one(toy, xs):
    batch = gigjax.explain(toy, xs, "gradcam", scales=(1, 2))
    for i in range(xs.shape[0]):
        np.testing.assert_allclose(batch[i], gigjax.explain(toy, xs[i:i + 1], "gradcam", scales=(1, 2))[0],
                                   rtol=1e-5, atol=1e-6)


def test_gigcam_f_is_gigcam_on_the_default_pyramid(toy, xs):
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gigcam_f", steps=3),
                               gigjax.explain(toy, xs, "gigcam", steps=3, scales=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gigcam_f", steps=3, scales=(1,)),
                               gigjax.explain(toy, xs, "gigcam", steps=3), rtol=1e-6)


def test_fusion_is_jittable_and_keeps_output_size(toy, xs):
    fn = jax.jit(gigjax.explainer("gradcam", scales=(1, 2), output_size=(10, 12)))
    out = fn(toy, xs)
    assert out.shape == (2, 10, 12) and isinstance(out, jax.Array)
