"""Which model output explains a dataset class.

Two cases (spec §8, issue 5):

* **native** — the model's classes *are* the dataset's (a fine-tuned VOC head whose card lists the
  20 VOC names; an ImageNet model on ImageNet). A dataset class is explained by its logit; classes the
  model does not have are reported as unmapped.
* **mapped** — an ImageNet-1k model on VOC/COCO: each dataset class is explained by a targets callable
  on the ImageNet logits (by default :func:`gigjax.data.classmap.target_for`: the log-sum-exp of the
  logits of its ImageNet classes). Classes without a counterpart (``person``) are unmapped: reported
  apart, never dropped silently.

Inside a jitted batch, pair ``i`` explains entry ``ids[i]`` of :attr:`ClassTargets.model_classes`
(native) or of :attr:`ClassTargets.scorers` (mapped); :meth:`ClassTargets.targets` turns ``ids``
(possibly traced) into what ``gigjax.explainer`` accepts.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from gigjax.data.voc import canonical_voc_name
from gigjax.errors import GigjaxError
from gigjax.validation import check_choice

ClassMap = Callable[[str], "Callable[[jax.Array], jax.Array] | None"]
CLASS_MAPS = ("auto", "none", "imagenet")
MAPPED_TARGETS = ("logsumexp", "top")


def _key(name: str) -> str:
    canonical = canonical_voc_name(name)
    return canonical if canonical else re.sub(r"[^0-9a-z]", "", name.lower())


@dataclasses.dataclass(frozen=True)
class ClassTargets:
    """How each dataset class is explained.

    Attributes:
      mode: ``"native"`` or ``"mapped"``.
      entry: per dataset class, its index into ``model_classes``/``scorers``, or ``None`` (unmapped).
      model_classes: native: the model class index of each entry.
      scorers: mapped: one ``logits (B, C) → (B,)`` callable per entry.
      mapped_target: mapped: ``"logsumexp"`` explains the class's score itself (e.g. the log-sum-exp of
        its ImageNet classes' logits); ``"top"`` explains the single model class that contributes most
        to that score on each image (the argmax of ∂score/∂logits: for a log-sum-exp, the class's most
        likely ImageNet class) — for methods that need class indices (e.g. Score-CAM).
      description: one line for reports.
    """

    mode: str
    entry: tuple[int | None, ...]
    model_classes: tuple[int, ...] = ()
    scorers: tuple[Callable, ...] = ()
    mapped_target: str = "logsumexp"
    description: str = dataclasses.field(default="", compare=False)

    def targets(self, ids: jax.Array):
        """(B,) int entry ids → an explainer ``targets`` value (class indices or a callable)."""
        if self.mode == "native":
            return jnp.asarray(self.model_classes, jnp.int32)[ids]

        def score(logits):
            table = jnp.stack([f(logits) for f in self.scorers], axis=-1)
            return jnp.take_along_axis(table, ids[:, None], axis=1)[:, 0]

        if self.mapped_target == "logsumexp":
            return score

        def top(logits):
            weights = jax.grad(lambda z: jnp.sum(score(z)))(jax.lax.stop_gradient(logits))
            return jnp.argmax(weights, axis=-1).astype(jnp.int32)

        return top

    @property
    def unmapped(self) -> tuple[int, ...]:
        return tuple(c for c, e in enumerate(self.entry) if e is None)


def _native(class_names: Sequence[str], model_names: Sequence[str], family: str) -> ClassTargets:
    if family == "imagenet" and len(model_names) == len(class_names) == 1000:
        return ClassTargets("native", tuple(range(1000)), tuple(range(1000)),
                            description="native: ImageNet classes explained by their own logits")
    lookup = {_key(n): i for i, n in enumerate(model_names)}
    entry, model_classes = [], []
    for name in class_names:
        index = lookup.get(_key(name))
        entry.append(None if index is None else len(model_classes))
        if index is not None:
            model_classes.append(index)
    return ClassTargets("native", tuple(entry), tuple(model_classes),
                        description="native: dataset classes explained by the model's own logits")


def _mapped(class_names: Sequence[str], target_for: ClassMap, description: str, mapped_target: str) -> ClassTargets:
    entry, scorers = [], []
    for name in class_names:
        try:
            scorer = target_for(name)
        except GigjaxError:
            scorer = None  # a name the class map does not know (e.g. "_background_")
        entry.append(None if scorer is None else len(scorers))
        if scorer is not None:
            scorers.append(scorer)
    if mapped_target == "top":
        description += "; each pair explains its top-scoring ImageNet class"
    return ClassTargets("mapped", tuple(entry), scorers=tuple(scorers), mapped_target=mapped_target,
                        description=description)


def _imagenet_class_map(family: str) -> ClassMap:
    try:
        from gigjax.data import classmap
    except ImportError:
        raise GigjaxError("the VOC/COCO → ImageNet class map (gigjax.data.classmap) is not installed") from None
    if family not in ("voc", "coco"):
        raise GigjaxError(f"the ImageNet class map covers VOC and COCO classes, not a {family!r} dataset")
    return lambda name: classmap.target_for(family, name)


def _is_imagenet(model_names: Sequence[str]) -> bool:
    from gigjax.models import imagenet_class_names

    return tuple(model_names) == imagenet_class_names()


def resolve_targets(class_names: Sequence[str], family: str, model_names: Sequence[str],
                    class_map: str | ClassMap = "auto", mapped_target: str = "logsumexp") -> ClassTargets:
    """Decides how the dataset's classes are explained by a model with classes ``model_names``.

    Args:
      class_names: the dataset's classes.
      family: the dataset family (``"voc"``, ``"coco"``, ``"imagenet"``, ``"custom"``).
      model_names: the model card's class names.
      class_map: ``"auto"`` (the ImageNet class map for an ImageNet-1k model on VOC/COCO, else
        native: dataset classes matched to the model's by name), ``"none"`` (native only),
        ``"imagenet"`` (the ImageNet class map), or a function ``class name → targets callable | None``.
      mapped_target: see :class:`ClassTargets` (mapped classes only).

    Raises:
      GigjaxError: no dataset class can be explained by this model.
    """
    check_choice(mapped_target, "mapped target", MAPPED_TARGETS)
    if callable(class_map):
        result = _mapped(class_names, class_map, "mapped: a user-supplied class map", mapped_target)
    elif class_map == "imagenet":
        result = _mapped(class_names, _imagenet_class_map(family),
                         f"mapped: {family.upper()} classes → log-sum-exp of their ImageNet classes' logits",
                         mapped_target)
    elif class_map == "auto" and family in ("voc", "coco") and _is_imagenet(model_names):
        return resolve_targets(class_names, family, model_names, "imagenet", mapped_target)
    elif class_map in ("auto", "none"):
        result = _native(class_names, model_names, family)
    else:
        raise GigjaxError(f"class map must be one of {', '.join(CLASS_MAPS)} or a function, got {class_map!r}")
    if len(result.unmapped) == len(class_names):
        raise GigjaxError("the model cannot explain any class of the dataset: its classes do not match "
                          "(use a model trained on the dataset's classes, or --class-map imagenet for an "
                          "ImageNet model on VOC/COCO)")
    return result
