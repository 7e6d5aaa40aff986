"""VOC and COCO classes as ImageNet-1k targets: explain an ImageNet classifier for a dataset class.

``classmap.json`` (built once by ``python -m gigjax.data.tools.build_classmap`` from WordNet 3.0; see that
module for the command and the full policy) maps each of the 20 VOC and 80 COCO classes to the
ImageNet-1k classes that are kinds of it in WordNet (hyponyms), with hand-reviewed exclusions and
additions, each with its reason, e.g.:

* ``cat`` → the 5 domestic cats (281–285: tabby, tiger cat, Persian, Siamese, Egyptian), not the
  cougar or lynx; ``dog`` → the 118 dog breeds (151–268); ``bus`` → minibus, school bus, trolleybus;
* ``tvmonitor``/``tv`` → television, monitor, screen; ``motorbike`` → moped, motor scooter;
  ``pottedplant`` → flowerpot; ``horse`` → sorrel, ``sheep`` → ram, ``cow`` → ox (ImageNet has one);
* **unmapped** (no ImageNet counterpart, reported by :func:`unmapped`, never dropped silently):
  VOC ``person``; COCO ``person`` and 16 more (``giraffe``, ``kite`` — ImageNet's kite is the bird —,
  ``fork``, ``scissors``, ...). ImageNet's only person hyponyms (scuba diver, groom, ballplayer) are
  roles recognised by clothes and gear, so ``person`` is unmapped on purpose.

The target score of a class is the log-sum-exp of its ImageNet classes' logits,
``S = log Σ_{i∈class} exp(z_i)``: ``softmax(S − logsumexp(z))`` is the probability the classifier puts
on *any* of them, and with a single ImageNet class ``S`` is that class's logit.

Dataset names: ``"voc"`` or ``"coco"``, optionally with a version (``"voc/2012"``, ``"coco/2014"``);
class names match case-insensitively, ignoring spaces and underscores (``"dining table"`` =
``"diningtable"``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.files import read_json
from gigjax.validation import is_concrete

_HERE = os.path.dirname(os.path.abspath(__file__))


@functools.lru_cache(maxsize=1)
def _classmap() -> dict:
    return read_json(os.path.join(_HERE, "classmap.json"))


@functools.lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet ids (``"n01440764"`` …) in the standard order of
    ``gigjax.models.imagenet_class_names()`` (e.g. to read ILSVRC box XML files, which name wnids)."""
    with open(os.path.join(_HERE, "imagenet_wnids.txt"), encoding="utf-8") as f:
        return tuple(line.strip() for line in f if line.strip())


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _family(dataset: str) -> str:
    family = str(dataset).strip().lower().split("/")[0]
    if family not in _classmap()["datasets"]:
        raise GigjaxError(f"no class map for dataset {dataset!r}; known: {', '.join(sorted(_classmap()['datasets']))}")
    return family


def _records(dataset: str) -> list[dict]:
    return _classmap()["datasets"][_family(dataset)]["classes"]


def class_names(dataset: str) -> tuple[str, ...]:
    """The dataset's class names in its standard order (VOC: 20, COCO: 80)."""
    return tuple(r["name"] for r in _records(dataset))


def class_record(dataset: str, class_name: str) -> dict:
    """The JSON record of one class: ``name``, ``synsets``, ``imagenet`` (``index``, ``wnid``, ``name``,
    ``via``), ``excluded`` (with ``reason``) and, when unmapped, ``unmapped`` (the reason)."""
    wanted = _key(class_name)
    for record in _records(dataset):
        if _key(record["name"]) == wanted:
            return record
    raise GigjaxError(f"unknown {_family(dataset).upper()} class {class_name!r}; classes: "
                      f"{', '.join(class_names(dataset))}")


def imagenet_classes(dataset: str, class_name: str) -> tuple[int, ...]:
    """The ImageNet-1k indices of a dataset class, sorted; ``()`` when it is unmapped."""
    return tuple(e["index"] for e in class_record(dataset, class_name)["imagenet"])


def unmapped(dataset: str) -> tuple[str, ...]:
    """The dataset's classes with no ImageNet counterpart (VOC: ``("person",)``)."""
    return tuple(r["name"] for r in _records(dataset) if "unmapped" in r)


