"""``evaluate``: run explainers over a dataset, stream per-image metric results to disk, resume,
shard over devices, and summarise.

Protocol (spec §8):

* Every image is resized as a whole to the model's input size (no crop, so every box stays visible);
  maps come back at that size and are resized to the original image for the localisation metrics.
* Localisation (Pointing Game, Energy PG): every ground-truth class of an image is explained (see
  :mod:`gigjax.evaluation.targets`) and judged against that class's boxes.
* Confidence and causal metrics (Average Drop, Increase in Confidence, Deletion, Insertion): each
  image's top-1 class is explained and the map is applied to the same image.

Work is done in batches of images; each method's results for a batch are committed to
``results.jsonl`` at once (see :mod:`gigjax.evaluation.store`), so an interrupted run resumes where it
stopped and loses at most the batch in flight. The summary is always computed from the stored
results, so a resumed run summarises exactly like an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import sys
import threading
import time
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

from gigjax import metrics as M
from gigjax.data.records import Record
from gigjax.data.source import Dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation import steps
from gigjax.evaluation.report import write_reports
from gigjax.evaluation.sharding import BatchSharding, fetch
from gigjax.evaluation.store import ResultStore
from gigjax.evaluation.targets import ClassMap, ClassTargets, resolve_targets
from gigjax.explain import explainer
from gigjax.models import Model
from gigjax.registry import get_method
from gigjax.validation import check_choice, check_positive_int

ON_ERROR = ("raise", "skip")


@dataclasses.dataclass
class _Item:
    index: int
    record: Record | None = None
    photo: np.ndarray | None = None  # the whole image resized to the model input, uint8
    error: str | None = None


def stretch(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The whole photo resized to ``size`` (H, W), bilinear with antialiasing (PIL), uint8."""
    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.Resampling.BILINEAR))


def _load(dataset: Dataset, index: int, size, on_error: str) -> _Item:
    try:
        record = dataset[index]
        return _Item(index, record, stretch(record.image, size))
    except GigjaxError as exc:
        if on_error == "raise":
            raise
        return _Item(index, error=str(exc))


def _batches(dataset: Dataset, indices: Sequence[int], size: int, input_size, on_error: str) -> Iterable[list]:
    """Yields lists of loaded items, reading the next batch in a background thread."""
    chunks = [indices[i:i + size] for i in range(0, len(indices), size)]
    q: queue.Queue = queue.Queue(maxsize=2)

    def work():
        try:
            for chunk in chunks:
                q.put([_load(dataset, i, input_size, on_error) for i in chunk])
        except BaseException as exc:  # handed to the main thread
            q.put(exc)

    threading.Thread(target=work, daemon=True).start()
    for _ in chunks:
        got = q.get()
        if isinstance(got, BaseException):
            raise got
        yield got


