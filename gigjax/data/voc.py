"""PASCAL VOC: the class list, the annotation XML parser and a VOCdevkit folder reader (no TFDS).

VOC boxes are 1-based inclusive pixel coordinates (``xmin = 1`` is the first column); records hold
0-based inclusive ones, so 1 is subtracted. Non-integer coordinates (written by some annotation
tools, e.g. labelme) are kept as floats; a box then covers the integer pixels inside it.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from typing import Sequence

import numpy as np

from gigjax.data.records import Record
from gigjax.data.source import Dataset
from gigjax.errors import GigjaxError
from gigjax.imageio import read_image

VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)

# Spellings of VOC classes found in the wild (the VOC devkit's display names, labelme's class list).
VOC_ALIASES = {"potted plant": "pottedplant", "tv/monitor": "tvmonitor", "tv monitor": "tvmonitor",
               "dining table": "diningtable", "motor bike": "motorbike", "air plane": "aeroplane",
               "airplane": "aeroplane", "motorcycle": "motorbike", "tv": "tvmonitor"}


def canonical_voc_name(name: str) -> str | None:
    """A VOC class spelling → its canonical name, or ``None`` if it is not a VOC class."""
    key = name.strip().lower()
    key = VOC_ALIASES.get(key, key)
    return key if key in VOC_CLASSES else None


def _text(node, tag: str) -> str | None:
    child = node.find(tag)
    return None if child is None or child.text is None else child.text.strip()


def parse_voc_xml(path: str, class_index, *, one_based: bool = True):
    """Reads one VOC-format annotation file.

    Args:
      path: the XML file.
      class_index: ``name → index`` (raise ``KeyError`` for names that are not classes).
      one_based: coordinates are 1-based (PASCAL VOC); ``False`` for 0-based files.

    Returns:
      (boxes (N, 4) float32 0-based inclusive (x0, y0, x1, y1), labels (N,) int32, difficult (N,) bool,
      filename or None).

    Raises:
      GigjaxError: unreadable or malformed XML, a missing coordinate, an unknown class.
    """
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise GigjaxError(f"{path}: not a readable VOC annotation ({exc})") from None
    boxes, labels, difficult = [], [], []
    offset = 1.0 if one_based else 0.0
    for obj in root.findall("object"):
        name = _text(obj, "name")
        if not name:
            raise GigjaxError(f"{path}: an <object> has no <name>")
        try:
            labels.append(class_index(name))
        except KeyError:
            raise GigjaxError(f"{path}: unknown class {name!r}") from None
        box = obj.find("bndbox")
        if box is None:
            raise GigjaxError(f"{path}: object {name!r} has no <bndbox>")
        coords = []
        for tag in ("xmin", "ymin", "xmax", "ymax"):
            value = _text(box, tag)
            try:
                coords.append(float(value) - offset)
            except (TypeError, ValueError):
                raise GigjaxError(f"{path}: object {name!r} has a bad <{tag}> {value!r}") from None
            if not math.isfinite(coords[-1]):
                raise GigjaxError(f"{path}: object {name!r} has a non-finite <{tag}> {value!r}")
        if coords[2] < coords[0] or coords[3] < coords[1]:
            raise GigjaxError(f"{path}: object {name!r} has an inverted box {coords}")
        boxes.append(coords)
        difficult.append(_text(obj, "difficult") == "1")
    return (np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int32),
            np.asarray(difficult, bool), _text(root, "filename"))


def voc_class_index(name: str) -> int:
    canonical = canonical_voc_name(name)
    if canonical is None:
        raise KeyError(name)
    return VOC_CLASSES.index(canonical)


def make_record(image_id: str, image: np.ndarray, boxes, labels, difficult, class_names) -> Record:
    labels = np.asarray(labels, np.int32)
    return Record(image_id=image_id, image=image, boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
                  box_labels=labels, difficult=np.asarray(difficult, bool),
                  labels=tuple(sorted({int(l) for l in labels})), class_names=tuple(class_names))


def _devkit_root(root: str) -> str:
    """The folder holding ``Annotations/`` and ``JPEGImages/`` (accepts ``VOCdevkit/`` with one year)."""
    if os.path.isdir(os.path.join(root, "Annotations")):
        return root
    years = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d, "Annotations")))
    if len(years) == 1:
        return os.path.join(root, years[0])
    if years:
        raise GigjaxError(f"{root} holds several VOC years ({', '.join(years)}): give one of them")
    raise GigjaxError(f"{root} is not a VOC folder: it has no Annotations/ (and JPEGImages/) folder")


class VOCFolder(Dataset):
    """A VOCdevkit-style folder: ``Annotations/<id>.xml``, ``JPEGImages/<id>.jpg`` and optionally
    ``ImageSets/Main/<split>.txt``.

    Args:
      root: ``VOCdevkit/VOC2012`` (or ``VOCdevkit`` holding a single year, or any folder laid out so).
      split: an image set under ``ImageSets/Main`` (``val`` when ``None`` and it exists); without
        image sets, every annotation file is used.
      class_names: the classes (default: the 20 VOC classes; their common alternative spellings are
        accepted in the XML).

    All annotations are parsed when the folder is opened, so a damaged file fails before any work.
    """

    family = "voc"

    def __init__(self, root: str, split: str | None = None, class_names: Sequence[str] | None = None):
        root = _devkit_root(os.fspath(root))
        self.root = root
        if class_names is None:
            self.class_names, index = VOC_CLASSES, voc_class_index
        else:
            self.class_names = tuple(class_names)
            lookup = {n.lower(): i for i, n in enumerate(self.class_names)}
            index = lambda n: lookup[n.strip().lower()]  # noqa: E731
            self.family = "custom"
        self.ids = self._image_ids(split)
        self.name = f"{root}:{self.split or 'all'}"
        self._annotations = []
        for image_id in self.ids:
            xml = os.path.join(root, "Annotations", image_id + ".xml")
            if not os.path.isfile(xml):
                raise GigjaxError(f"{xml}: annotation file missing (listed in the image set)")
            self._annotations.append(parse_voc_xml(xml, index))

    def _image_ids(self, split: str | None) -> list[str]:
        sets = os.path.join(self.root, "ImageSets", "Main")
        if split is None and os.path.isfile(os.path.join(sets, "val.txt")):
            split = "val"
        self.split = split
        if split is None:
            files = sorted(f for f in os.listdir(os.path.join(self.root, "Annotations")) if f.endswith(".xml"))
            if not files:
                raise GigjaxError(f"{self.root}/Annotations holds no .xml files")
            return [f[:-4] for f in files]
        path = os.path.join(sets, f"{split}.txt")
        if not os.path.isfile(path):
            have = sorted(f[:-4] for f in os.listdir(sets) if f.endswith(".txt") and "_" not in f) \
                if os.path.isdir(sets) else []
            raise GigjaxError(f"{self.root}: no image set {split!r} (ImageSets/Main/{split}.txt)"
                              + (f"; available: {', '.join(have)}" if have else ""))
        with open(path, encoding="utf-8") as f:
            return [line.split()[0] for line in f if line.strip()]

    def __len__(self) -> int:
        return len(self.ids)

    def image_id(self, index: int) -> str:
        return self.ids[index]

    def __getitem__(self, index: int) -> Record:
        image_id = self.ids[index]
        boxes, labels, difficult, filename = self._annotations[index]
        path = os.path.join(self.root, "JPEGImages", image_id + ".jpg")
        if not os.path.isfile(path) and filename:
            path = os.path.join(self.root, "JPEGImages", filename)
        return make_record(image_id, read_image(path), boxes, labels, difficult, self.class_names)
