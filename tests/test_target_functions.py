"""gigjax/target_functions.py: the ready-made targets callables (gigjax.targets.classes, ...)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.targets import target_scores

LOGITS = jnp.asarray([[1.0, 3.0, 0.0], [0.5, -1.0, 2.0]])


def test_classes_and_probability():
    scores, classes = target_scores(gigjax.targets.classes(1), LOGITS)
    np.testing.assert_array_equal(classes, [1, 1])
    np.testing.assert_allclose(scores, [3.0, -1.0])
    scores, classes = target_scores(gigjax.targets.probability(2), LOGITS)
    np.testing.assert_allclose(scores, jax.nn.softmax(LOGITS)[:, 2], rtol=1e-6)
    np.testing.assert_array_equal(classes, [-1, -1])  # a score, not a class


def test_region_sums_a_class_logit_over_a_mask():
    seg = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 3))
    mask = jnp.zeros((4, 4)).at[1:3, 0:2].set(1.0)
    np.testing.assert_allclose(gigjax.targets.region(mask, 2)(seg), seg[:, 1:3, 0:2, 2].sum(axis=(1, 2)), rtol=1e-6)
    per_image = jnp.stack([mask, 1.0 - mask])
    np.testing.assert_allclose(gigjax.targets.region(per_image, 0)(seg)[1],
                               (seg[1, ..., 0] * (1.0 - mask)).sum(), rtol=1e-6)


def test_box_score_reads_a_detection_dict_or_array():
    out = {"scores": LOGITS, "boxes": jnp.zeros((2, 3, 4))}
    np.testing.assert_allclose(gigjax.targets.box_score(1)(out), [3.0, -1.0])
    np.testing.assert_allclose(gigjax.targets.box_score(2)(LOGITS), [0.0, 2.0])


def test_a_non_logits_output_needs_a_callable():
    out = {"scores": LOGITS}
    for targets in (None, 1):
        with pytest.raises(gigjax.GigjaxError, match="needs \\(B, classes\\) logits.*box_score"):
            target_scores(targets, out)
    scores, _ = target_scores(gigjax.targets.box_score(0), out)
    np.testing.assert_allclose(scores, [1.0, 0.5])


def test_bad_ready_made_targets_are_clear_errors():
    seg = jnp.zeros((2, 4, 4, 3))
    with pytest.raises(gigjax.GigjaxError, match="non-negative int"):
        gigjax.targets.classes(-1)
    with pytest.raises(gigjax.GigjaxError, match="mask must be"):
        gigjax.targets.region(jnp.ones(4), 0)
    with pytest.raises(gigjax.GigjaxError, match="does not cover"):
        gigjax.targets.region(jnp.ones((3, 3)), 0)(seg)
    with pytest.raises(gigjax.GigjaxError, match="class 5 is out of range 0..2"):
        gigjax.targets.region(jnp.ones((4, 4)), 5)(seg)
    with pytest.raises(gigjax.GigjaxError, match="needs \\(B, classes\\) logits"):
        gigjax.targets.probability(0)(seg)
    with pytest.raises(gigjax.GigjaxError, match="no 'scores' entry"):
        gigjax.targets.box_score(0)({"logits": LOGITS})
    with pytest.raises(gigjax.GigjaxError, match="detection 4 is out of range"):
        gigjax.targets.box_score(4)(LOGITS)