class _Progress:
    """One stderr line: images done / total, images per second, time left."""

    def __init__(self, total: int, already: int, stream=None, enabled: bool = True):
        self.total, self.done, self.stream = total, already, stream or sys.stderr
        self.start, self.fresh, self.enabled, self.last = time.monotonic(), 0, enabled, 0.0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, n: int) -> None:
        self.done += n
        self.fresh += n
        now = time.monotonic()
        if not self.enabled or (not self.tty and now - self.last < 5.0 and self.done < self.total):
            return
        self.last = now
        rate = self.fresh / max(now - self.start, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = time.strftime("%H:%M:%S", time.gmtime(left)) if np.isfinite(left) else "--:--:--"
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} images  "
                f"{rate:.2f} img/s  ETA {eta}")
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _save_png(path: str, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.png"
    Image.fromarray(array).save(tmp, format="PNG")
    os.replace(tmp, path)


def _map_png(heat: np.ndarray) -> np.ndarray:
    return (np.clip(np.nan_to_num(heat), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class Evaluation:
    """One evaluation run (see :func:`evaluate` for the arguments)."""

    def __init__(self, model: Model, dataset: Dataset, methods: Sequence[str], out: str, *,
                 metrics: Sequence[str] = M.METRICS, batch_size: int = 8, limit: int | None = None,
                 settings: dict | None = None, method_options: dict | None = None,
                 postprocess: dict | None = None, class_map: str | ClassMap = "auto",
                 mapped_target: str = "logsumexp", examples: int = 4,
                 on_error: str = "raise", devices=None, progress: bool = True, model_id: str | None = None):
        if not isinstance(model, Model):
            raise GigjaxError(f"model must be a gigjax Model, got {type(model).__name__}")
        self.model, self.dataset, self.out = model, dataset, os.fspath(out)
        self.methods = tuple(dict.fromkeys(methods))
        if not self.methods:
            raise GigjaxError("no method given")
        for method in self.methods:
            get_method(method)
        metrics = tuple(dict.fromkeys(metrics))
        unknown = [m for m in metrics if m not in M.METRICS]
        if unknown or not metrics:
            raise GigjaxError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; "
                              f"known: {', '.join(M.METRICS)}")
        self.settings = steps.Settings(metrics=metrics, **(settings or {}))
        check_choice(self.settings.masking_space, "masking space", M.SPACES)
        check_positive_int(self.settings.step, "step")
        check_positive_int(self.settings.chunk, "chunk")
        if isinstance(self.settings.tolerance, bool) or not isinstance(self.settings.tolerance, int) \
                or self.settings.tolerance < 0:
            raise GigjaxError(f"tolerance must be a non-negative integer (pixels), got {self.settings.tolerance!r}")
        self.batch_size = check_positive_int(batch_size, "batch size")
        if limit is not None:
            check_positive_int(limit, "limit")
        self.count = len(dataset) if limit is None else min(limit, len(dataset))
        check_choice(on_error, "on_error", ON_ERROR)
        self.on_error = on_error
        self.examples = max(0, int(examples))
        self.progress = progress
        post = dict(postprocess or {})
        for forbidden in ("raw", "output_size", "normalize"):
            if forbidden in post:
                raise GigjaxError(f"{forbidden}= is fixed by the evaluation protocol (normalised maps at the "
                                  f"input size); drop it")
        per_method = method_options or {}
        self.options = {m: {**post, **per_method.get(m, {})} for m in self.methods}
        for method, opts in self.options.items():
            explainer(method, **opts)  # validates every option now, before any work
        self.targets: ClassTargets | None = None
        if self.settings.localization_metrics:
            if dataset.family == "imagenet" and getattr(dataset, "boxes", None) is None:
                raise GigjaxError("imagenet2012 carries no boxes in TFDS: give the ILSVRC validation box XML "
                                  "folder (--boxes / boxes=) or drop pointing_game and energy_pointing_game")
            self.targets = resolve_targets(dataset.class_names, dataset.family, model.card.class_names, class_map,
                                           mapped_target)
        self.sharding = BatchSharding(devices)
        self.model_id = model_id or model.card.name
        self.input_size = tuple(model.card.input_size)

    # -- identity --------------------------------------------------------------------------------
    def identity(self) -> dict:
        return {"dataset": self.dataset.name, "dataset_images": len(self.dataset), "model": self.model_id,
                "classes": self.model.card.num_classes, "input": list(self.input_size),
                "targets": self.targets.description if self.targets else None, **self.settings.identity()}

    # -- one batch -------------------------------------------------------------------------------
    def _normalized(self, photos: np.ndarray) -> np.ndarray:
        mean = np.asarray(self.model.card.mean, np.float32) * 255.0
        std = np.asarray(self.model.card.std, np.float32) * 255.0
        return (photos.astype(np.float32) - mean) / std

    def _confidence(self, method: str, items: list[_Item], results: dict, maps_out: dict) -> None:
        n, size = len(items), self.sharding.round_up(self.batch_size)
        x = self._normalized(np.stack([it.photo for it in items]))
        step = steps.confidence_step(method, self.options[method], self.settings)
        out = fetch(step(self._model, **self.sharding.put({"x": x}, size)), n)
        names = self.model.card.class_names
        for k, it in enumerate(items):
            r = results[it.index]
            r["pred"] = int(out["pred"][k])
            r["pred_name"] = names[r["pred"]]
            r["y"] = float(out["y"][k])
            if "o" in out:
                r["o"] = float(out["o"][k])
            for m in self.settings.confidence_metrics:
                r[m] = float(out[m][k])
                if m in M.CAUSAL:
                    r[f"{m}_curve"] = [round(float(v), 6) for v in out[f"{m}_curve"][k]]
            maps_out.setdefault(it.index, out["maps"][k])

    def _pairs(self, items: list[_Item], results: dict) -> list[tuple]:
        pairs = []
        for it in items:
            rec = it.record
            entries = results[it.index]["pointing"] = []
            for c in rec.labels:
                mine = rec.box_labels == c
                entry = {"class": rec.class_names[c], "status": "ok", "hit": None, "energy": None}
                entries.append(entry)
                if mine.any() and rec.difficult[mine].all():
                    entry["status"] = "difficult"
                elif self.targets.entry[c] is None:
                    entry["status"] = "unmapped"
                else:
                    pairs.append((it, self.targets.entry[c], rec.boxes[mine], entry))
        return pairs

    def _localization(self, method: str, items: list[_Item], results: dict, maps_out: dict) -> None:
        pairs = self._pairs(items, results)
        size = self.sharding.round_up(self.batch_size)
        explain_step = steps.localization_step(method, self.options[method], self.targets)
        for start in range(0, len(pairs), size):
            chunk = pairs[start:start + size]
            n = len(chunk)
            slots = steps.box_slots(max(len(p[2]) for p in chunk))
            boxes = np.zeros((n, slots, 4), np.float32)
            valid = np.zeros((n, slots), bool)
            for k, (_, _, b, _) in enumerate(chunk):
                boxes[k, :len(b)] = b
                valid[k, :len(b)] = True
            sizes = np.asarray([p[0].record.image.shape[:2] for p in chunk], np.int32)
            host = {"x": self._normalized(np.stack([p[0].photo for p in chunk])),
                    "ids": np.asarray([p[1] for p in chunk], np.int32),
                    "boxes": boxes, "valid": valid, "sizes": sizes}
            dev = self.sharding.put(host, size)
            maps = explain_step(self._model, dev["x"], dev["ids"])
            out = fetch(steps.localization_metrics(maps, dev["sizes"], dev["boxes"], dev["valid"],
                                                   canvas=steps.canvas_size(sizes),
                                                   tolerance=self.settings.tolerance), n)
            maps = np.asarray(maps)[:n]
            for k, (it, _, _, entry) in enumerate(chunk):
                entry["hit"] = float(out["hit"][k])
                entry["energy"] = float(out["energy"][k])
                entry["point"] = [int(v) for v in out["point"][k]]
                maps_out.setdefault(it.index, maps[k])

    def _run_method(self, method: str, items: list[_Item]) -> list[dict]:
        results = {it.index: {"index": it.index} for it in items}
        good = []
        for it in items:
            if it.error is not None:
                results[it.index]["error"] = it.error
            else:
                results[it.index]["image_id"] = it.record.image_id
                good.append(it)
        maps: dict[int, np.ndarray] = {}
        if good and self.settings.confidence_metrics:
            self._confidence(method, good, results, maps)
        if good and self.settings.localization_metrics:
            self._localization(method, good, results, maps)
        for it in good:
            if it.index < self.examples and it.index in maps:
                folder = os.path.join(self.out, "examples")
                _save_png(os.path.join(folder, method, f"{it.index}.png"), _map_png(maps[it.index]))
                photo = os.path.join(folder, "photos", f"{it.index}.png")
                if not os.path.isfile(photo):
                    _save_png(photo, it.photo)
        return [results[it.index] for it in items]

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> dict:
        store = ResultStore(self.out)
        store.open(self.identity(), self.options)
        indices = range(self.count)
        todo = [i for i in indices if any(i not in store.done(m) for m in self.methods)]
        self._model = self.sharding.replicate(self.model)
        progress = _Progress(self.count, self.count - len(todo), enabled=self.progress)
        try:
            for items in _batches(self.dataset, todo, self.batch_size, self.input_size, self.on_error):
                for method in self.methods:
                    mine = [it for it in items if it.index not in store.done(method)]
                    if mine:
                        store.append(method, self._run_method(method, mine))
                progress.update(len(items))
        finally:
            progress.close()
        return self.summarise(store)

    def summarise(self, store: ResultStore | None = None) -> dict:
        store = store or ResultStore(self.out)
        summary = {"dataset": self.dataset.name, "model": self.model_id, "images": self.count,
                   "metrics": list(self.settings.metrics), "settings": self.settings.identity(),
                   "targets": self.targets.description if self.targets else "", "devices": self.sharding.count,
                   "methods": {}, "options": self.options}
        if any(m in self.settings.metrics for m in M.CAUSAL):
            h, w = self.input_size
            summary["fractions"] = M.fractions(h * w, self.settings.step).tolist()
        for method in self.methods:
            agg = M.Aggregator(self.settings.metrics)
            for r in store.results(method):
                if r["index"] < self.count:
                    agg.add(r)
            summary["methods"][method] = agg.summary()
        summary["files"] = write_reports(self.out, summary, range(min(self.examples, self.count)))
        return summary


def evaluate(model: Model, dataset: Dataset, methods: Sequence[str], out: str, **kwargs) -> dict:
    """Evaluates ``methods`` on ``dataset`` with ``model``; results go to the folder ``out``.

    Args:
      model: a :class:`gigjax.models.Model`.
      dataset: a :class:`gigjax.data.Dataset` (``gigjax.data.open_dataset``).
      methods: registered method names.
      out: output folder; an existing run there is resumed (same settings required).
      metrics: metric names (default: all six, :data:`gigjax.metrics.METRICS`).
      batch_size: images per batch (rounded up to a multiple of the device count).
      limit: evaluate only the first ``limit`` images.
      settings: ``tolerance``, ``masking_space``, ``step``, ``chunk`` (see :class:`steps.Settings`).
      method_options: ``{method: {option: value}}``.
      postprocess: explainer options for every method (``layer``, ``fuse``, ``relu``, ``scales``).
      class_map: ``"auto"``, ``"none"``, ``"imagenet"`` or a function (see
        :func:`gigjax.evaluation.targets.resolve_targets`).
      mapped_target: ``"logsumexp"`` (explain a mapped class's score) or ``"top"`` (its top-scoring
        model class; for methods that need class indices, such as Score-CAM).
      examples: how many leading images get example maps in the figure grid.
      on_error: ``"raise"`` (default) stops at an unreadable image (finished results stay on disk);
        ``"skip"`` records it as failed and goes on (it is retried on resume).
      devices: devices to shard batches over (default: all local devices).
      progress: print the progress line on stderr.
      model_id: how the model is named in the run's identity (default: the card's name).

    Returns:
      The summary dict (also written as ``summary.json``/``.md``/``.csv`` with figures).
    """
    return Evaluation(model, dataset, methods, out, **kwargs).run()
