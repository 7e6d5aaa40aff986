"""VOC average precision against values computed by hand from the VOC definitions."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.finetune.average_precision import average_precision, mean_average_precision

# Ranked labels 1 0 1 0 1 (3 positives): (precision, recall) = (1, 1/3) (1/2, 1/3) (2/3, 2/3) (1/2, 2/3) (3/5, 1)
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
LABELS = np.array([1, 0, 1, 0, 1], bool)


class TestHandValues(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_area(self):
        # monotone precision 1, 2/3, 3/5 over the three recall steps of 1/3 each
        ap = self.variant(lambda s, l: average_precision(s, l, method="area"))(SCORES, LABELS)
        np.testing.assert_allclose(ap, (1 + 2 / 3 + 3 / 5) / 3, rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_eleven_point(self):
        # t = 0, .1, .2, .3 → 1; t = .4, .5, .6 → 2/3; t = .7 … 1 → 3/5
        ap = self.variant(lambda s, l: average_precision(s, l, method="11point"))(SCORES, LABELS)
        np.testing.assert_allclose(ap, (4 * 1 + 3 * 2 / 3 + 4 * 3 / 5) / 11, rtol=1e-6)


def test_perfect_and_worst_ranking():
    assert float(average_precision([3.0, 2.0, 1.0], [1, 1, 0])) == 1.0
    # the only positive ranked last of 4: precision 1/4 at recall 1
    np.testing.assert_allclose(average_precision([4.0, 3.0, 2.0, 1.0], [0, 0, 0, 1]), 0.25)
    np.testing.assert_allclose(average_precision([4.0, 3.0, 2.0, 1.0], [0, 0, 0, 1], method="11point"), 0.25)


def test_ties_are_one_threshold_whatever_the_order():
    # two tied images, one positive: precision 1/2 at recall 1 (the devkit would give 1 or 1/2 by file order)
    assert float(average_precision([0.5, 0.5], [1, 0])) == 0.5
    assert float(average_precision([0.5, 0.5], [0, 1])) == 0.5
    # 0.9:neg, 0.5:{pos, neg}, 0.1:pos → (P, R) = (0, 0), (1/3, 1/2), (1/2, 1): monotone 1/2 on both steps
    for labels in ([0, 1, 0, 1], [0, 0, 1, 1]):
        np.testing.assert_allclose(average_precision([0.9, 0.5, 0.5, 0.1], labels), 0.5, rtol=1e-6)


def test_difficult_entries_are_ignored():
    # an ignored false positive on top changes nothing
    assert float(average_precision([0.9, 0.8, 0.7], [0, 1, 1], [False, True, True])) == 1.0
    # an ignored positive is not counted as a positive to find
    assert float(average_precision([0.9, 0.8, 0.1], [1, 0, 1], [True, True, False])) == 1.0
    np.testing.assert_allclose(average_precision([0.9, 0.8, 0.1], [1, 0, 1]), (1 + 2 / 3) / 2, rtol=1e-6)


def test_eleven_point_threshold_counts_a_recall_equal_to_it():
    # 10 positives: 3 ranked first (recall exactly 0.3 at precision 1), then 7 negatives, then 7 positives
    labels = np.array([1] * 3 + [0] * 7 + [1] * 7, bool)
    scores = -np.arange(len(labels), dtype=np.float32)
    np.testing.assert_allclose(average_precision(scores, labels, method="11point"), (4 * 1 + 7 * 10 / 17) / 11,
                               rtol=1e-6)


def test_class_without_positives_is_nan_excluded_and_counted():
    scores = np.array([[0.9, 0.1, 0.3], [0.2, 0.8, 0.4], [0.1, 0.3, 0.2]])
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], bool)  # class 2 never present
    mean, ap, undefined = mean_average_precision(scores, labels)
    assert np.isnan(ap[2]) and int(undefined) == 1
    np.testing.assert_allclose(ap[:2], [1.0, 1.0])
    assert float(mean) == 1.0
    mean, _, undefined = mean_average_precision(scores, np.zeros_like(labels))
    assert np.isnan(mean) and int(undefined) == 3


def test_columns_are_classes_and_match_one_by_one():
    key = jax.random.PRNGKey(0)
    scores = jax.random.normal(key, (40, 5))
    labels = jax.random.bernoulli(jax.random.PRNGKey(1), 0.3, (40, 5))
    mask = jax.random.bernoulli(jax.random.PRNGKey(2), 0.9, (40, 5))
    for method in ("area", "11point"):
        per_class = average_precision(scores, labels, mask, method)
        one_by_one = [average_precision(scores[:, c], labels[:, c], mask[:, c], method) for c in range(5)]
        np.testing.assert_allclose(per_class, one_by_one, rtol=1e-6)
        # monotone transforms of the scores leave AP unchanged
        np.testing.assert_allclose(average_precision(jax.nn.sigmoid(scores), labels, mask, method), per_class,
                                   rtol=1e-6)


def test_bad_input():
    with pytest.raises(GigjaxError, match="share"):
        average_precision(np.zeros(3), np.zeros(4))
    with pytest.raises(GigjaxError, match="NaN"):
        average_precision(np.array([0.1, np.nan]), np.array([1, 0]))
    with pytest.raises(GigjaxError, match="method"):
        average_precision(np.zeros(2), np.zeros(2), method="voc")
    with pytest.raises(GigjaxError, match="empty"):
        average_precision(np.zeros(0), np.zeros(0))
    with pytest.raises(GigjaxError, match=r"\(N, C\)"):
        mean_average_precision(jnp.zeros(3), jnp.zeros(3))
