"""What an evaluation run will do, validated in full before anything is written: the methods and
their options (layers checked against the model), the metric settings, the images, how dataset
classes are explained. :func:`plan_run` builds it; a bad argument is a :class:`GigjaxError` here,
so a typo never leaves a half-made ``--out`` folder behind."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from gigjax.data.source import Dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation.class_targets import ClassMap, ClassTargets, resolve_targets
from gigjax.evaluation.settings import Settings
from gigjax.explain import explainer
from gigjax.metrics import METRICS
from gigjax.models import Model
from gigjax.probe import resolve_layers
from gigjax.registry import get_method
from gigjax.validation import check_choice, check_positive_int

ON_ERROR = ("raise", "skip")
_FIXED = ("raw", "output_size", "normalize")  # set by the protocol: normalised maps at the input size


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """A validated evaluation (see :func:`gigjax.evaluation.evaluate` for the meaning of each field).

    Attributes:
      model, dataset: what is evaluated.
      methods: method names, without repeats.
      options: per method, its explainer options (post-processing merged in).
      settings: the metric settings.
      targets: how dataset classes are explained (None without localisation metrics).
      count: images evaluated (the first ``count`` of the dataset).
      batch_size: images per batch.
      examples: leading images shown in the example grid.
      on_error: ``"raise"`` or ``"skip"``.
      model_id: how the model is named in the run identity.
    """

    model: Model
    dataset: Dataset
    methods: tuple[str, ...]
    options: dict
    settings: Settings
    targets: ClassTargets | None
    count: int
    batch_size: int
    examples: int
    on_error: str
    model_id: str


def _method_options(model: Model, methods: tuple[str, ...], postprocess: dict | None,
                    method_options: dict | None) -> dict:
    post = dict(postprocess or {})
    for forbidden in _FIXED:
        if forbidden in post:
            raise GigjaxError(f"{forbidden}= is fixed by the evaluation protocol (normalised maps at the "
                              f"input size); drop it")
    per_method = method_options or {}
    options = {m: {**post, **per_method.get(m, {})} for m in methods}
    for method, opts in options.items():
        explainer(method, **opts)  # every option, before any work
        if opts.get("layer") is not None and get_method(method).uses_layers:
            resolve_layers(model, opts["layer"])
    return options


def plan_run(model: Model, dataset: Dataset, methods: Sequence[str], *, metrics: Sequence[str] = METRICS,
             batch_size: int = 8, limit: int | None = None, settings: dict | None = None,
             method_options: dict | None = None, postprocess: dict | None = None,
             class_map: str | ClassMap = "auto", mapped_target: str = "logsumexp", examples: int = 4,
             on_error: str = "raise", model_id: str | None = None) -> RunPlan:
    """Validates every argument of an evaluation and returns its :class:`RunPlan`."""
    if not isinstance(model, Model):
        raise GigjaxError(f"model must be a gigjax Model, got {type(model).__name__}")
    methods = tuple(dict.fromkeys(methods))
    if not methods:
        raise GigjaxError("no method given")
    for method in methods:
        get_method(method)
    run_settings = Settings(metrics=tuple(metrics), **(settings or {}))
    check_positive_int(batch_size, "batch size")
    if limit is not None:
        check_positive_int(limit, "limit")
    check_choice(on_error, "on_error", ON_ERROR)
    if len(dataset) == 0:
        raise GigjaxError(f"{dataset.name}: the dataset has no images")
    options = _method_options(model, methods, postprocess, method_options)
    targets = None
    if run_settings.localization_metrics:
        if dataset.family == "imagenet" and getattr(dataset, "boxes", None) is None:
            raise GigjaxError("imagenet2012 carries no boxes in TFDS: give the ILSVRC validation box XML "
                              "folder (--boxes / boxes=) or drop the localisation metrics "
                              f"({', '.join(run_settings.localization_metrics)})")
        targets = resolve_targets(dataset.class_names, dataset.family, model.card.class_names, class_map,
                                  mapped_target)
        _check_class_index_methods(methods, targets)
    return RunPlan(model=model, dataset=dataset, methods=methods, options=options, settings=run_settings,
                   targets=targets, count=len(dataset) if limit is None else min(limit, len(dataset)),
                   batch_size=batch_size, examples=max(0, int(examples)), on_error=on_error,
                   model_id=model_id or model.card.name)


def _check_class_index_methods(methods: Sequence[str], targets: ClassTargets) -> None:
    """Refuses, before any work, a method that explains one class index per image (Score-CAM, CAM, …)
    under a class map whose classes are scores (the log-sum-exp of several model classes)."""
    if targets.mode != "mapped" or targets.mapped_target != "logsumexp":
        return
    needing = [m for m in methods if get_method(m).class_index]
    if needing:
        raise GigjaxError(
            f"{', '.join(needing)} explain{'s' if len(needing) == 1 else ''} one model class per image, but here each "
            f"dataset class stands for several model classes and is explained through one score over them "
            f"({targets.description}): give --mapped-target top (mapped_target='top') to explain each class's "
            f"highest-scoring model class instead, or drop the pointing metrics for "
            f"{'this method' if len(needing) == 1 else 'these methods'}")
