"""The model card: everything an explainer or a user needs to know about a model besides its weights."""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Mapping

from gigjax.errors import GigjaxError

if TYPE_CHECKING:
    from gigjax.models.model import Model
    from gigjax.models.relevance_plan import Plan


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """Static description of a classifier.

    Attributes:
    Only ``name`` and ``input_size`` are required; ``gigjax.Model.from_linen`` / ``from_nnx`` /
    ``from_function`` fill the rest from the model itself.

    Attributes:
      name: zoo name, e.g. ``"efficientnet_lite0"``.
      input_size: (H, W) in pixels of the network input after preprocessing.
      resize_short: the shorter image side is resized to this many pixels before the centre crop
        (default: ``input_size``'s shorter side, i.e. no crop margin).
      mean, std: per-channel normalisation in units of pixel/255: ``x = (pixel/255 − mean) / std``
        (default 0 and 1: the network sees pixel/255); one entry per input channel, so their length is
        the channel count the model takes (:attr:`channels`).
      class_names: one name per output logit (empty for a model whose output is not class logits).
      layers: layer paths that are worth probing (any layer path works; these are listed).
      cam_layer: the default layer for CAM methods (the last convolutional feature map, or the last
        token layer of a ViT); ``None``: found by tracing (:func:`gigjax.models.inference.default_cam_layer`).
      classifier: path of the final ``Dense`` after global average pooling (``None`` when the head
        is not GAP+FC, e.g. VGG16); CAM needs it.
      description: one line for ``--help`` and the README.
      reshape: per-layer reshapes ``{layer: fn}`` turning a non-map output into a (B, h, w, K) feature
        map, e.g. ``{"encoder/layers/encoder_layer_11/ln_1": gigjax.tokens_to_grid(skip=1)}`` (see
        :mod:`gigjax.tokens`); a dict is accepted and stored as a sorted tuple of pairs (hashable).
      last_stage: parameter path prefixes of the architecture's last stage, what ``gigjax finetune
        --train-last-stage`` trains besides the head (``()``: none declared).
      relevance_plan: ``model → Plan``, builds FG-CAM's layer-by-layer walk for this architecture
        (:mod:`gigjax.models.relevance_plan`); ``None`` when FG-CAM does not apply. A module-level
        function, so cards stay hashable and equal cards compile once under ``jax.jit``.
    """

    name: str
    input_size: tuple[int, int]
    resize_short: int | None = None
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    class_names: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    cam_layer: str | None = None
    classifier: str | None = None
    description: str = ""
    reshape: tuple[tuple[str, Callable[[Any], Any]], ...] = ()
    last_stage: tuple[str, ...] = ()
    relevance_plan: Callable[[Model], Plan] | None = None

    def __post_init__(self):
        from gigjax.tokens import check_reshape  # local: the card module stays import-light

        try:
            size = tuple(int(v) for v in self.input_size)
        except (TypeError, ValueError):
            size = ()
        if len(size) != 2 or min(size) < 1:
            raise GigjaxError(f"ModelCard {self.name!r}: input_size must be (H, W) pixels, got {self.input_size!r}")
        object.__setattr__(self, "input_size", size)
        if self.resize_short is None:
            object.__setattr__(self, "resize_short", min(size))
        for field in ("mean", "std", "class_names", "layers"):
            object.__setattr__(self, field, tuple(getattr(self, field)))
        if len(self.mean) != len(self.std) or not self.mean:
            raise GigjaxError(f"ModelCard {self.name!r}: mean and std need one entry per input channel, got "
                              f"{len(self.mean)} and {len(self.std)}")
        pairs = self.reshape.items() if isinstance(self.reshape, Mapping) else self.reshape
        pairs = tuple(sorted(((str(layer), check_reshape(fn, f"reshape of layer {layer!r}")) for layer, fn in pairs),
                            key=lambda pair: pair[0]))
        object.__setattr__(self, "reshape", pairs)

    def reshape_for(self, layer: str) -> Callable[[Any], Any] | None:
        """The reshape of ``layer`` declared on this card, or ``None``."""
        return dict(self.reshape).get(layer)

    def with_reshape(self, layers, reshape) -> "ModelCard":
        """This card with ``reshape`` set for each of ``layers`` (``None`` leaves the card as it is)."""
        if reshape is None:
            return self
        return dataclasses.replace(self, reshape={**dict(self.reshape), **{layer: reshape for layer in layers}})

    @property
    def channels(self) -> int:
        """Input channels the network takes: one per ``mean`` entry."""
        return len(self.mean)

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
