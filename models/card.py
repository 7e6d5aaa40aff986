"""The model card: everything an explainer or a user needs to know about a model besides its weights."""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources
from typing import TYPE_CHECKING, Callable

from gigjax.errors import GigjaxError

if TYPE_CHECKING:
    from gigjax.models.model import Model
    from gigjax.models.relevance_plan import Plan


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """Static description of a classifier.

    Attributes:
      name: zoo name, e.g. ``"efficientnet_lite0"``.
      input_size: (H, W) in pixels of the network input after preprocessing.
      resize_short: the shorter image side is resized to this many pixels before the centre crop.
      mean, std: per-channel normalisation in units of pixel/255: ``x = (pixel/255 − mean) / std``.
      class_names: one name per output logit.
      layers: layer paths that are worth probing (any Flax module path works; these are listed).
      cam_layer: the default layer for CAM methods (the last convolutional feature map).
      classifier: path of the final ``Dense`` after global average pooling (``None`` when the head
        is not GAP+FC, e.g. VGG16); CAM needs it.
      description: one line for ``--help`` and the README.
      last_stage: parameter path prefixes of the architecture's last stage, what ``gigjax finetune
        --train-last-stage`` trains besides the head (``()``: none declared).
      relevance_plan: ``model → Plan``, builds FG-CAM's layer-by-layer walk for this architecture
        (:mod:`gigjax.models.relevance_plan`); ``None`` when FG-CAM does not apply. A module-level
        function, so cards stay hashable and equal cards compile once under ``jax.jit``.
    """

    name: str
    input_size: tuple[int, int]
    resize_short: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    class_names: tuple[str, ...]
    layers: tuple[str, ...]
    cam_layer: str
    classifier: str | None = None
    description: str = ""
    last_stage: tuple[str, ...] = ()
    relevance_plan: Callable[[Model], Plan] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_index(self, name_or_index: str | int) -> int:
        """Resolves a class given by index or by name; raises :class:`GigjaxError`.

        A name matches exactly first (ImageNet has both ``"Cardigan"``, the dog, and ``"cardigan"``,
        the sweater), else case-insensitively. A name that fits several classes (``"CARDIGAN"``, or a
        name a card lists twice) is an error listing them.
        """
        if isinstance(name_or_index, str) and not name_or_index.strip().lstrip("-").isdigit():
            wanted = name_or_index.strip()
            matches = [i for i, n in enumerate(self.class_names) if n == wanted]
            matches = matches or [i for i, n in enumerate(self.class_names) if n.lower() == wanted.lower()]
            if not matches:
                raise GigjaxError(f"unknown class {name_or_index!r} for {self.name} "
                                  f"(give an index 0..{self.num_classes - 1} or an exact class name)")
            if len(matches) > 1:
                candidates = ", ".join(f"{i} {self.class_names[i]!r}" for i in matches)
                raise GigjaxError(f"class {name_or_index!r} is ambiguous for {self.name}: it names {candidates}; "
                                  f"give the exact name or the index")
            return matches[0]
        index = int(name_or_index)
        if not 0 <= index < self.num_classes:
            raise GigjaxError(f"class index {index} out of range 0..{self.num_classes - 1} for {self.name}")
        return index


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in the standard (WordNet-ID sorted) order."""
    text = resources.files("gigjax.models").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 1000:
        raise RuntimeError(f"imagenet_classes.txt holds {len(names)} names, expected 1000")
    return names


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
