"""Image-level multi-label targets of a :class:`~gigjax.data.records.Record`, the VOC way.

For each class ``c`` of the dataset:

* **positive** when the image has a box of ``c`` not marked difficult, or lists ``c`` among its
  image-level ``labels`` without any box of ``c`` (datasets with labels but no boxes);
* **ignored** when every box of ``c`` is marked difficult (the VOC devkit's label 0): such an entry
  neither trains the classifier nor counts in the AP;
* **negative** otherwise.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gigjax.data.records import Record
from gigjax.errors import GigjaxError


def label_targets(record: Record, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(labels (C,) bool, mask (C,) bool)``: true labels are positives, false mask entries
    are ignored (see the module docstring).

    Raises:
      GigjaxError: the record's classes are not ``class_names`` (a record of another dataset).
    """
    if tuple(record.class_names) != tuple(class_names):
        raise GigjaxError(f"record {record.image_id} belongs to a dataset with classes "
                          f"{', '.join(record.class_names[:4])}, …; expected {', '.join(class_names[:4])}, …")
    n = len(class_names)
    box_labels = np.asarray(record.box_labels, np.int64)
    difficult = np.asarray(record.difficult, bool)
    if box_labels.size and (box_labels.min() < 0 or box_labels.max() >= n):
        raise GigjaxError(f"record {record.image_id}: box label out of range 0..{n - 1}")
    has_box = np.bincount(box_labels, minlength=n) > 0
    has_clear_box = np.bincount(box_labels[~difficult], minlength=n) > 0
    listed = np.zeros(n, bool)
    listed[list(record.labels)] = True
    labels = has_clear_box | (listed & ~has_box)
    mask = labels | ~has_box
    return labels, mask


def stack_targets(records: Sequence[Record], class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(N, C) labels and mask of several records."""
    pairs = [label_targets(r, class_names) for r in records]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
