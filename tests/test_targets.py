"""gigjax/targets.py: target semantics and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.targets import check_targets, target_scores

LOGITS = jnp.array([[0.0, 2.0, 1.0], [3.0, 1.0, -1.0]])


def test_scores_and_classes():
    s, c = target_scores(None, LOGITS)
    np.testing.assert_array_equal(c, [1, 0])
    np.testing.assert_array_equal(s, [2.0, 3.0])
    s, c = target_scores(2, LOGITS)
    np.testing.assert_array_equal(s, [1.0, -1.0])
    s, c = target_scores(jnp.array([0, 2]), LOGITS)
    np.testing.assert_array_equal(s, [0.0, -1.0])
    s, c = target_scores(lambda l: l.sum(-1), LOGITS)
    np.testing.assert_array_equal(s, [3.0, 3.0])
    np.testing.assert_array_equal(c, [-1, -1])


@pytest.mark.parametrize("targets, message", [
    (np.array([0, 1, 2]), "batch holds 2 images"),
    (np.array([0]), "batch holds 2 images"),
    (np.array([[0, 1]]), "batch holds 2 images"),
    (np.array([0.5, 1.0]), "integer class indices"),
    (5, "out of range"),
    (-1, "out of range"),
    (np.array([0, 3]), "out of range"),
    (True, "must be None"),
])
def test_bad_targets(targets, message):
    with pytest.raises(GigjaxError, match=message):
        check_targets(targets, batch=2, num_classes=3)


def test_good_targets_pass_through():
    assert check_targets(None, 2, 3) is None
    assert check_targets(np.int64(2), 2, 3) == 2
    np.testing.assert_array_equal(check_targets([1, 2], 2, 3), [1, 2])


# --- out-of-range classes under jit and from callables: all-NaN maps (issue 12.4) -----------------

import jax  # noqa: E402

import gigjax  # noqa: E402
from gigjax.testing import tiny_cnn  # noqa: E402

NUM_CLASSES = 5
# Grad-CAM (one backward pass), a path method (integrated_gradcam, few steps) and CAM (gathers the
# classifier's weights by class instead of differentiating a score).
METHODS = {"gradcam": {}, "integrated_gradcam": {"steps": 3, "batch_size": 3}, "cam": {}}
BAD = [NUM_CLASSES, 5000, -1, -3]


@pytest.fixture(scope="module")
def tiny():
    return tiny_cnn(num_classes=NUM_CLASSES, size=32)


@pytest.fixture(scope="module")
def x():
    return jax.random.normal(jax.random.PRNGKey(3), (2, 32, 32, 3))


@pytest.fixture(scope="module")
def jitted():
    """One jitted explainer per method, shared by the tests (one compile per target shape)."""
    return {name: jax.jit(gigjax.explainer(name, **options)) for name, options in METHODS.items()}


def test_out_of_range_scores_and_their_gradients_are_nan():
    for bad in BAD:
        scores, classes = target_scores(jnp.array([1, bad]), LOGITS)
        assert scores[0] == 2.0 and np.isnan(scores[1]), bad
        np.testing.assert_array_equal(classes, [1, 3])  # C = 3: one past the last class, never wrapped
        grad = jax.grad(lambda l: target_scores(jnp.array([1, bad]), l)[0].sum())(LOGITS)
        np.testing.assert_array_equal(grad[0], [0.0, 1.0, 0.0])
        assert np.isnan(grad[1]).any(), bad
    scores, classes = jax.jit(target_scores)(jnp.array([-3, 2]), LOGITS)  # -3 is not class 0 (= -3 + 3)
    assert np.isnan(scores[0]) and scores[1] == -1.0 and classes[0] == 3


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("bad", BAD)
def test_out_of_range_class_under_jit_gives_an_all_nan_map(tiny, x, jitted, method, bad):
    maps = np.asarray(jitted[method](tiny, x, jnp.array([2, bad])))
    assert maps.shape == (2, 32, 32)
    assert np.isnan(maps[1]).all()  # never blank, never another class's map
    good = np.asarray(jitted[method](tiny, x, jnp.array([2, 2])))[0]  # same shapes: no new compile
    assert np.isfinite(good).all()
    np.testing.assert_allclose(maps[0], good, atol=1e-6)  # the other image is untouched
    assert np.isnan(np.asarray(jitted[method](tiny, x, bad))).all()  # a traced scalar, too


@pytest.mark.parametrize("method", ["gradcam", "integrated_gradcam"])
def test_a_callable_out_of_range_gives_an_all_nan_map(tiny, x, method):
    options = METHODS[method]
    beyond = lambda logits: jnp.argmax(logits, axis=-1) + jnp.array([0, 5000])  # image 1: argmax + 5000
    negative = lambda logits: jnp.array([-1, 2], jnp.int32)  # image 0: −1, not class C−1
    for targets, bad in ((beyond, 1), (negative, 0)):
        maps = np.asarray(gigjax.explain(tiny, x, method, targets=targets, **options))
        assert np.isnan(maps[bad]).all() and np.isfinite(maps[1 - bad]).all()


@pytest.mark.parametrize("bad", BAD)
def test_eager_calls_keep_raising(tiny, x, bad):
    with pytest.raises(GigjaxError, match="out of range"):
        gigjax.explain(tiny, x, "gradcam", targets=bad)
    with pytest.raises(GigjaxError, match="out of range"):
        gigjax.explainer("gradcam")(tiny, x, jnp.array([0, bad]))


FEW_STEPS = {"steps": 3}
FAST = {"gigcam": FEW_STEPS, "gigcam_f": FEW_STEPS, "guided_ig": FEW_STEPS, "integrated_gradcam": FEW_STEPS,
        "integrated_gradients": FEW_STEPS, "scorecam": {"batch_size": 4}, "ablationcam": {"batch_size": 4}}


@pytest.mark.slow
@pytest.mark.parametrize("method", [m for m in gigjax.available_methods() if m != "fgcam"])  # fgcam: no plan for tiny_cnn
def test_every_method_gives_an_all_nan_map_for_a_negative_class_under_jit(tiny, x, method):
    maps = np.asarray(jax.jit(gigjax.explainer(method, **FAST.get(method, {})))(tiny, x, jnp.array([2, -3])))
    assert np.isnan(maps[1]).all() and np.isfinite(maps[0]).all()
