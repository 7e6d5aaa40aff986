"""The run summary in the paper's layout (rows = methods, columns = metrics) as Markdown, CSV and
JSON, plus figures: mean Deletion / Insertion curves per method and a grid of example maps.

Figures: the curves need ``matplotlib`` (the ``eval`` extra); without it that figure is skipped with
a note (the numbers are all in the JSON). The example grid needs only Pillow.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings

import numpy as np
from PIL import Image, ImageDraw

from gigjax.imageio import _font, overlay
from gigjax.metrics import CAUSAL, DISPLAY
from gigjax.evaluation.store import write_json_atomic


def _fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(summary: dict) -> tuple[list[str], list[list[str]]]:
    """(header, rows): one row per method, one column per metric (value; arrows tell the direction)."""
    metrics = summary["metrics"]
    header = ["Method"] + [f"{DISPLAY[m][0]} {'↑' if DISPLAY[m][2] == 'higher' else '↓'}" for m in metrics]
    rows = []
    for method, result in summary["methods"].items():
        row = [method]
        for m in metrics:
            value = result.get(m, {}).get("value")
            row.append(_fmt(value, 4 if m in CAUSAL else 2))
        rows.append(row)
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
        pg = result.get("pointing_game")
        if pg:
            parts.append(f"pointing game per-image mean {_fmt(pg['per_image'])} %, {pg['n']} pairs")
            if pg["nan"]:
                parts.append(f"{pg['nan']} pairs undefined (blank map or no box pixel), excluded")
            if pg["skipped_difficult"]:
                parts.append(f"{pg['skipped_difficult']} all-difficult classes skipped")
            if pg["unmapped"]:
                parts.append("unmapped classes (not explainable by this model): "
                             + ", ".join(f"{c} ×{n}" for c, n in pg["unmapped"].items()))
        for m in ("energy_pointing_game", "average_drop", "increase_in_confidence", *CAUSAL):
            if m in result and result[m].get("nan"):
                parts.append(f"{m}: {result[m]['nan']} undefined values excluded")
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


def curves_figure(path: str, summary: dict) -> bool:
    """Mean Deletion / Insertion curves per method; returns False when matplotlib is missing."""
    wanted = [m for m in CAUSAL if m in summary["metrics"]]
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
                xs = np.linspace(0.0, 1.0, len(curve)) if "fractions" not in summary else summary["fractions"]
                ax.plot(xs, curve, label=f"{method} (AUC {_fmt(result[mode]['value'], 3)})")
        ax.set_title(f"{mode.capitalize()} (step {summary['settings'].get('step')} px)")
        ax.set_xlabel("fraction of pixels " + ("removed" if mode == "deletion" else "inserted"))
        ax.set_ylabel("probability of the top-1 class")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def examples_grid(path: str, folder: str, methods, indices, cell: int = 160) -> bool:
    """Rows = example images, columns = the photo then each method's map overlaid on it."""
    rows = []
    for index in indices:
        photo_path = os.path.join(folder, "photos", f"{index}.png")
        if not os.path.isfile(photo_path):
            continue
        with Image.open(photo_path) as im:
            photo = np.asarray(im.convert("RGB"))
        cells = [photo]
        for method in methods:
            map_path = os.path.join(folder, method, f"{index}.png")
            if os.path.isfile(map_path):
                with Image.open(map_path) as im:
                    heat = np.asarray(im.convert("L").resize(photo.shape[1::-1]), np.float32) / 255.0
                cells.append(overlay(photo, heat))
            else:
                cells.append(np.full_like(photo, 255))
        rows.append(cells)
    if not rows:
        return False
    bar = 24
    columns = ["image"] + list(methods)
    canvas = Image.new("RGB", (cell * len(columns), bar + cell * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    font = _font(14)
    for j, title in enumerate(columns):
        draw.text((j * cell + 4, 4), title, fill="black", font=font)
    for i, cells in enumerate(rows):
        for j, image in enumerate(cells):
            tile = Image.fromarray(image).resize((cell, cell), Image.Resampling.BILINEAR)
            canvas.paste(tile, (j * cell, bar + i * cell))
    canvas.save(path, format="PNG")
    return True


def write_reports(out: str, summary: dict, example_indices) -> dict:
    """Writes summary.{json,md,csv} and figures/; returns {kind: path} of what was written."""
    written = {}
    write_json_atomic(os.path.join(out, "summary.json"), summary)
    written["json"] = os.path.join(out, "summary.json")
    for name, text in (("summary.md", markdown(summary)), ("summary.csv", csv_text(summary))):
        path = os.path.join(out, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
        written[name.split(".")[1]] = path
    figures = os.path.join(out, "figures")
    os.makedirs(figures, exist_ok=True)
    if curves_figure(os.path.join(figures, "curves.png"), summary):
        written["curves"] = os.path.join(figures, "curves.png")
    if examples_grid(os.path.join(figures, "examples.png"), os.path.join(out, "examples"),
                     list(summary["methods"]), example_indices):
        written["examples"] = os.path.join(figures, "examples.png")
    return written
