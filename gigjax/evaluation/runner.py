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

Distributed (``jax.process_count() > 1``, see :mod:`gigjax.distributed`): every process runs the same
loop over the same global batches (:mod:`gigjax.evaluation.sharding`), reading, scoring and storing
only its block of each, in its own ``results.p<I>.jsonl`` under its own ``run.p<I>.lock``; process 0
writes ``run.json`` and, once every process has finished its share, the summary, which every process
then returns (``summary["files"]`` included). The processes agree at the start on what is done (the
union of every share's finished results), so each one resumes after a kill from its own file and an
image is never computed twice. The process count is part of the run's identity: a folder is resumed
with the same count (another count is refused, naming both).
"""

from __future__ import annotations

import os
from typing import Sequence

import jax
import numpy as np

from gigjax.data.source import Dataset
from gigjax.distributed import agreed_any, barrier, from_process_0, together
from gigjax.errors import GigjaxError
from gigjax.evaluation.examples import save_example
from gigjax.evaluation.identity import run_identity, weights_identity
from gigjax.evaluation.loader import read_chunks
from gigjax.evaluation.lock import LOCK, RunLock
from gigjax.evaluation.plan import plan_run
from gigjax.evaluation.scoring import BatchScorer
from gigjax.evaluation.sharding import BatchSharding
from gigjax.evaluation.store import ResultStore, SharedResults, results_file
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
        self.process, self.processes = jax.process_index(), jax.process_count()
        spanned = {d.process_index for d in self.sharding.devices}
        if spanned != set(range(self.processes)):
            raise GigjaxError(f"a distributed evaluation needs devices of every one of its {self.processes} "
                              f"processes, got devices of process(es) {sorted(spanned)}")

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
        identity = run_identity(dataset=p.dataset, model=p.model, model_id=p.model_id, weights=self.weights,
                                targets=p.targets, settings=p.settings)
        return identity if self.processes == 1 else {**identity, "processes": self.processes}

    def _image_id(self, index: int) -> str | None:
        return self.plan.dataset.image_id(index) if index < len(self.plan.dataset) else None

    def open_store(self) -> ResultStore:
        """This process's results store, opened (or resumed, after checking it is the same run);
        in a distributed run process 0 opens first (it writes ``run.json``), then the others."""
        store = ResultStore(self.out, results_file(self.process, self.processes), writes_manifest=self.process == 0)
        for turn in (True, False) if self.processes > 1 else (True,):
            with together("opening the results"):
                if turn == (self.process == 0):
                    store.open(self.identity(), self.plan.options, image_id=self._image_id)
        return store

    def finished(self, store: ResultStore) -> np.ndarray:
        """(methods, count) bool: each image's result per method is stored (by any process)."""
        done = np.zeros((len(self.methods), self.count), bool)
        for m, method in enumerate(self.methods):
            done[m, [i for i in store.done(method) if i < self.count]] = True
        return agreed_any(done)

    def compute(self, done: np.ndarray, store: ResultStore) -> None:
        """Evaluates every method on the images not yet ``done`` (see :meth:`finished`), committing
        batch by batch; every process walks the same global batches and computes its block of each."""
        p = self.plan
        scorer = BatchScorer(self.sharding.replicate(p.model), p.options, p.settings, p.targets, self.sharding,
                             p.batch_size)
        size = self.sharding.round_up(p.batch_size)
        pending = np.flatnonzero(~done.all(axis=0)).tolist()
        chunks = [pending[i:i + size] for i in range(0, len(pending), size)]
        rows = self.sharding.local_rows(size)
        folder = os.path.join(self.out, "examples")
        with ProgressBar(done.size, done=int(done.sum()), enabled=self.progress and self.process == 0) as bar:
            loaded = read_chunks(p.dataset, [c[rows] for c in chunks], tuple(p.model.card.input_size), p.on_error)
            for chunk, images in zip(chunks, loaded):
                for m, method in enumerate(self.methods):
                    if done[m, chunk].all():  # the same decision on every process
                        continue
                    bar.running(method)
                    mine = [im for im in images if not done[m, im.index]]
                    results, examples = scorer.score(method, mine)
                    if results:
                        store.append(method, results)
                    for im, result in zip(mine, results):
                        if im.index < p.examples and im.error is None:
                            unmapped = [e["class"] for e in result.get("pointing", ()) if e["status"] == "unmapped"]
                            save_example(folder, method, im.index, im.photo, im.record.image_id, unmapped,
                                         examples.get(im.index))
                    bar.advance(int((~done[m, chunk]).sum()))

    def run(self) -> dict:
        lock = RunLock(self.out, LOCK if self.processes == 1 else f"run.p{self.process}.lock")
        try:
            with together("locking the output folder"):
                lock.acquire()
            store = self.open_store()
            self.compute(self.finished(store), store)
            if self.processes == 1:
                return self.summarise(store)
            barrier("gigjax-evaluate-shares-done")
            summary = None
            with together("writing the summary"):
                if self.process == 0:
                    summary = self.summarise()
            return from_process_0(summary)
        finally:
            lock.release()

    def summarise(self, store: ResultStore | None = None) -> dict:
        """Writes the summary of every stored result (all processes' shares) and returns it."""
        if store is None:
            store = ResultStore(self.out) if self.processes == 1 else SharedResults(self.out, self.processes)
        return summarise(self.plan, store, self.out, self.sharding.count)


def evaluate(model: Model, dataset: Dataset, methods: Sequence[str], out: str, **kwargs) -> dict:
    """Evaluates ``methods`` on ``dataset`` with ``model``; results go to the folder ``out``.

    Args:
      model: a :class:`gigjax.models.Model`.
      dataset: a :class:`gigjax.data.Dataset` (``gigjax.data.open_dataset``).
      methods: registered method names.
      out: output folder; an existing run there is resumed (same data, weights and settings required);
        one process at a time (``run.lock``). In a distributed job (:mod:`gigjax.distributed`) every
        process gives the same arguments and the same ``out``, a folder they all see.
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
      devices: devices to shard batches over (default: every device of every process).
      progress: show the progress bar on stderr (drawn only on a terminal).
      model_id: how the model is named in the run's identity (default: the card's name).

    Returns:
      The summary dict (also written as ``summary.json``/``.md``/``.csv`` with figures).
    """
    return Evaluation(model, dataset, methods, out, **kwargs).run()
