"""One method on one batch of loaded images → the per-image result dicts that
:class:`gigjax.evaluation.store.ResultStore` commits (layout: :mod:`gigjax.metrics.aggregate`).

* Confidence family: each image's top-1 class is explained; every confidence metric's outputs are
  stored on the image's result.
* Localisation family: every ground-truth class of an image is explained (one *pair* per class,
  through :class:`gigjax.evaluation.class_targets.ClassTargets`) and judged against its boxes; each
  pair's outputs are stored in the image's ``"pointing"`` entry for that class. Classes whose boxes
  are all "difficult", and classes the model cannot explain ("unmapped"), get an entry with that
  status and no values.

Pairs are cut into device batches of the run's batch size, so memory does not grow with the number
of classes per image.

In a distributed run each process scores its own images (its block of the global batch, see
:mod:`gigjax.evaluation.sharding`) and every process makes the same jitted calls with the same
shapes: the number of pair batches, their box slots and canvas size are agreed between the
processes (:func:`gigjax.distributed.agreed_max`), and a process with nothing to score feeds padding.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gigjax.distributed import agreed_max
from gigjax.evaluation import jitted
from gigjax.evaluation.class_targets import ClassTargets
from gigjax.evaluation.loader import LoadedImage
from gigjax.evaluation.settings import Settings
from gigjax.evaluation.sharding import BatchSharding
from gigjax.metrics import metric


def stored(value: np.ndarray):
    """One image's (or pair's) output as JSON-ready data: a scalar → int/float, a vector → list
    (floats rounded to 6 decimals)."""
    value = np.asarray(value)
    integer = np.issubdtype(value.dtype, np.integer) or value.dtype == bool
    if value.ndim == 0:
        return int(value) if integer else float(value)
    return [int(v) for v in value] if integer else [round(float(v), 6) for v in value]


@dataclasses.dataclass(frozen=True)
class ExampleMap:
    """The first map computed for an image (for the example grid) and the class it explains."""

    heat: np.ndarray   # (H, W) in [0, 1] at the model input
    explained: str


@dataclasses.dataclass
class BatchScorer:
    """Scores batches for one run: ``score(method, images) → (results, example maps)``.

    Attributes:
      model: the model, replicated over the sharding's devices.
      options: per method, its explainer options.
      settings: the run's metric settings.
      targets: how dataset classes are explained (None without localisation metrics).
      sharding: where batches run.
      batch_size: images (or pairs) per global batch (rounded up to the device count).
    """

    model: object
    options: dict
    settings: Settings
    targets: ClassTargets | None
    sharding: BatchSharding
    batch_size: int

    def score(self, method: str, images: list[LoadedImage]) -> tuple[list[dict], dict[int, ExampleMap]]:
        results = {im.index: {"index": im.index} for im in images}
        good = []
        for im in images:
            if im.error is not None:
                results[im.index]["error"] = im.error
            else:
                results[im.index]["image_id"] = im.record.image_id
                good.append(im)
        examples: dict[int, ExampleMap] = {}
        run = bool(good) or self.sharding.multiprocess  # every process joins every jitted call
        if run and self.settings.confidence_metrics:
            self._confidence(method, good, results, examples)
        if run and self.settings.localization_metrics:
            self._localization(method, good, results, examples)
        return [results[im.index] for im in images], examples

    def _photos(self, images: list[LoadedImage]) -> np.ndarray:
        """(n, H, W, 3) normalised model inputs (n may be 0)."""
        h, w = self.model.card.input_size
        photos = [im.photo for im in images]
        return self.model.normalize(np.stack(photos) if photos else np.zeros((0, h, w, 3), np.uint8))

    def _confidence(self, method: str, images: list[LoadedImage], results: dict, examples: dict) -> None:
        n, size = len(images), self.sharding.round_up(self.batch_size)
        program = jitted.confidence_program(method, self.options[method], self.settings)
        indices = np.asarray([im.index for im in images], np.int32)
        placed = self.sharding.put({"x": self._photos(images), "indices": indices}, size)
        out = self.sharding.fetch(program(self.model, **placed), n)
        maps = out.pop("maps")
        names = self.model.card.class_names
        for k, im in enumerate(images):
            r = results[im.index]
            r.update({key: stored(value[k]) for key, value in out.items()})
            r["pred_name"] = names[r["pred"]]
            examples.setdefault(im.index, ExampleMap(maps[k], f"{r['pred_name']} (top-1)"))

    def _pairs(self, images: list[LoadedImage], results: dict) -> list[tuple]:
        """(image, target entry, the class's boxes, its result entry) for every explainable class."""
        pairs, keys = [], [metric(m).key for m in self.settings.localization_metrics]
        for im in images:
            rec = im.record
            entries = results[im.index]["pointing"] = []
            for c in rec.labels:
                mine = rec.box_labels == c
                entry = {"class": rec.class_names[c], "status": "ok", **{key: None for key in keys}}
                entries.append(entry)
                if mine.any() and rec.difficult[mine].all():
                    entry["status"] = "difficult"
                elif self.targets.entry[c] is None:
                    entry["status"] = "unmapped"
                else:
                    pairs.append((im, self.targets.entry[c], rec.boxes[mine], entry))
        return pairs

    def _pair_batches(self, pairs: list[tuple], size: int) -> list[tuple[list[tuple], int, int]]:
        """This process's pairs cut into its blocks of the global pair batches, each with the box
        slots and canvas side agreed by every process: [(pairs, slots, side)]."""
        rows = self.sharding.local_rows(size)
        block = rows.stop - rows.start
        count = int(agreed_max([-(-len(pairs) // block)])[0])
        chunks = [pairs[k * block:(k + 1) * block] for k in range(count)]
        local = [[max((len(p[2]) for p in c), default=0),
                  max((max(p[0].record.image.shape[:2]) for p in c), default=1)] for c in chunks]
        agreed = agreed_max(np.asarray(local, np.int64).reshape(count, 2))
        return [(c, jitted.box_slots(int(b)), int(side)) for c, (b, side) in zip(chunks, agreed)]

    def _localization(self, method: str, images: list[LoadedImage], results: dict, examples: dict) -> None:
        pairs = self._pairs(images, results)
        size = self.sharding.round_up(self.batch_size)
        explain_pairs = jitted.localization_program(method, self.options[method], self.targets)
        for chunk, slots, side in self._pair_batches(pairs, size):
            n = len(chunk)
            boxes = np.zeros((n, slots, 4), np.float32)
            valid = np.zeros((n, slots), bool)
            for k, (_, _, b, _) in enumerate(chunk):
                boxes[k, :len(b)] = b
                valid[k, :len(b)] = True
            sizes = np.asarray([p[0].record.image.shape[:2] for p in chunk], np.int32).reshape(n, 2)
            host = {"x": self._photos([p[0] for p in chunk]), "ids": np.asarray([p[1] for p in chunk], np.int32),
                    "boxes": boxes, "valid": valid, "sizes": sizes}
            dev = self.sharding.put(host, size)
            maps = explain_pairs(self.model, dev["x"], dev["ids"])
            out = self.sharding.fetch(jitted.localization_metrics(
                maps, dev["sizes"], dev["boxes"], dev["valid"], canvas=jitted.canvas_size(np.asarray([side])),
                settings=self.settings), n)
            maps = self.sharding.fetch(maps, n)
            for k, (im, _, _, entry) in enumerate(chunk):
                entry.update({key: stored(value[k]) for key, value in out.items()})
                examples.setdefault(im.index, ExampleMap(maps[k], entry["class"]))