def class_mask(dataset: str) -> np.ndarray:
    """(num dataset classes, 1000) bool: row c marks class c's ImageNet classes (all False if unmapped)."""
    records = _records(dataset)
    mask = np.zeros((len(records), 1000), bool)
    for c, record in enumerate(records):
        mask[c, [e["index"] for e in record["imagenet"]]] = True
    return mask


@dataclasses.dataclass(frozen=True)
class ClassSetTarget:
    """A targets callable: logits (B, C) → (B,) log-sum-exp of the logits of a fixed set of classes.

    Hashable and compared by value, so ``gigjax.explain`` reuses its compiled program whenever the
    same set is asked for again.

    Attributes:
      indices: the class indices (non-empty).
      label: a readable name (e.g. ``"voc:cat"``), not part of the computation.
    """

    indices: tuple[int, ...]
    label: str = dataclasses.field(default="", compare=False)

    def __post_init__(self):
        if not self.indices:
            raise GigjaxError("a class-set target needs at least one class")

    def __call__(self, logits: jax.Array) -> jax.Array:
        if logits.ndim != 2 or max(self.indices) >= logits.shape[-1]:
            raise GigjaxError(f"target {self.label or self.indices} needs (B, C) logits with C > {max(self.indices)}, "
                              f"got shape {tuple(logits.shape)} (is the model an ImageNet-1k classifier?)")
        return jax.nn.logsumexp(logits[:, jnp.asarray(self.indices)], axis=-1)


def logsumexp_target(mask: jax.Array | np.ndarray) -> Callable[[jax.Array], jax.Array]:
    """A targets callable from a boolean mask: logits (B, C) → (B,) ``log Σ_{i: mask_i} exp(logits_i)``.

    ``mask`` is (C,) (one set for every image) or (B, C) (one set per image) and may be a traced
    array, so a per-image target can be built *inside* a jitted function::

        run = jax.jit(lambda model, x, mask: explainer("gradcam")(model, x, logsumexp_target(mask)))

    Every row must select at least one class (an empty row gives −inf).
    """
    mask = jnp.asarray(mask, bool)

    def scores(logits: jax.Array) -> jax.Array:
        if logits.ndim != 2 or mask.shape[-1] != logits.shape[-1] or mask.ndim == 2 and mask.shape[0] != logits.shape[0]:
            raise GigjaxError(f"a class mask of shape {tuple(mask.shape)} does not fit logits {tuple(logits.shape)}")
        return jax.nn.logsumexp(jnp.where(jnp.broadcast_to(mask, logits.shape), logits, -jnp.inf), axis=-1)

    return scores


def target_for(dataset: str, class_name: str) -> ClassSetTarget | None:
    """A ``gigjax`` targets callable for one dataset class (logits (B, 1000) → (B,) log-sum-exp of its
    ImageNet classes' logits), or ``None`` when the class is unmapped.

    Example::

        target = classmap.target_for("voc", "cat")
        maps = gigjax.explain(model, x, "gradcam", targets=target)
    """
    record = class_record(dataset, class_name)
    indices = tuple(e["index"] for e in record["imagenet"])
    return ClassSetTarget(indices, f"{_family(dataset)}:{record['name']}") if indices else None


def targets_for(dataset: str, classes: Sequence[int] | np.ndarray | jax.Array) -> Callable[[jax.Array], jax.Array]:
    """A targets callable for a batch explaining a different dataset class per image (see
    :func:`logsumexp_target`; ``classes`` may be traced).

    Args:
      dataset: ``"voc"`` or ``"coco"``.
      classes: (B,) dataset class indices (into :func:`class_names`).

    Raises:
      GigjaxError: an index out of range or of an unmapped class (checked when ``classes`` is concrete;
        inside ``jit`` an unmapped class gives a −inf score, so check before tracing).
    """
    mask = class_mask(dataset)
    if is_concrete(classes):
        arr = np.asarray(classes)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise GigjaxError(f"classes must be a 1-D int array of dataset class indices, got {arr.dtype} {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= len(mask)):
            raise GigjaxError(f"dataset class index out of range 0..{len(mask) - 1}: {arr.tolist()}")
        empty = sorted({class_names(dataset)[c] for c in arr.tolist() if not mask[c].any()})
        if empty:
            raise GigjaxError(f"{', '.join(empty)} has no ImageNet counterpart (see classmap.unmapped); "
                              f"skip it or use a fine-tuned {_family(dataset).upper()} classifier")
    return logsumexp_target(jnp.asarray(mask)[jnp.asarray(classes)])
