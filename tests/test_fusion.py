"""Multi-scale fusion (gigjax/fusion.py): the fusion rules, the combinator, the target rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import GigjaxError
from gigjax.fusion import FUSIONS, check_scales, fuse_pyramid, multiscale, rescale
from gigjax.metrics.causal import auc, causal_curve, fractions
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
    for fusion in FUSIONS:
        np.testing.assert_array_equal(fuse_pyramid(jnp.asarray(m1[None]), fusion), m1)
    np.testing.assert_allclose(fuse_pyramid(jnp.stack([m1, m2]), "product"), _n(m1 * m2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fuse_pyramid(jnp.stack([m1, m2, m4]), "product"), _n(m1 * _n(m2 * m4)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fuse_pyramid(jnp.stack([m1, m2, m4])), _n(np.sqrt(m1 * _n(np.sqrt(m2 * m4)))),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fuse_pyramid(jnp.stack([m1, m2, m4]), "mean"), _n((m1 + _n((m2 + m4) / 2)) / 2),
                               rtol=1e-5, atol=1e-6)


def test_fusion_rules_by_hand():
    """Two 2×2 maps: √(M1 M2) = [[1, .5], [0, 0]], M1 M2 = [[1, .25], [0, 0]], (M1 + M2)/2 = [[1, .625],
    [.25, .25]] → normalised [[1, .5], [0, 0]]."""
    m1 = jnp.array([[1.0, 0.25], [0.0, 0.5]])
    m2 = jnp.array([[1.0, 1.0], [0.5, 0.0]])
    pyramid = jnp.stack([m1, m2])
    expected = {"geometric": [[1, 0.5], [0, 0]], "product": [[1, 0.25], [0, 0]], "mean": [[1, 0.5], [0, 0]]}
    for fusion, value in expected.items():
        np.testing.assert_allclose(fuse_pyramid(pyramid, fusion), value, atol=1e-6, err_msg=fusion)
    three = jnp.stack([m1, m2, jnp.array([[1.0, 0.25], [1.0, 0.0]])])  # R_2 = N(√(M2 M4)) = [[1, .5], [√.5, 0]]
    np.testing.assert_allclose(fuse_pyramid(three), [[1, np.sqrt(0.125)], [0, 0]], atol=1e-6)


def test_unknown_fusion_is_a_clear_error():
    with pytest.raises(GigjaxError, match="fusion must be one of 'geometric', 'product', 'mean'"):
        gigjax.explainer("gradcam", scales=(1, 2), fusion="max")


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
    for fusion in FUSIONS:
        np.testing.assert_array_equal(multiscale(lambda m, x, t, size: gigjax.explain(m, x, "gradcam", t), (1,),
                                                 fusion=fusion)(toy, xs), gigjax.explain(toy, xs, "gradcam"))


def test_any_method_two_scales_by_hand(toy, xs):
    cls = jnp.argmax(toy.logits(xs), axis=-1)
    m1 = gigjax.explain(toy, xs, "gradcam", targets=cls)
    m2 = gigjax.explain(toy, rescale(xs, 2), "gradcam", targets=cls, output_size=xs.shape[1:3])
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gradcam", scales=(1, 2), fusion="product"),
                               normalize(m1 * m2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gradcam", scales=(1, 2)), normalize(jnp.sqrt(m1 * m2)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gradcam", scales=(1, 2), fusion="mean"),
                               normalize((m1 + m2) / 2), rtol=1e-5, atol=1e-6)


def test_geometric_and_product_rank_pixels_alike(toy, xs):
    """√ is monotone: for two scales the same argmax and the same Deletion / Insertion curves."""
    geometric = gigjax.explain(toy, xs, "gradcam", scales=(1, 2))
    product = gigjax.explain(toy, xs, "gradcam", scales=(1, 2), fusion="product")
    assert not np.allclose(geometric, product)  # the maps differ, their order does not
    flat = lambda m: np.asarray(m).reshape(m.shape[0], -1)
    np.testing.assert_array_equal(flat(geometric).argmax(1), flat(product).argmax(1))
    classes = jnp.argmax(toy.logits(xs), axis=-1)
    for mode in ("deletion", "insertion"):
        areas = [auc(causal_curve(toy, xs, m, classes, mode=mode, pixels_per_step=16), fractions(16 * 16, 16))
                 for m in (geometric, product)]
        np.testing.assert_allclose(areas[0], areas[1], rtol=1e-6, err_msg=mode)


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


def test_gigcam_f_defaults_to_geometric_fusion(toy, xs):
    assert gigjax.describe("gigcam_f").postprocessing["fusion"].default == "geometric"
    assert gigjax.describe("gigcam_f").postprocessing["scales"].default == (1, 2)
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gigcam_f", steps=3),
                               gigjax.explain(toy, xs, "gigcam", steps=3, scales=(1, 2), fusion="geometric"), rtol=1e-6)


def test_gigcam_f_is_gigcam_on_the_default_pyramid(toy, xs):
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gigcam_f", steps=3),
                               gigjax.explain(toy, xs, "gigcam", steps=3, scales=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(gigjax.explain(toy, xs, "gigcam_f", steps=3, scales=(1,)),
                               gigjax.explain(toy, xs, "gigcam", steps=3), rtol=1e-6)


def test_fusion_is_jittable_and_keeps_output_size(toy, xs):
    fn = jax.jit(gigjax.explainer("gradcam", scales=(1, 2), output_size=(10, 12)))
    out = fn(toy, xs)
    assert out.shape == (2, 10, 12) and isinstance(out, jax.Array)
