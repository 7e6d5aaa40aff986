"""A tiny classifier and synthetic multi-label records, so training tests run in seconds.

Class k ∈ {red, green, blue} is present when a square of that colour is painted on the grey image;
``never`` is never present (its AP is undefined). Some boxes are marked difficult.
"""

from __future__ import annotations

import numpy as np

from gigjax.data.records import Record
from gigjax.models import Model
from gigjax.testing import ConvLayer, toy_model

CLASSES = ("red", "green", "blue", "never")
COLOURS = ((230, 30, 30), (30, 200, 30), (30, 30, 230))
# stem conv → BN → ReLU → stage conv (stride 2, TF 'SAME' padding) → ReLU → GAP → Dense (fc)
TINY_NET = (ConvLayer("stem", 8, batch_norm="bn"), ConvLayer("stage", 16, stride=2, padding="tf_same"))


def tiny_model(seed: int = 0, classifier: str | None = "fc") -> Model:
    return toy_model(TINY_NET, num_classes=10, class_names=tuple(f"c{i}" for i in range(10)), size=16, init="flax",
                     seed=seed, name="tiny", classifier=classifier)


def synthetic_records(n: int, seed: int, class_names=CLASSES) -> list[Record]:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        image = np.full((20, 24, 3), 128, np.uint8)
        present = [k for k in range(3) if rng.random() < 0.5]
        boxes, labels, difficult = [], [], []
        for k in present:
            y, x = rng.integers(0, 12), rng.integers(0, 16)
            image[y:y + 8, x:x + 8] = COLOURS[k]
            boxes.append((x, y, x + 7, y + 7))
            labels.append(k)
            difficult.append(bool(rng.random() < 0.1))
        records.append(Record(image_id=f"img{seed}_{i}", image=image, boxes=np.array(boxes, np.float32).reshape(-1, 4),
                              box_labels=np.array(labels, np.int32), difficult=np.array(difficult, bool),
                              labels=tuple(sorted(set(labels))), class_names=tuple(class_names)))
    return records
