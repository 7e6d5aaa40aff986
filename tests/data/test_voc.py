"""VOCdevkit folder reader: the real labelme VOC photos and hand-made annotation files."""

from __future__ import annotations

import os

import numpy as np
import pytest

from gigjax.data import VOC_CLASSES, VOCFolder, open_dataset, parse_voc_xml
from gigjax.errors import GigjaxError


def test_labelme_voc_folder(fixtures_dir):
    ds = open_dataset(os.path.join(fixtures_dir, "labelme", "voc"))
    assert isinstance(ds, VOCFolder) and ds.family == "voc" and len(ds) == 3
    assert ds.ids == ["2011_000003", "2011_000006", "2011_000025"]
    bus = ds[2]
    assert bus.image.shape == (375, 500, 3) and bus.image.dtype == np.uint8
    assert [VOC_CLASSES[l] for l in bus.box_labels] == ["bus", "bus", "car"]
    assert bus.labels == (VOC_CLASSES.index("bus"), VOC_CLASSES.index("car"))
    # XML: xmin 84.0 ymin 20.3846 xmax 435.0 ymax 373.3846 (1-based) → 0-based inclusive
    np.testing.assert_allclose(bus.boxes[0], [83.0, 19.384615, 434.0, 372.384615], rtol=1e-6)
    np.testing.assert_allclose(bus.boxes[1], [0.0, 98.0, 106.0, 281.0])
    assert not bus.difficult.any()   # labelme writes an empty <difficult/>
    assert ds[0].labels == (VOC_CLASSES.index("person"),)


def _write_xml(path, objects, filename=None):
    body = "".join(
        f"<object><name>{n}</name><difficult>{d}</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>" for n, b, d in objects)
    name = f"<filename>{filename}</filename>" if filename else ""
    with open(path, "w") as f:
        f.write(f"<annotation>{name}<size><width>40</width><height>30</height></size>{body}</annotation>")


def _devkit(tmp_path, ids=("a", "b"), split=None):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    from PIL import Image
    for i in ids:
        Image.new("RGB", (40, 30), (10, 20, 30)).save(root / "JPEGImages" / f"{i}.jpg")
        _write_xml(root / "Annotations" / f"{i}.xml", [("dog", (1, 1, 40, 30), 0), ("Potted Plant", (5, 6, 7, 8), 1)])
    if split:
        (root / "ImageSets" / "Main").mkdir(parents=True)
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(ids[:1]) + "\n")
    return root


def test_one_based_boxes_difficult_flags_and_aliases(tmp_path):
    root = _devkit(tmp_path)
    boxes, labels, difficult, _ = parse_voc_xml(str(root / "Annotations" / "a.xml"),
                                                lambda n: VOC_CLASSES.index({"Potted Plant": "pottedplant"}.get(n, n)))
    np.testing.assert_array_equal(boxes, [[0, 0, 39, 29], [4, 5, 6, 7]])   # xmin=1 → column 0
    assert labels.tolist() == [VOC_CLASSES.index("dog"), VOC_CLASSES.index("pottedplant")]
    assert difficult.tolist() == [False, True]
    rec = VOCFolder(str(tmp_path / "VOCdevkit"))[1]       # a VOCdevkit holding one year is accepted
    assert rec.image_id == "b" and rec.difficult.tolist() == [False, True]


def test_image_sets(tmp_path):
    root = _devkit(tmp_path, ids=("a", "b"), split="val")
    assert VOCFolder(str(root)).ids == ["a"]               # val.txt is the default split
    with pytest.raises(GigjaxError, match="no image set 'train'.*available: val"):
        VOCFolder(str(root), "train")


@pytest.mark.parametrize("content, message", [
    ("<annotation><object>", "not a readable VOC annotation"),
    ("<annotation><object><name>unicorn</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
     "<ymax>2</ymax></bndbox></object></annotation>", "unknown class 'unicorn'"),
    ("<annotation><object><name>dog</name></object></annotation>", "no <bndbox>"),
    ("<annotation><object><name>dog</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>2</xmax>"
     "<ymax>2</ymax></bndbox></object></annotation>", "bad <xmin>"),
    # a non-finite box would contain every pixel: a sure Pointing Game hit
    ("<annotation><object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>inf</xmax>"
     "<ymax>2</ymax></bndbox></object></annotation>", r"b\.xml: object 'dog' has a non-finite <xmax>"),
    ("<annotation><object><name>dog</name><bndbox><xmin>-Infinity</xmin><ymin>nan</ymin><xmax>2</xmax>"
     "<ymax>2</ymax></bndbox></object></annotation>", "non-finite <xmin>"),
])
def test_damaged_annotations_fail_when_opened(tmp_path, content, message):
    root = _devkit(tmp_path)
    (root / "Annotations" / "b.xml").write_text(content)
    with pytest.raises(GigjaxError, match=message):
        VOCFolder(str(root))


def test_missing_image_is_a_clear_error(tmp_path):
    root = _devkit(tmp_path)
    os.remove(root / "JPEGImages" / "b.jpg")
    ds = VOCFolder(str(root))
    assert ds[0].image.shape == (30, 40, 3)
    with pytest.raises(GigjaxError, match="b.jpg: no such image file"):
        ds[1]


def test_not_a_voc_folder(tmp_path):
    with pytest.raises(GigjaxError, match="not a VOC folder"):
        VOCFolder(str(tmp_path))


def test_image_ids_come_without_reading_the_pixels(tmp_path):
    root = _devkit(tmp_path)
    os.remove(root / "JPEGImages" / "b.jpg")
    ds = VOCFolder(str(root))
    assert [ds.image_id(i) for i in range(len(ds))] == ["a", "b"]
