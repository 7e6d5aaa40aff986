"""Record → multi-label targets: positives, VOC difficult (ignored), image-level labels, wrong dataset."""

from __future__ import annotations

import numpy as np
import pytest

from gigjax.data.records import Record
from gigjax.errors import GigjaxError
from gigjax.finetune.labels import label_targets, stack_targets

NAMES = ("a", "b", "c", "d", "e")


def record(box_labels, difficult, labels=None, names=NAMES, image_id="x"):
    n = len(box_labels)
    return Record(image_id=image_id, image=np.zeros((4, 4, 3), np.uint8), boxes=np.zeros((n, 4), np.float32),
                  box_labels=np.array(box_labels, np.int32), difficult=np.array(difficult, bool),
                  labels=tuple(sorted(set(box_labels) if labels is None else labels)), class_names=names)


def test_positive_difficult_and_negative():
    # a: one clear box; b: only difficult boxes (ignored); c: a clear and a difficult box; d, e: absent
    labels, mask = label_targets(record([0, 1, 1, 2, 2], [False, True, True, False, True]), NAMES)
    np.testing.assert_array_equal(labels, [True, False, True, False, False])
    np.testing.assert_array_equal(mask, [True, False, True, True, True])


def test_image_level_labels_without_boxes_are_positives():
    labels, mask = label_targets(record([], [], labels=(3,)), NAMES)
    np.testing.assert_array_equal(labels, [False, False, False, True, False])
    assert mask.all()


def test_stack_and_wrong_dataset():
    labels, mask = stack_targets([record([0], [False]), record([4], [True])], NAMES)
    assert labels.shape == mask.shape == (2, 5)
    assert labels[0, 0] and not mask[1, 4]
    with pytest.raises(GigjaxError, match="belongs to a dataset"):
        label_targets(record([0], [False], names=("x", "y")), NAMES)
    with pytest.raises(GigjaxError, match="out of range"):
        label_targets(record([7], [False], names=NAMES), NAMES)
