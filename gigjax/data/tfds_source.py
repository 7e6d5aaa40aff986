"""TensorFlow Datasets readers through ``tfds.data_source`` (random access, no TensorFlow needed).

Supported: ``voc/2012`` (split ``validation``), ``voc/2007`` (``test``), ``coco/2014``
(``validation``) and ``imagenet2012`` (``validation``; TFDS carries no boxes for it, so they come
from a folder of ILSVRC bounding-box XML files, ``<image stem>.xml``, PASCAL VOC format).

The dataset must be prepared in the ``array_record`` format (the only one ``data_source`` reads);
a missing or unprepared one is a :class:`GigjaxError` that says how to prepare it.

Box conversion: TFDS stores boxes as ``(ymin, xmin, ymax, xmax)`` divided by the image size. For VOC
the numerators are the XML's 1-based values, for COCO the continuous ``x``, ``x + w``; both are turned
back into 0-based inclusive pixels (rounded to 1/100 px to undo the float32 division).
"""

from __future__ import annotations

import os

import numpy as np

from gigjax.data.records import Record
from gigjax.data.source import Dataset
from gigjax.data.voc import make_record, parse_voc_xml
from gigjax.errors import GigjaxError

#: TFDS name → (default split, family).
TFDS_DATASETS = {
    "voc/2012": ("validation", "voc"),
    "voc/2007": ("test", "voc"),
    "coco/2014": ("validation", "coco"),
    "imagenet2012": ("validation", "imagenet"),
}

_BUILD = ("prepare it once with `tfds build {name} --file_format=array_record{dir}` (building needs "
          "`pip install tensorflow tensorflow-datasets`; reading it afterwards does not)")
_IMAGENET = ("ImageNet cannot be downloaded automatically: register at https://image-net.org, put "
             "ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar into {manual}, then `tfds build "
             "imagenet2012 --file_format=array_record{dir}`")


def base_name(name: str) -> str:
    return name.split(":", 1)[0].strip().lower()


def how_to_prepare(name: str, data_dir: str | None) -> str:
    base = base_name(name)
    dir_flag = f" --data_dir={data_dir}" if data_dir else ""
    if base == "imagenet2012":
        root = data_dir or os.path.join("~", "tensorflow_datasets")
        return _IMAGENET.format(manual=os.path.join(root, "downloads", "manual"), dir=dir_flag)
    return _BUILD.format(name=name, dir=dir_flag)


def _import_tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise GigjaxError("reading TFDS datasets needs tensorflow-datasets: pip install 'gigjax[eval]'") from None
    return tfds


