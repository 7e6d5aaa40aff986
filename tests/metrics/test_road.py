"""gigjax/metrics/road.py: ROAD against pytorch-grad-cam 1.5.7 on the real Lite0 weights and photo (goldens
made once by tests/golden/make_road_metric_golden.py, imputation noise 0), and its removal and noise rules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.metrics.road import PERCENTILES, impute, removal_mask, road_curve

from golden_files import load_golden


@pytest.fixture(scope="module")
def golden():
    out, cams = load_golden("road_lite0.npz"), load_golden("gradcam_lite0.npz")
    out["cam"] = (np.cumsum(cams["gradcam"].astype(np.int64), axis=1) / 32767.0).astype(np.float32)
    out["class"] = int(cams["class_index"])
    return out


def test_road_matches_pytorch_grad_cam_on_lite0(lite0, chelsea, golden):
    x = jnp.asarray((chelsea[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None])
    maps, classes = jnp.asarray(golden["cam"][None]), jnp.asarray([golden["class"]])
    keys = jax.random.PRNGKey(0)[None]
    run = jax.jit(lambda m, x: {o: road_curve(m, x, maps, classes, keys, order=o, noise=0.0)
                                for o in ("morf", "lerf")})
    ours = run(lite0, x)
    for order in ("morf", "lerf"):
        np.testing.assert_allclose(np.asarray(ours[order][0]), golden[order], atol=1e-3)
    filled = jax.jit(impute)(x[0], removal_mask(maps, 50.0, "morf")[0])
    np.testing.assert_allclose(np.asarray(filled)[80:144, 80:144], golden["imputed_morf50"], atol=1e-3)


def test_removal_takes_q_percent_from_the_top_or_the_bottom():
    maps = jnp.arange(100, dtype=jnp.float32).reshape(1, 10, 10) / 99.0
    for q in PERCENTILES:
        morf, lerf = removal_mask(maps, float(q), "morf")[0], removal_mask(maps, float(q), "lerf")[0]
        assert int(morf.sum()) == q and int(lerf.sum()) == q
        assert bool(jnp.all(maps[0][morf] > maps[0][~morf].max())) and bool(jnp.all(maps[0][lerf] < maps[0][~lerf].min()))


def test_constant_neighbours_impute_exactly_and_noise_is_per_image(pixel_sum):
    """A constant image imputes to itself whatever is removed; the noise only touches removed pixels and
    depends on the image's own key, not on its batch."""
    x = jnp.full((5, 6, 3), 0.7)
    removed = jnp.zeros((5, 6), bool).at[1:4, 0:5].set(True)
    np.testing.assert_allclose(np.asarray(impute(x, removed)), 0.7, atol=1e-5)

    model = pixel_sum                                  # p(class 0) = sigmoid(Σ x), any input size
    xs = 0.05 * jax.random.normal(jax.random.PRNGKey(1), (3, 6, 6, 3))
    maps = jax.random.uniform(jax.random.PRNGKey(2), (3, 6, 6))
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(0), i))(jnp.arange(3))
    classes = jnp.zeros(3, jnp.int32)
    batch = road_curve(model, xs, maps, classes, keys, order="morf", percentiles=(30, 60))
    single = road_curve(model, xs[1:2], maps[1:2], classes[1:2], keys[1:2], order="morf", percentiles=(30, 60))
    quiet = road_curve(model, xs, maps, classes, keys, order="morf", percentiles=(30, 60), noise=0.0)
    np.testing.assert_allclose(np.asarray(batch[1]), np.asarray(single[0]), rtol=1e-5)
    assert batch.shape == (3, 2) and not np.allclose(np.asarray(batch), np.asarray(quiet))
