"""``evaluate``: run explainers over a dataset, stream per-image metric results to disk, resume,
shard over devices, and summarise.

Protocol (spec §8):

* Every image is resized as a whole to the model's input size (no crop, so every box stays visible);
  maps come back at that size and are resized to the original image for the localisation metrics.
* Localisation metrics: every ground-truth class of an image is explained (see
  :mod:`gigjax.evaluation.class_targets`) and judged against that class's boxes.
* Confidence metrics (Average Drop, Increase in Confidence, Deletion, Insertion, …): each image's
  top-1 class is explained and the map is applied to the same image.

A run is: validate everything (:func:`gigjax.evaluation.plan.plan_run`), lock the output folder
(:mod:`gigjax.evaluation.lock`), open its results store (checking a resumed run is the same run,
:mod:`gigjax.evaluation.store`), compute the images still pending in batches — each method's results
for a batch committed at once, so an interrupted run loses at most the batch in flight — and
summarise from the stored results (:mod:`gigjax.evaluation.summary`).
"""

from __future__ import annotations

import os
from typing import Sequence

from gigjax.data.source import Dataset
from gigjax.evaluation.examples import save_example
from gigjax.evaluation.identity import run_identity, weights_identity
from gigjax.evaluation.loader import batches
from gigjax.evaluation.lock import RunLock
from gigjax.evaluation.plan import plan_run
from gigjax.evaluation.scoring import BatchScorer
from gigjax.evaluation.sharding import BatchSharding
from gigjax.evaluation.store import ResultStore
from gigjax.evaluation.summary import summarise
from gigjax.models import Model
from gigjax.progress import ProgressBar


class Evaluation:
    """One evaluation run (see :func:`evaluate` for the arguments); everything is validated here,
    before any file is written."""

    def __init__(self, model: Model, dataset: Dataset, methods: Sequence[str], out: str, *,
                 weights_file: str | None = None, devices=None, progress: bool = True, **options):
        self.plan = plan_run(model, dataset, methods, **options)
        self.out = os.fspath(out)
        self.progress = progress
        self.sharding = BatchSharding(devices)
        self.weights = weights_identity(model, weights_file)

    @property
    def count(self) -> int:
        return self.plan.count

    @property
    def methods(self) -> tuple[str, ...]:
        return self.plan.methods

    @property
    def targets(self):
        return self.plan.targets

    def identity(self) -> dict:
        p = self.plan
        return run_identity(dataset=p.dataset, model=p.model, model_id=p.model_id, weights=self.weights,
                            targets=p.targets, settings=p.settings)

    def _image_id(self, index: int) -> str | None:
        return self.plan.dataset.image_id(index) if index < len(self.plan.dataset) else None

    def open_store(self) -> ResultStore:
        """The run's results store, opened (or resumed, after checking it is the same run)."""
        store = ResultStore(self.out)
        store.open(self.identity(), self.plan.options, image_id=self._image_id)
        return store

    def pending(self, store: ResultStore) -> list[int]:
        """Dataset indices with at least one method still to compute."""
        return [i for i in range(self.count) if any(i not in store.done(m) for m in self.methods)]

    def compute(self, indices: Sequence[int], store: ResultStore) -> None:
        """Evaluates every method on ``indices`` (those not yet done), committing batch by batch."""
        p = self.plan
        scorer = BatchScorer(self.sharding.replicate(p.model), p.options, p.settings, p.targets, self.sharding,
                             p.batch_size)
        done = sum(len({i for i in store.done(m) if i < self.count}) for m in self.methods)
        folder = os.path.join(self.out, "examples")
        with ProgressBar(self.count * len(self.methods), done=done, enabled=self.progress) as bar:
            for images in batches(p.dataset, indices, p.batch_size, tuple(p.model.card.input_size), p.on_error):
                for method in self.methods:
                    mine = [im for im in images if im.index not in store.done(method)]
                    if not mine:
                        continue
                    bar.running(method)
                    results, examples = scorer.score(method, mine)
                    store.append(method, results)
                    for im, result in zip(mine, results):
                        if im.index < p.examples and im.error is None:
                            unmapped = [e["class"] for e in result.get("pointing", ()) if e["status"] == "unmapped"]
                            save_example(folder, method, im.index, im.photo, im.record.image_id, unmapped,
                                         examples.get(im.index))
                    bar.advance(len(mine))

    def run(self) -> dict:
        with RunLock(self.out):
            store = self.open_store()
            self.compute(self.pending(store), store)
            return self.summarise(store)

    def summarise(self, store: ResultStore | None = None) -> dict:
        return summarise(self.plan, store or ResultStore(self.out), self.out, self.sharding.count)


def evaluate(model: Model, dataset: Dataset, methods: Sequence[str], out: str, **kwargs) -> dict:
    """Evaluates ``methods`` on ``dataset`` with ``model``; results go to the folder ``out``.

    Args:
      model: a :class:`gigjax.models.Model`.
      dataset: a :class:`gigjax.data.Dataset` (``gigjax.data.open_dataset``).
      methods: registered method names.
      out: output folder; an existing run there is resumed (same data, weights and settings required);
        one process at a time (``run.lock``).
      metrics: metric names (default: :data:`gigjax.metrics.METRICS`; the rows of
        :data:`gigjax.metrics.TABLE`).
      batch_size: images per batch (rounded up to a multiple of the device count).
      limit: evaluate only the first ``limit`` images.
      settings: ``tolerance``, ``masking_space``, ``pixels_per_step``, ``curve_chunk`` (see
        :class:`gigjax.evaluation.Settings`).
      method_options: ``{method: {option: value}}``.
      postprocess: explainer options for every method (``layer``, ``fuse``, ``relu``, ``scales``).
      class_map: ``"auto"``, ``"none"``, ``"imagenet"`` or a function (see
        :func:`gigjax.evaluation.class_targets.resolve_targets`).
      mapped_target: ``"logsumexp"`` (explain a mapped class's score) or ``"top"`` (its top-scoring
        model class; for methods that need class indices, such as Score-CAM).
      examples: how many leading images get example maps in the figure grid.
      on_error: ``"raise"`` (default) stops at an unreadable image (finished results stay on disk);
        ``"skip"`` records it as failed and goes on (it is retried on resume).
      weights_file: the model's weight file; its sha256 enters the run identity (default: a hash of
        the model's parameters).
      devices: devices to shard batches over (default: all local devices).
      progress: show the progress bar on stderr (drawn only on a terminal).
      model_id: how the model is named in the run's identity (default: the card's name).

    Returns:
      The summary dict (also written as ``summary.json``/``.md``/``.csv`` with figures).
    """
    return Evaluation(model, dataset, methods, out, **kwargs).run()
