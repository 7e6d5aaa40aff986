"""The summary of a run, always computed from the stored results (so a resumed run summarises exactly
like an uninterrupted one), and written as reports (:mod:`gigjax.evaluation.report`)."""

from __future__ import annotations

from gigjax.evaluation.plan import RunPlan
from gigjax.evaluation.report import write_reports
from gigjax.evaluation.store import ResultStore
from gigjax.metrics import Aggregator, fractions, metric


def summarise(plan: RunPlan, store: ResultStore, out: str, devices: int) -> dict:
    """Aggregates every method's stored results for the run's first ``plan.count`` images, writes
    ``summary.{json,md,csv}`` and the figures to ``out``, and returns the summary dict."""
    settings = plan.settings
    summary = {"dataset": plan.dataset.name, "model": plan.model_id, "images": plan.count,
               "metrics": list(settings.metrics), "settings": settings.identity(),
               "targets": plan.targets.description if plan.targets else "", "devices": devices,
               "methods": {}, "options": plan.options}
    if any(metric(m).curve for m in settings.metrics):
        h, w = plan.model.card.input_size
        summary["fractions"] = fractions(h * w, settings.pixels_per_step).tolist()
        summary["curve_x"] = {m: list(metric(m).curve_x(settings)) for m in settings.metrics
                              if metric(m).curve and metric(m).curve_x is not None}
    for method in plan.methods:
        aggregator = Aggregator(settings.metrics)
        for result in store.results(method):
            if result["index"] < plan.count:
                aggregator.add(result)
        summary["methods"][method] = aggregator.summary()
    summary["files"] = write_reports(out, summary, range(min(plan.examples, plan.count)))
    return summary
