"""Streaming aggregation of per-image metric results (host side, across batches).

Each image contributes one *result* dict per method (the form :mod:`gigjax.evaluation` writes to
disk, JSON-ready, NaN written as ``None``):

* ``"pointing"``: a list with one entry per ground-truth class of the image,
  ``{"class": name, "status": "ok" | "difficult" | "unmapped", "hit": 1.0 | 0.0 | None,
  "energy": float | None}`` (``None`` = NaN: a blank map or a class with no box pixel);
* ``"average_drop"``, ``"increase_in_confidence"`` (percent), ``"deletion"``, ``"insertion"``
  (AUC in [0, 1]) — floats or ``None``;
* ``"deletion_curve"``, ``"insertion_curve"``: lists of probabilities;
* ``"error"``: a message when the image could not be evaluated (it then counts as failed).

NaN values are excluded from every mean and counted (``"nan"``). The Pointing Game is the mean over
classes of hits / (hits + misses) (TorchRay, Zhang et al.); its per-image mean (mean over images of
the image's hit rate) is reported beside it as ``"per_image"``. Classes whose boxes are all
"difficult" are skipped (``"skipped_difficult"``); classes the model cannot explain (no ImageNet
counterpart under a class map) are ``"unmapped"``, listed per class, never dropped silently.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from gigjax.errors import GigjaxError

LOCALIZATION = ("pointing_game", "energy_pointing_game")
CONFIDENCE = ("average_drop", "increase_in_confidence")
CAUSAL = ("deletion", "insertion")
METRICS = LOCALIZATION + CONFIDENCE + CAUSAL

#: How each metric reads in a table: (column title, scale, "higher"/"lower" is better).
DISPLAY = {
    "pointing_game": ("Pointing Game %", 100.0, "higher"),
    "energy_pointing_game": ("Energy PG %", 100.0, "higher"),
    "average_drop": ("Average Drop %", 1.0, "lower"),
    "increase_in_confidence": ("Increase in Conf. %", 1.0, "higher"),
    "deletion": ("Deletion AUC", 1.0, "lower"),
    "insertion": ("Insertion AUC", 1.0, "higher"),
}


def _is_nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class _Mean:
    """Running mean of finite values; NaN/None values are counted apart."""

    def __init__(self):
        self.total, self.count, self.nan = 0.0, 0, 0

    def add(self, value) -> None:
        if _is_nan(value):
            self.nan += 1
        else:
            self.total += float(value)
            self.count += 1

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def as_dict(self, scale: float = 1.0) -> dict:
        return {"value": self.value * scale, "n": self.count, "nan": self.nan}


class Aggregator:
    """Accumulates one method's per-image results; :meth:`summary` gives the figures."""

    def __init__(self, metrics: Iterable[str]):
        self.metrics = tuple(metrics)
        unknown = sorted(set(self.metrics) - set(METRICS))
        if unknown:
            raise GigjaxError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(METRICS)}")
        self.images = 0
        self.failed = 0
        self._hits: dict[str, list[int]] = {}       # class → [hits, misses]
        self._pg_nan = 0
        self._difficult = 0
        self._unmapped: dict[str, int] = {}
        self._per_image = _Mean()
        self._means = {m: _Mean() for m in ("energy_pointing_game",) + CONFIDENCE + CAUSAL}
        self._curves: dict[str, list] = {m: [None, 0] for m in CAUSAL}  # sum, count

    def add(self, result: dict) -> None:
        """Adds one image's result dict (see the module docstring)."""
        self.images += 1
        if result.get("error"):
            self.failed += 1
            return
        if any(m in self.metrics for m in LOCALIZATION):
            self._add_pointing(result.get("pointing", ()))
        for name in CONFIDENCE + CAUSAL:
            if name in self.metrics:
                self._means[name].add(result.get(name))
        for name in CAUSAL:
            curve = result.get(f"{name}_curve")
            if name in self.metrics and curve is not None and not any(_is_nan(v) for v in curve):
                total, n = self._curves[name]
                arr = np.asarray(curve, np.float64)
                self._curves[name] = [arr if total is None else total + arr, n + 1]

    def _add_pointing(self, entries) -> None:
        image_hits = []
        for entry in entries:
            name, status = entry["class"], entry["status"]
            if status == "difficult":
                self._difficult += 1
                continue
            if status == "unmapped":
                self._unmapped[name] = self._unmapped.get(name, 0) + 1
                continue
            self._means["energy_pointing_game"].add(entry.get("energy"))
            hit = entry.get("hit")
            if _is_nan(hit):
                self._pg_nan += 1
                continue
            counts = self._hits.setdefault(name, [0, 0])
            counts[0 if hit >= 0.5 else 1] += 1
            image_hits.append(1.0 if hit >= 0.5 else 0.0)
        if image_hits:
            self._per_image.add(sum(image_hits) / len(image_hits))

    def summary(self) -> dict:
        """{metric: {"value": …, "n": …, "nan": …, …}} plus ``"images"`` and ``"failed"`` counts."""
        out: dict = {"images": self.images, "failed": self.failed}
        if "pointing_game" in self.metrics:
            per_class = {c: {"hits": h, "misses": m, "accuracy": 100.0 * h / (h + m)}
                         for c, (h, m) in sorted(self._hits.items())}
            accuracies = [v["accuracy"] for v in per_class.values()]
            out["pointing_game"] = {
                "value": float(np.mean(accuracies)) if accuracies else float("nan"),
                "per_image": self._per_image.value * 100.0,
                "n": sum(h + m for h, m in self._hits.values()),
                "nan": self._pg_nan,
                "skipped_difficult": self._difficult,
                "unmapped": dict(sorted(self._unmapped.items())),
                "classes": per_class,
            }
        if "energy_pointing_game" in self.metrics:
            out["energy_pointing_game"] = {**self._means["energy_pointing_game"].as_dict(100.0),
                                           "skipped_difficult": self._difficult,
                                           "unmapped": dict(sorted(self._unmapped.items()))}
        for name in CONFIDENCE:
            if name in self.metrics:
                out[name] = self._means[name].as_dict()
        for name in CAUSAL:
            if name in self.metrics:
                total, n = self._curves[name]
                out[name] = {**self._means[name].as_dict(),
                             "curve": (total / n).tolist() if n else []}
        return out
