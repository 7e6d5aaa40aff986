"""How a metric's per-image results become its figure: the accumulators a table row names in its
``aggregate`` field (host side, streaming over batches).

Every accumulator is built from its :class:`gigjax.metrics.table.Metric` row, takes one image's
result dict at a time (:meth:`Accumulator.add`; failed images never reach it), and gives the
metric's summary entry (:meth:`Accumulator.summary`, at least ``{"value", "n", "nan"}``) and the
notes the report prints about it (:meth:`Accumulator.notes`).

NaN (``None`` on disk) values are excluded from every mean and counted (``"nan"``).

* :class:`Mean` — mean of the per-image value ``result[row.key]`` × ``row.scale``.
* :class:`MeanCurve` — the same plus the mean of the per-image curves ``result[row.key + "_curve"]``.
* :class:`PairMean` — localisation: mean over (image, class) pairs of ``entry[row.key]`` × scale.
* :class:`PointingAccuracy` — the Pointing Game: mean over classes of hits / (hits + misses)
  (TorchRay, Zhang et al.), the per-image mean beside it as ``"per_image"``.

Localisation entries whose class has only "difficult" boxes are skipped (``"skipped_difficult"``);
classes the model cannot explain are ``"unmapped"``, listed per class, never dropped silently.
"""

from __future__ import annotations

import math

import numpy as np


def is_nan(value) -> bool:
    """True for ``None`` (NaN as stored) and float NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value, digits: int = 2) -> str:
    """A figure for a table: ``"n/a"`` for NaN/None, floats with ``digits`` decimals."""
    if is_nan(value):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


class _Running:
    """Running mean of finite values; NaN/None values are counted apart."""

    def __init__(self):
        self.total, self.count, self.nan = 0.0, 0, 0

    def add(self, value) -> None:
        if is_nan(value):
            self.nan += 1
        else:
            self.total += float(value)
            self.count += 1

    @property
    def value(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def as_dict(self, scale: float = 1.0) -> dict:
        return {"value": self.value * scale, "n": self.count, "nan": self.nan}


class Accumulator:
    """Base class: ``__init__(metric)``, ``add(result)``, ``summary()``, ``notes(name, entry)``."""

    def __init__(self, metric):
        self.metric = metric

    def add(self, result: dict) -> None:
        raise NotImplementedError

    def summary(self) -> dict:
        raise NotImplementedError

    @staticmethod
    def notes(name: str, entry: dict) -> list[str]:
        """Report notes about this metric's summary ``entry`` (default: its excluded NaN count)."""
        return [f"{name}: {entry['nan']} undefined values excluded"] if entry.get("nan") else []


class Mean(Accumulator):
    """Mean over images of ``result[metric.key]`` (× ``metric.scale``)."""

    def __init__(self, metric):
        super().__init__(metric)
        self._mean = _Running()

    def add(self, result: dict) -> None:
        self._mean.add(result.get(self.metric.key))

    def summary(self) -> dict:
        return self._mean.as_dict(self.metric.scale)


class MeanCurve(Mean):
    """:class:`Mean` plus ``"curve"``: the mean of the images' curves that hold no NaN."""

    def __init__(self, metric):
        super().__init__(metric)
        self._total, self._curves = None, 0

    def add(self, result: dict) -> None:
        super().add(result)
        curve = result.get(f"{self.metric.key}_curve")
        if curve is not None and not any(is_nan(v) for v in curve):
            arr = np.asarray(curve, np.float64)
            self._total = arr if self._total is None else self._total + arr
            self._curves += 1

    def summary(self) -> dict:
        return {**super().summary(), "curve": (self._total / self._curves).tolist() if self._curves else []}


class _Pairs(Accumulator):
    """Localisation: walks ``result["pointing"]``, counting difficult and unmapped classes."""

    def __init__(self, metric):
        super().__init__(metric)
        self._difficult = 0
        self._unmapped: dict[str, int] = {}

    def add(self, result: dict) -> None:
        judged = []
        for entry in result.get("pointing", ()):
            if entry["status"] == "difficult":
                self._difficult += 1
            elif entry["status"] == "unmapped":
                self._unmapped[entry["class"]] = self._unmapped.get(entry["class"], 0) + 1
            else:
                judged.append(entry)
        self.add_pairs(judged)

    def add_pairs(self, entries: list[dict]) -> None:
        raise NotImplementedError

    def counts(self) -> dict:
        return {"skipped_difficult": self._difficult, "unmapped": dict(sorted(self._unmapped.items()))}


class PairMean(_Pairs):
    """Mean over judged pairs of ``entry[metric.key]`` (× ``metric.scale``)."""

    def __init__(self, metric):
        super().__init__(metric)
        self._mean = _Running()

    def add_pairs(self, entries: list[dict]) -> None:
        for entry in entries:
            self._mean.add(entry.get(self.metric.key))

    def summary(self) -> dict:
        return {**self._mean.as_dict(self.metric.scale), **self.counts()}


class PointingAccuracy(_Pairs):
    """Hits (``entry[metric.key]`` ≥ 0.5) per class; the figure is the mean of the class accuracies."""

    def __init__(self, metric):
        super().__init__(metric)
        self._hits: dict[str, list[int]] = {}       # class → [hits, misses]
        self._nan = 0
        self._per_image = _Running()

    def add_pairs(self, entries: list[dict]) -> None:
        image_hits = []
        for entry in entries:
            hit = entry.get(self.metric.key)
            if is_nan(hit):
                self._nan += 1
                continue
            counts = self._hits.setdefault(entry["class"], [0, 0])
            counts[0 if hit >= 0.5 else 1] += 1
            image_hits.append(1.0 if hit >= 0.5 else 0.0)
        if image_hits:
            self._per_image.add(sum(image_hits) / len(image_hits))

    def summary(self) -> dict:
        scale = self.metric.scale
        per_class = {c: {"hits": h, "misses": m, "accuracy": scale * h / (h + m)}
                     for c, (h, m) in sorted(self._hits.items())}
        accuracies = [v["accuracy"] for v in per_class.values()]
        return {"value": float(np.mean(accuracies)) if accuracies else float("nan"),
                "per_image": self._per_image.value * scale,
                "n": sum(h + m for h, m in self._hits.values()), "nan": self._nan,
                **self.counts(), "classes": per_class}

    @staticmethod
    def notes(name: str, entry: dict) -> list[str]:
        parts = [f"pointing game per-image mean {format_value(entry['per_image'])} %, {entry['n']} pairs"]
        if entry["nan"]:
            parts.append(f"{entry['nan']} pairs undefined (blank map or no box pixel), excluded")
        if entry["skipped_difficult"]:
            parts.append(f"{entry['skipped_difficult']} all-difficult classes skipped")
        if entry["unmapped"]:
            parts.append("unmapped classes (not explainable by this model): "
                         + ", ".join(f"{c} ×{n}" for c, n in entry["unmapped"].items()))
        return parts
