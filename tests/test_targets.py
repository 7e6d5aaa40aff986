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
