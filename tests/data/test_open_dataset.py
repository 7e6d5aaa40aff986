"""open_dataset dispatch and the TFDS path (tfds.testing.mock_data; no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from gigjax.data import TFDSDataset, open_dataset
from gigjax.errors import GigjaxError

tfds = pytest.importorskip("tensorflow_datasets")


def test_unknown_dataset_and_missing_paths(tmp_path):
    with pytest.raises(GigjaxError, match="unsupported TFDS dataset 'mnist'"):
        open_dataset("mnist")
    with pytest.raises(GigjaxError, match="no such file or folder"):
        open_dataset(str(tmp_path / "nope.json"))
    with pytest.raises(GigjaxError, match="no such file or folder"):
        open_dataset("./VOCdevkit/VOC2012")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(GigjaxError, match="not a dataset"):
        open_dataset(str(tmp_path / "notes.txt"))


@pytest.mark.parametrize("name, hint", [("voc/2012", "tfds build voc/2012 --file_format=array_record"),
                                        ("imagenet2012", "ILSVRC2012_img_val.tar")])
def test_unprepared_tfds_dataset_says_how_to_prepare(tmp_path, name, hint):
    with pytest.raises(GigjaxError, match="not prepared") as info:
        open_dataset(name, data_dir=str(tmp_path))
    assert hint in str(info.value)


class _Source(list):
    """A mock data source carrying the builder's metadata, as ``ArrayRecordDataSource`` does."""

    def __init__(self, items, info):
        super().__init__(items)
        self.dataset_info = info


def test_voc_through_tfds_data_source():
    # the VOC XML of an image 500 wide, 375 high: bus xmin=84 ymin=21 xmax=435 ymax=374 (1-based), difficult
    example = {
        "image": np.full((375, 500, 3), 7, np.uint8),
        "image/filename": "2011_000025.jpg",
        "objects": {"bbox": np.asarray([[21 / 375, 84 / 500, 374 / 375, 435 / 500],
                                        [99 / 375, 1 / 500, 282 / 375, 107 / 500]], np.float32),
                    "label": np.asarray([5, 6]), "is_difficult": np.asarray([True, False]),
                    "is_truncated": np.asarray([False, False]), "pose": np.asarray([0, 0])},
        "labels": np.asarray([5, 6]), "labels_no_difficult": np.asarray([6]),
    }

    def as_data_source(builder, split, **kwargs):
        assert split == "validation"
        assert set(example) == set(builder.info.features.keys())               # the real feature layout
        assert set(example["objects"]) == set(builder.info.features["objects"].feature.keys())
        return _Source([example], builder.info)

    with tfds.testing.mock_data(as_data_source_fn=as_data_source):
        ds = open_dataset("voc/2012")
        assert isinstance(ds, TFDSDataset) and ds.family == "voc" and len(ds) == 1
        rec = ds[0]
    assert rec.image_id == "2011_000025" and ds.class_names[5] == "bus"
    np.testing.assert_allclose(rec.boxes, [[83, 20, 434, 373], [0, 98, 106, 281]])
    assert rec.difficult.tolist() == [True, False] and rec.labels == (5, 6)


def test_imagenet_through_tfds_with_box_folder(tmp_path):
    (tmp_path / "ILSVRC2012_val_00000001.xml").write_text(
        "<annotation><object><name>n01751748</name><bndbox><xmin>111</xmin><ymin>108</ymin>"
        "<xmax>355</xmax><ymax>402</ymax></bndbox></object></annotation>")
    examples = [{"image": np.zeros((500, 375, 3), np.uint8), "label": 65, "file_name": "ILSVRC2012_val_00000001.JPEG"},
                {"image": np.zeros((20, 30, 3), np.uint8), "label": 3, "file_name": "ILSVRC2012_val_00000002.JPEG"}]

    def as_data_source(builder, split, **kwargs):
        return _Source(examples, builder.info)

    with tfds.testing.mock_data(as_data_source_fn=as_data_source):
        ds = open_dataset("imagenet2012", boxes=str(tmp_path))
        first, second = ds[0], ds[1]
    assert ds.family == "imagenet" and ds.wnids[65] == "n01751748" and ds.class_names[65] == "sea snake"
    np.testing.assert_array_equal(first.boxes, [[110, 107, 354, 401]])
    assert first.box_labels.tolist() == [65] and first.labels == (65,)
    assert second.labels == (3,) and second.boxes.shape == (0, 4)   # no XML: no boxes (counted as NaN later)


def test_random_mock_data_with_inconsistent_objects_is_a_clear_error():
    with tfds.testing.mock_data(num_examples=2):
        ds = open_dataset("voc/2012")
        try:
            rec = ds[0]
        except GigjaxError as exc:
            assert "disagree" in str(exc)
        else:
            assert len(rec.boxes) == len(rec.box_labels)
