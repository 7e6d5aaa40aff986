"""COCO-JSON reader on the real labelme COCO file and on damaged files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gigjax.data import CocoJson, coco_boxes, open_dataset
from gigjax.errors import GigjaxError


def test_labelme_coco_json(fixtures_dir):
    ds = open_dataset(os.path.join(fixtures_dir, "labelme", "coco", "annotations.json"))
    assert isinstance(ds, CocoJson) and len(ds) == 3
    assert ds.class_names[0] == "_background_" and ds.class_names[6] == "bus"
    assert ds.family == "voc"                  # labelme's classes are VOC's
    bus = ds[1]
    assert bus.image_id == "2011_000025" and bus.image.shape == (375, 500, 3)
    assert [ds.class_names[l] for l in bus.box_labels] == ["bus", "bus", "car"]
    np.testing.assert_array_equal(bus.boxes[0], [81, 20, 433, 374])   # [81, 20, 353, 355] xywh
    assert not bus.difficult.any()


def test_quokka(fixtures_dir):
    ds = open_dataset(os.path.join(fixtures_dir, "quokka", "annotations.json"))
    assert ds.family == "coco" and ds.class_names == ("quokka",)
    rec = ds[0]
    assert rec.labels == (0,) and rec.image.shape[2] == 3
    np.testing.assert_array_equal(rec.boxes, [[148, 50, 549, 641]])


def test_coco_boxes():
    np.testing.assert_array_equal(coco_boxes([[10, 20, 1, 5]]), [[10, 20, 10, 24]])


def _write(tmp_path, data):
    path = tmp_path / "ann.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


@pytest.mark.parametrize("data, message", [
    ("{not json", "not a readable COCO JSON"),
    ({"annotations": []}, "needs 'images' and 'categories'"),
    ({"images": [{"id": 1, "file_name": "x.jpg"}], "categories": [{"id": 1, "name": "cat"}],
      "annotations": [{"id": 7, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}]}, "unknown image 2"),
    ({"images": [{"id": 1, "file_name": "x.jpg"}], "categories": [{"id": 1, "name": "cat"}],
      "annotations": [{"id": 7, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}]}, "unknown category 3"),
    ({"images": [{"id": 1, "file_name": "x.jpg"}], "categories": [{"id": 1, "name": "cat"}],
      "annotations": [{"id": 7, "image_id": 1, "category_id": 1}]}, "malformed COCO entry"),
    ({"images": [{"id": 1}], "categories": []}, "malformed COCO entry"),
])
def test_damaged_json(tmp_path, data, message):
    with pytest.raises(GigjaxError, match=message):
        CocoJson(_write(tmp_path, data))


def test_missing_image(tmp_path):
    ds = CocoJson(_write(tmp_path, {"images": [{"id": 1, "file_name": "gone.jpg"}],
                                    "categories": [{"id": 1, "name": "cat"}], "annotations": []}))
    with pytest.raises(GigjaxError, match="gone.jpg: no such image file"):
        ds[0]


def test_a_file_with_no_images_is_an_error(tmp_path):
    with pytest.raises(GigjaxError, match="ann.json: the COCO file lists no images"):
        CocoJson(_write(tmp_path, {"images": [], "categories": [{"id": 1, "name": "cat"}], "annotations": []}))


@pytest.mark.parametrize("bbox", ["[0, 0, Infinity, 5]", "[-Infinity, 0, 4, 5]", "[0, NaN, 4, 5]"])
def test_non_finite_boxes_are_refused_naming_the_file(tmp_path, bbox):
    text = ('{"images": [{"id": 1, "file_name": "x.jpg"}], "categories": [{"id": 1, "name": "cat"}], '
            f'"annotations": [{{"id": 7, "image_id": 1, "category_id": 1, "bbox": {bbox}}}]}}')
    with pytest.raises(GigjaxError, match=r"ann.json: annotation 7 has a bad bbox .*4 finite numbers"):
        CocoJson(_write(tmp_path, text))


def test_image_ids_are_the_file_stems(fixtures_dir):
    ds = open_dataset(os.path.join(fixtures_dir, "labelme", "coco", "annotations.json"))
    assert [ds.image_id(i) for i in range(len(ds))] == [ds[i].image_id for i in range(len(ds))]
