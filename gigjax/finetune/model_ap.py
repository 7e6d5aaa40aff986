"""The VOC mAP of a multi-label model on a set of records (the validation of a fine-tune).

:func:`average_precision_of` runs the model on every record's centre crop
(:func:`gigjax.finetune.data.read_all`) and scores the logits with
:func:`gigjax.finetune.average_precision.mean_average_precision`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Sequence

import jax
import numpy as np

from gigjax.data.records import Record
from gigjax.finetune.average_precision import METHODS, mean_average_precision
from gigjax.finetune.data import read_all
from gigjax.models import Model
from gigjax.validation import check_choice


@dataclasses.dataclass
class APReport:
    """The mAP of a model on records: ``map`` (NaN when no class has a positive), ``ap`` (C,) with NaN
    for classes without positives, ``undefined`` (their number), ``images``, ``method``, ``logits`` (N, C)."""

    map: float
    ap: np.ndarray
    undefined: int
    images: int
    method: str
    logits: np.ndarray


def _logits_fn(model: Model) -> Callable:
    return jax.jit(lambda variables, crops: model.replace(variables=variables).logits(model.normalize(crops)))


def average_precision_of(model: Model, records: Iterable[Record], *, batch_size: int = 32, method: str = "area",
                         class_names: Sequence[str] | None = None) -> APReport:
    """VOC mAP of a multi-label ``model`` on ``records`` (classes: the model card's unless given)."""
    check_choice(method, "method", METHODS)
    names = tuple(class_names or model.card.class_names)
    fn = _logits_fn(model)
    logits, labels, mask, ids, _ = read_all(records, model.card, names, batch_size,
                                            lambda crops: fn(model.variables, crops))
    mean, ap, undefined = mean_average_precision(logits, labels, mask, method)
    return APReport(float(mean), np.asarray(ap), int(undefined), len(ids), method, logits)