def _open_source(name: str, split: str, data_dir: str | None):
    tfds = _import_tfds()
    try:
        return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
    except tfds.core.registered.DatasetNotFoundError:
        raise GigjaxError(f"unknown TFDS dataset {name!r}") from None
    except (ValueError, KeyError) as exc:
        if "split" in str(exc).lower():
            raise GigjaxError(f"{name} has no split {split!r} ({str(exc).splitlines()[0]})") from None
        raise GigjaxError(f"TFDS dataset {name} is not prepared in {data_dir or 'the default data dir'}: "
                          f"{how_to_prepare(name, data_dir)} ({str(exc).splitlines()[0]})") from None
    except (NotImplementedError, ImportError, AssertionError, OSError, RuntimeError) as exc:
        raise GigjaxError(f"TFDS dataset {name} is not prepared (as array_record) in "
                          f"{data_dir or 'the default data dir'}: {how_to_prepare(name, data_dir)} "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


def _unnormalise(bbox: np.ndarray, height: int, width: int, one_based: bool) -> np.ndarray:
    """TFDS (N, 4) (ymin, xmin, ymax, xmax)/size → (N, 4) 0-based inclusive (x0, y0, x1, y1).

    VOC (``one_based``): the numerators are the XML's 1-based inclusive coordinates → subtract 1.
    COCO: ``x`` and ``x + w`` are continuous edges → x0 = x, x1 = x + w − 1.
    """
    b = np.asarray(bbox, np.float64).reshape(-1, 4)
    y0, x0, y1, x1 = np.round(b * np.asarray([height, width, height, width], np.float64), 2).T
    if one_based:
        out = np.stack([x0 - 1, y0 - 1, x1 - 1, y1 - 1], axis=1)
    else:
        out = np.stack([x0, y0, x1 - 1, y1 - 1], axis=1)
    return out.astype(np.float32)


def _stem(filename) -> str:
    if isinstance(filename, bytes):
        filename = filename.decode("utf-8", "replace")
    return os.path.splitext(os.path.basename(str(filename)))[0]


def _label_names(source, *path) -> tuple[str, ...] | None:
    try:
        feature = source.dataset_info.features
        for key in path:
            feature = feature[key]
        return tuple(feature.names)
    except (AttributeError, KeyError, TypeError):
        return None


class TFDSDataset(Dataset):
    """One of :data:`TFDS_DATASETS` read through ``tfds.data_source``.

    Args:
      name: a TFDS name such as ``"voc/2012"`` (a version may follow, ``"voc/2012:5.0.0"``).
      split: default per dataset (see :data:`TFDS_DATASETS`); TFDS slicing like ``validation[:100]`` works.
      data_dir: the TFDS data folder (default: TFDS's, ``~/tensorflow_datasets`` or ``$TFDS_DATA_DIR``).
      boxes: for ``imagenet2012``: the folder of ILSVRC validation bounding-box XML files.
    """

    def __init__(self, name: str, split: str | None = None, data_dir: str | None = None,
                 boxes: str | None = None):
        base = base_name(name)
        if base not in TFDS_DATASETS:
            raise GigjaxError(f"unsupported TFDS dataset {name!r}; supported: {', '.join(TFDS_DATASETS)} "
                              f"(or a VOCdevkit folder, or a COCO JSON file)")
        default_split, self.family = TFDS_DATASETS[base]
        self.split = split or default_split
        self.name = f"{name}:{self.split}"
        self.boxes = boxes
        if boxes is not None and not os.path.isdir(boxes):
            raise GigjaxError(f"{boxes}: no such folder of bounding-box XML files")
        self._source = _open_source(name, self.split, data_dir)
        if self.family == "voc":
            from gigjax.data.voc import VOC_CLASSES
            self.class_names = _label_names(self._source, "objects", "label") or VOC_CLASSES
        elif self.family == "coco":
            from gigjax.data.coco import COCO_CLASSES
            self.class_names = _label_names(self._source, "objects", "label") or COCO_CLASSES
        else:
            from gigjax.models import imagenet_class_names
            self.wnids = _label_names(self._source, "label")
            if self.wnids is None or len(self.wnids) != 1000:
                raise GigjaxError(f"{name}: expected 1000 ImageNet classes in the TFDS metadata")
            self.class_names = imagenet_class_names()
            self._wnid_index = {w: i for i, w in enumerate(self.wnids)}

    def __len__(self) -> int:
        return len(self._source)

    def _example_id(self, ex) -> str:
        if self.family == "imagenet":
            return _stem(ex["file_name"])
        if self.family == "coco" and "image/id" in ex:
            return str(int(ex["image/id"]))
        return _stem(ex["image/filename"])

    def image_id(self, index: int) -> str:
        return self._example_id(self._source[index])

    def __getitem__(self, index: int) -> Record:
        ex = self._source[index]
        image = np.asarray(ex["image"], np.uint8)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = np.repeat(image, 3, axis=-1)
        h, w = image.shape[:2]
        if self.family == "imagenet":
            return self._imagenet_record(ex, image)
        objects = ex["objects"]
        labels = np.asarray(objects["label"], np.int32)
        if self.family == "voc":
            boxes = _unnormalise(objects["bbox"], h, w, one_based=True)
            difficult = np.asarray(objects["is_difficult"], bool)
        else:
            boxes = _unnormalise(objects["bbox"], h, w, one_based=False)
            difficult = np.zeros(len(labels), bool)
        if not (len(boxes) == len(labels) == len(difficult)):
            raise GigjaxError(f"{self.name} example {index}: {len(boxes)} boxes, {len(labels)} labels and "
                              f"{len(difficult)} difficult flags disagree")
        return make_record(self._example_id(ex), image, boxes, labels, difficult, self.class_names)

    def _imagenet_record(self, ex, image) -> Record:
        image_id = self._example_id(ex)
        label = int(ex["label"])
        boxes, labels, difficult = np.zeros((0, 4), np.float32), np.zeros(0, np.int32), np.zeros(0, bool)
        if self.boxes is not None:
            xml = os.path.join(self.boxes, image_id + ".xml")
            if os.path.isfile(xml):
                boxes, labels, difficult, _ = parse_voc_xml(xml, self._wnid_index.__getitem__)
        record = make_record(image_id, image, boxes, labels, difficult, self.class_names)
        if label not in record.labels:
            record = Record(image_id=record.image_id, image=record.image, boxes=record.boxes,
                            box_labels=record.box_labels, difficult=record.difficult,
                            labels=tuple(sorted(set(record.labels) | {label})), class_names=record.class_names)
        return record
