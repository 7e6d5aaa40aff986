"""Annotated images for evaluation, all yielding one :class:`Record` type.

``open_dataset(spec, split=None, ...)`` picks the reader from ``spec``:

* an existing folder → :class:`VOCFolder` (VOCdevkit layout: ``Annotations/``, ``JPEGImages/``,
  ``ImageSets/Main/``);
* an existing ``.json`` file → :class:`CocoJson` (COCO instances format);
* otherwise a TFDS name (``voc/2012``, ``voc/2007``, ``coco/2014``, ``imagenet2012``) →
  :class:`TFDSDataset`, read through ``tfds.data_source`` (needs the ``eval`` extra).
"""

from __future__ import annotations

import os

from gigjax.data.coco import COCO_CLASSES, CocoJson, coco_boxes
from gigjax.data.records import Record
from gigjax.data.source import Dataset
from gigjax.data.tfds_source import TFDS_DATASETS, TFDSDataset, base_name
from gigjax.data.voc import VOC_CLASSES, VOCFolder, canonical_voc_name, parse_voc_xml
from gigjax.errors import GigjaxError


def open_dataset(spec: str, split: str | None = None, *, data_dir: str | None = None, boxes: str | None = None,
                 images: str | None = None) -> Dataset:
    """Opens a dataset by folder, JSON file or TFDS name (see the module docstring).

    Args:
      spec: a VOCdevkit-style folder, a COCO JSON file, or a TFDS name.
      split: VOC image set (default ``val``) or TFDS split (default per dataset); not used for COCO JSON.
      data_dir: TFDS data folder.
      boxes: ILSVRC bounding-box XML folder (``imagenet2012`` only).
      images: the COCO JSON's image folder (default: the JSON's folder).

    Raises:
      GigjaxError: unknown dataset, missing files, damaged annotations, unprepared TFDS dataset.
    """
    spec = os.fspath(spec)
    if os.path.isdir(spec):
        return VOCFolder(spec, split)
    if os.path.isfile(spec):
        if spec.lower().endswith(".json"):
            if split is not None:
                raise GigjaxError(f"{spec}: a COCO JSON file is one split; drop --split {split}")
            return CocoJson(spec, images)
        raise GigjaxError(f"{spec}: not a dataset (give a VOCdevkit folder, a COCO .json file or a TFDS name)")
    if base_name(spec) not in TFDS_DATASETS and (spec.lower().endswith(".json") or spec.startswith(("/", ".", "~"))
                                                 or spec.count("/") > 1):
        raise GigjaxError(f"{spec}: no such file or folder")
    if boxes is not None and not spec.lower().startswith("imagenet"):
        raise GigjaxError("box files (--boxes) apply to imagenet2012 only")
    return TFDSDataset(spec, split, data_dir, boxes)


__all__ = ["COCO_CLASSES", "TFDS_DATASETS", "VOC_CLASSES", "CocoJson", "Dataset", "GigjaxError", "Record",
           "TFDSDataset", "VOCFolder", "canonical_voc_name", "coco_boxes", "open_dataset", "parse_voc_xml"]
