"""A tiny classifier and synthetic multi-label records, so training tests run in seconds.

Class k ∈ {red, green, blue} is present when a square of that colour is painted on the grey image;
``never`` is never present (its AP is undefined). Some boxes are marked difficult.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.data.records import Record
from gigjax.models import Model, ModelCard

CLASSES = ("red", "green", "blue", "never")
COLOURS = ((230, 30, 30), (30, 200, 30), (30, 30, 230))


class TinyNet(nn.Module):
    """conv (stem) → BN → conv (stage) → GAP → Dense (fc)."""

    num_classes: int = 10

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.BatchNorm(use_running_average=True, name="bn")(nn.Conv(8, (3, 3), name="stem")(x)))
        x = nn.relu(nn.Conv(16, (3, 3), strides=(2, 2), name="stage")(x))
        return nn.Dense(self.num_classes, name="fc")(jnp.mean(x, axis=(1, 2)))


def tiny_model(seed: int = 0, classifier: str | None = "fc") -> Model:
    module = TinyNet()
    variables = module.init(jax.random.PRNGKey(seed), jnp.zeros((1, 16, 16, 3)))
    card = ModelCard(name="tiny", input_size=(16, 16), resize_short=16, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
                     class_names=tuple(f"c{i}" for i in range(10)), layers=("stem", "stage"), cam_layer="stage",
                     classifier=classifier)
    return Model(module=module, variables=variables, card=card)


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
