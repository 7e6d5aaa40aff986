"""gigjax/evaluation/examples.py: the example grid is labelled — rows by method, columns by image id
and explained class — and shows unmapped classes as such (issue #14.4)."""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image

from gigjax.data import VOC_CLASSES
from gigjax.evaluation import evaluate
from gigjax.evaluation.examples import CELL


def _without_person(name):
    """A class map under which VOC's person has no counterpart (as with ImageNet)."""
    if name == "person":
        return None
    index = VOC_CLASSES.index(name)
    return lambda logits: logits[:, index]


def test_grid_labels_and_unmapped_classes(tiny, labelme_voc, tmp_path):
    out = str(tmp_path / "run")
    summary = evaluate(tiny, labelme_voc, ["gradcam"], out, metrics=["pointing_game"], class_map=_without_person,
                       progress=False)
    labels = [json.load(open(os.path.join(out, "examples", "gradcam", f"{i}.json"))) for i in range(3)]
    # 2011_000003 and 2011_000006 hold only people: nothing to explain; the bus photo explains its bus
    assert labels[0] == {"image_id": "2011_000003", "explained": None, "unmapped": ["person"]}
    assert labels[2] == {"image_id": "2011_000025", "explained": "bus", "unmapped": []}
    assert not os.path.exists(os.path.join(out, "examples", "gradcam", "0.png"))
    grid = np.asarray(Image.open(summary["files"]["examples"]).convert("RGB")).astype(int)
    header = grid.shape[0] - 2 * CELL                     # a photo row and one row per method
    assert grid.shape[1] == 120 + 3 * CELL and header > 40
    red = (grid[..., 0] > 150) & (grid[..., 1] < 80) & (grid[..., 2] < 80)   # the "unmapped: person" line
    column = lambda j: slice(120 + j * CELL, 120 + (j + 1) * CELL)           # noqa: E731
    assert red[:header, column(0)].any() and red[:header, column(1)].any() and not red[:header, column(2)].any()
    no_map = grid[header + CELL:, column(0)]
    assert (np.abs(no_map - 230) <= 1).all(axis=-1).mean() > 0.9              # a grey "no map" cell
    assert grid[header + CELL:, column(2)].std() > 20                         # an overlay
    assert grid[header:, :120].mean() > 240 and grid[header:, :120].min() < 100   # method names on white
