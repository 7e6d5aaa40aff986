"""The one record type every dataset reader yields."""

from __future__ import annotations

import dataclasses

import numpy as np

from gigjax.errors import GigjaxError


@dataclasses.dataclass(frozen=True)
class Record:
    """One annotated photo.

    Attributes:
      image_id: a stable identifier (file stem, COCO id, TFDS key); results are keyed by it.
      image: (H, W, 3) uint8 RGB pixels.
      boxes: (N, 4) float32 boxes ``(x0, y0, x1, y1)`` in 0-based *inclusive* pixel coordinates of
        ``image`` (a VOC box ``xmin=1`` becomes ``x0=0``); x is the column, y the row.
      box_labels: (N,) int32 class index of each box, in ``class_names``.
      difficult: (N,) bool VOC "difficult" flags (all False where a dataset has none).
      labels: sorted tuple of the classes present (image-level labels).
      class_names: the dataset's class names, indexed by the labels.
    """

    image_id: str
    image: np.ndarray
    boxes: np.ndarray
    box_labels: np.ndarray
    difficult: np.ndarray
    labels: tuple[int, ...]
    class_names: tuple[str, ...]

    def __post_init__(self):
        n = len(self.box_labels)
        if self.image.ndim != 3 or self.image.shape[-1] != 3 or self.image.dtype != np.uint8:
            raise GigjaxError(f"record {self.image_id}: image must be (H, W, 3) uint8, got "
                             f"{self.image.shape} {self.image.dtype}")
        if self.boxes.shape != (n, 4) or self.difficult.shape != (n,):
            raise GigjaxError(f"record {self.image_id}: boxes {self.boxes.shape}, labels ({n},) and "
                             f"difficult {self.difficult.shape} disagree")
