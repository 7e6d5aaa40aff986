"""COCO: the 80 class names and a COCO-JSON (instances) reader that needs no TFDS or pycocotools.

COCO boxes ``[x, y, w, h]`` are continuous pixel coordinates; records hold 0-based inclusive ones,
``(x, y, x + w − 1, y + h − 1)``. Crowd regions are kept (TorchRay keeps every annotation). COCO has
no "difficult" flag. Note: TorchRay's COCO pointing game uses the segmentation masks; gigjax uses the
boxes (records carry boxes only), which is more lenient for non-convex objects.
"""

from __future__ import annotations

import math
import os

import numpy as np

from gigjax.data.records import Record
from gigjax.data.source import Dataset
from gigjax.data.voc import canonical_voc_name, make_record
from gigjax.errors import GigjaxError
from gigjax.files import read_json
from gigjax.imageio import read_image

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

BACKGROUND = ("_background_", "background", "__background__")


def coco_boxes(xywh) -> np.ndarray:
    """(N, 4) COCO ``[x, y, w, h]`` → (N, 4) float32 0-based inclusive ``(x0, y0, x1, y1)``."""
    b = np.asarray(xywh, np.float64).reshape(-1, 4)
    return np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2] - 1, b[:, 1] + b[:, 3] - 1], axis=1).astype(np.float32)


def family_of(class_names) -> str:
    """``"voc"`` when every (non-background) class is a VOC class, else ``"coco"``."""
    names = [n for n in class_names if n.lower() not in BACKGROUND]
    return "voc" if names and all(canonical_voc_name(n) for n in names) else "coco"


class CocoJson(Dataset):
    """A COCO ``instances`` JSON file with its images.

    Args:
      path: the JSON file.
      images: the folder the ``file_name`` entries are relative to (default: the JSON's folder).

    Classes are the JSON's categories in id order. The whole file is checked when opened, so a damaged
    file fails before any work.
    """

    def __init__(self, path: str, images: str | None = None):
        path = os.fspath(path)
        try:
            data = read_json(path)
        except (OSError, ValueError) as exc:
            raise GigjaxError(f"{path}: not a readable COCO JSON file ({exc})") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "categories")):
            raise GigjaxError(f"{path}: not a COCO instances file (needs 'images' and 'categories' lists)")
        self.name = path
        self.root = images if images is not None else os.path.dirname(os.path.abspath(path))
        try:
            categories = sorted(data["categories"], key=lambda c: int(c["id"]))
            self.class_names = tuple(str(c["name"]) for c in categories)
            index = {int(c["id"]): i for i, c in enumerate(categories)}
            self.images = [(int(im["id"]), str(im["file_name"])) for im in data["images"]]
            per_image: dict[int, list] = {i: [] for i, _ in self.images}
            for ann in data.get("annotations", []):
                image_id, category = int(ann["image_id"]), int(ann["category_id"])
                if image_id not in per_image:
                    raise GigjaxError(f"{path}: annotation {ann.get('id')} refers to unknown image {image_id}")
                if category not in index:
                    raise GigjaxError(f"{path}: annotation {ann.get('id')} has unknown category {category}")
                bbox = [float(v) for v in ann["bbox"]]
                if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox) or bbox[2] < 0 or bbox[3] < 0:
                    raise GigjaxError(f"{path}: annotation {ann.get('id')} has a bad bbox {ann['bbox']} "
                                      f"(needs 4 finite numbers [x, y, w, h], w and h ≥ 0)")
                per_image[image_id].append((bbox, index[category]))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, GigjaxError):
                raise
            raise GigjaxError(f"{path}: malformed COCO entry ({type(exc).__name__}: {exc})") from None
        if not self.images:
            raise GigjaxError(f"{path}: the COCO file lists no images")
        self._annotations = [per_image[i] for i, _ in self.images]
        self.family = family_of(self.class_names)

    def __len__(self) -> int:
        return len(self.images)

    def image_id(self, index: int) -> str:
        image_id, file_name = self.images[index]
        return os.path.splitext(os.path.basename(file_name))[0] or str(image_id)

    def __getitem__(self, index: int) -> Record:
        _, file_name = self.images[index]
        anns = self._annotations[index]
        path = os.path.join(self.root, file_name)
        if not os.path.isfile(path):
            raise GigjaxError(f"{path}: no such image file (images are looked up under {self.root}; "
                              f"give their folder with --images / images=)")
        image = read_image(path)
        boxes = coco_boxes([b for b, _ in anns])
        labels = [c for _, c in anns]
        return make_record(self.image_id(index), image, boxes, labels, np.zeros(len(anns), bool),
                           self.class_names)
