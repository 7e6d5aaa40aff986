"""The run summary in the paper's layout (rows = methods, columns = metrics) as Markdown, CSV and
JSON, plus figures: mean Deletion / Insertion curves per method and a grid of example maps.

Columns, titles, arrows, decimals and notes come from each metric's table row
(:mod:`gigjax.metrics.table`). Figures: the curves need ``matplotlib`` (the ``eval`` extra); without it
that figure is skipped with a note (the numbers are all in the JSON). The example grid
(:mod:`gigjax.evaluation.examples`) needs only Pillow. Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
import os
import warnings

import numpy as np

from gigjax.evaluation.examples import examples_grid
from gigjax.evaluation.store import write_json_atomic
from gigjax.files import atomic_write
from gigjax.metrics import metric
from gigjax.metrics.accumulators import format_value as _fmt


def table(summary: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows): one row per method, one column per metric (value; arrows tell the direction)."""
    metrics = summary["metrics"]
    rows_of = [metric(m) for m in metrics]
    header = ["Method"] + [f"{row.title} {'↑' if row.better == 'higher' else '↓'}" for row in rows_of]
    rows = []
    for method, result in summary["methods"].items():
        rows.append([method] + [_fmt(result.get(row.name, {}).get("value"), row.digits) for row in rows_of])
    return header, rows


def markdown(summary: dict) -> str:
    header, rows = table(summary)
    lines = [f"# Evaluation: {summary['dataset']}", "",
             f"Model: {summary['model']}. Images: {summary['images']}. {summary.get('targets', '')}".rstrip(), ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    notes = []
    for method, result in summary["methods"].items():
        parts = []
        for m in summary["metrics"]:
            if m in result:
                parts += metric(m).aggregate.notes(m, result[m])
        if result.get("failed"):
            parts.append(f"{result['failed']} images failed")
        if parts:
            notes.append(f"- **{method}**: " + "; ".join(parts) + ".")
    if notes:
        lines += ["Notes:", ""] + notes + [""]
    settings = ", ".join(f"{k} {v}" for k, v in summary["settings"].items() if k != "metrics")
    if settings:
        lines += [f"Settings: {settings}.", ""]
    return "\n".join(lines)


def csv_text(summary: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    metrics = summary["metrics"]
    writer.writerow(["method"] + list(metrics))
    for method, result in summary["methods"].items():
        writer.writerow([method] + [_fmt(result.get(m, {}).get("value"), 6) for m in metrics])
    return buffer.getvalue()


def _curve_x(summary: dict, mode: str, n: int) -> list:
    """The x values of ``mode``'s mean curve of ``n`` points (see :attr:`gigjax.metrics.Metric.curve_x`)."""
    given = summary.get("curve_x", {}).get(mode)
    if given is None and len(summary.get("fractions", ())) == n:
        return summary["fractions"]
    return list(given) if given and len(given) == n else list(range(1, n + 1))


def curves_figure(path: str, summary: dict) -> bool:
    """Every curve metric's mean curve per method (Deletion, Insertion, ROAD, MPRT); False without matplotlib."""
    wanted = [m for m in summary["metrics"] if metric(m).curve]
    if not wanted:
        return False
    try:
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("matplotlib is not installed: the Deletion/Insertion curve figure is skipped "
                      "(pip install 'gigjax[eval]')", stacklevel=2)
        return False
    fig, axes = plt.subplots(1, len(wanted), figsize=(5 * len(wanted), 4), squeeze=False)
    for ax, mode in zip(axes[0], wanted):
        for method, result in summary["methods"].items():
            curve = result.get(mode, {}).get("curve") or []
            if curve:
                xs = _curve_x(summary, mode, len(curve))
                ax.plot(xs, curve, label=f"{method} ({_fmt(result[mode]['value'], 3)})")
        row = metric(mode)
        if row.curve_x is None:                     # Deletion / Insertion
            per_step = summary["settings"].get("pixels_per_step")
            ax.set_title(f"{mode.capitalize()}" + (f" ({per_step} px per step)" if per_step else ""))
            ax.set_ylabel("probability of the top-1 class")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
        else:
            ax.set_title(row.title)
            ax.set_ylabel(row.title)
        ax.set_xlabel(row.curve)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, dpi=100, format="png")
    plt.close(fig)
    return True


def write_reports(out: str, summary: dict, example_indices) -> dict:
    """Writes summary.{json,md,csv} and figures/; returns {kind: path} of what was written."""
    written = {}
    write_json_atomic(os.path.join(out, "summary.json"), summary)
    written["json"] = os.path.join(out, "summary.json")
    for name, text in (("summary.md", markdown(summary)), ("summary.csv", csv_text(summary))):
        path = os.path.join(out, name)
        with atomic_write(path) as f:
            f.write(text)
        written[name.split(".")[1]] = path
    figures = os.path.join(out, "figures")
    os.makedirs(figures, exist_ok=True)
    if curves_figure(os.path.join(figures, "curves.png"), summary):
        written["curves"] = os.path.join(figures, "curves.png")
    if examples_grid(os.path.join(figures, "examples.png"), os.path.join(out, "examples"),
                     list(summary["methods"]), example_indices):
        written["examples"] = os.path.join(figures, "examples.png")
    return written
