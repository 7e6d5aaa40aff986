"""Streaming aggregation of per-image metric results (host side, across batches).

Each image contributes one *result* dict per method (the form :mod:`gigjax.evaluation` writes to
disk, JSON-ready, NaN written as ``None``):

* ``"pointing"``: a list with one entry per ground-truth class of the image,
  ``{"class": name, "status": "ok" | "difficult" | "unmapped", <localisation values>}``; the
  built-in ones are ``"hit"`` (1.0 | 0.0 | None) and ``"energy"`` (float | None), ``None`` = NaN: a
  blank map or a class with no box pixel;
* one value per confidence-family metric (``"average_drop"``, ``"increase_in_confidence"`` in percent,
  ``"deletion"``, ``"insertion"`` AUC in [0, 1]) — floats or ``None``, and ``"<name>_curve"`` lists for
  metrics with a curve;
* ``"error"``: a message when the image could not be evaluated (it then counts as failed).

How each metric turns these into its figure is its table row's accumulator
(:mod:`gigjax.metrics.table`, :mod:`gigjax.metrics.accumulators`).
"""

from __future__ import annotations

from typing import Iterable

from gigjax.metrics.table import check_metrics, metric


class Aggregator:
    """Accumulates one method's per-image results; :meth:`summary` gives the figures."""

    def __init__(self, metrics: Iterable[str]):
        self.metrics = check_metrics(metrics)
        self.images = 0
        self.failed = 0
        self._accumulators = {name: metric(name).aggregate(metric(name)) for name in self.metrics}

    def add(self, result: dict) -> None:
        """Adds one image's result dict (see the module docstring)."""
        self.images += 1
        if result.get("error"):
            self.failed += 1
            return
        for accumulator in self._accumulators.values():
            accumulator.add(result)

    def summary(self) -> dict:
        """{metric: {"value": …, "n": …, "nan": …, …}} plus ``"images"`` and ``"failed"`` counts."""
        return {"images": self.images, "failed": self.failed,
                **{name: acc.summary() for name, acc in self._accumulators.items()}}
