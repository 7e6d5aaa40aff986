"""Example maps of a run and their labelled grid (``figures/examples.png``).

Layout of ``<out>/examples/``::

    photos/<index>.png        the image as the model saw it (resized as a whole to its input)
    <method>/<index>.png      the method's map (8-bit grey, [0, 1] → 0 … 255), when one was computed
    <method>/<index>.json     {"image_id", "explained": what the map explains, "unmapped": [class names]}

The grid has one column per example image, titled with its image id, the explained class and the
image's unmapped classes (ground-truth classes the model cannot explain), and one row per method,
labelled with its name, below a row of the photos. Only Pillow is needed.
"""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image, ImageDraw

from gigjax.evaluation.scoring import ExampleMap
from gigjax.files import atomic_write, read_json
from gigjax.imageio import _font, overlay

CELL = 224      # px per grid cell
_LABEL = 120    # px of the method-name column
_LINE = 18      # px per header text line


def _save_png(path: str, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_write(path, "wb") as f:
        Image.fromarray(array).save(f, format="PNG")


def save_example(folder: str, method: str, index: int, photo: np.ndarray, image_id: str, unmapped: list[str],
                 example: ExampleMap | None) -> None:
    """Writes one method's example of image ``index`` under ``folder``: its label, its map (None when
    nothing of the image could be explained, e.g. every class unmapped) and, once, the photo."""
    os.makedirs(os.path.join(folder, method), exist_ok=True)
    if example is not None:
        heat = (np.clip(np.nan_to_num(example.heat), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        _save_png(os.path.join(folder, method, f"{index}.png"), heat)
    with atomic_write(os.path.join(folder, method, f"{index}.json")) as f:
        json.dump({"image_id": image_id, "explained": example.explained if example else None,
                   "unmapped": list(unmapped)}, f)
    photo_path = os.path.join(folder, "photos", f"{index}.png")
    if not os.path.isfile(photo_path):
        _save_png(photo_path, photo)


def _read(folder: str, method: str, index: int) -> tuple[np.ndarray | None, dict]:
    """(heat (h, w) float in [0, 1] or None, label dict) of a stored example."""
    label_path = os.path.join(folder, method, f"{index}.json")
    label = {}
    if os.path.isfile(label_path):
        label = read_json(label_path)
    path = os.path.join(folder, method, f"{index}.png")
    if not os.path.isfile(path):
        return None, label
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), np.float32) / 255.0, label


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` px."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def examples_grid(path: str, folder: str, methods, indices, cell: int = CELL) -> bool:
    """Draws the labelled grid of the stored examples of ``indices``; False when there is none."""
    columns = [i for i in indices if os.path.isfile(os.path.join(folder, "photos", f"{i}.png"))]
    if not columns:
        return False
    font = _font(14)
    header = 3 * _LINE + 8
    canvas = Image.new("RGB", (_LABEL + cell * len(columns), header + cell * (1 + len(methods))), "white")
    draw = ImageDraw.Draw(canvas)
    for row, title in enumerate(["photo"] + list(methods)):
        draw.text((6, header + row * cell + cell // 2 - 8), _fit(draw, title, font, _LABEL - 10), fill="black",
                  font=font)
    for col, index in enumerate(columns):
        x0 = _LABEL + col * cell
        with Image.open(os.path.join(folder, "photos", f"{index}.png")) as im:
            photo = np.asarray(im.convert("RGB"))
        stored = {m: _read(folder, m, index) for m in methods}
        labels = [label for _, label in stored.values() if label]
        first = labels[0] if labels else {}
        explained = first.get("explained") or "nothing explainable"
        lines = [(first.get("image_id", f"image {index}"), "black"), (f"explains: {explained}", "black")]
        if first.get("unmapped"):
            lines.append((f"unmapped: {', '.join(first['unmapped'])}", "firebrick"))
        for k, (text, colour) in enumerate(lines):
            draw.text((x0 + 4, 4 + k * _LINE), _fit(draw, text, font, cell - 8), fill=colour, font=font)
        canvas.paste(Image.fromarray(photo).resize((cell, cell), Image.Resampling.BILINEAR), (x0, header))
        for row, method in enumerate(methods, 1):
            y0 = header + row * cell
            heat, label = stored[method]
            if heat is None:
                draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=(230, 230, 230))
                draw.text((x0 + 8, y0 + cell // 2 - 8), "no map", fill="gray", font=font)
                continue
            if heat.shape != photo.shape[:2]:
                heat = np.asarray(Image.fromarray(heat).resize(photo.shape[1::-1], Image.Resampling.BILINEAR))
            tile = Image.fromarray(overlay(photo, np.clip(heat, 0.0, 1.0))).resize((cell, cell),
                                                                                  Image.Resampling.BILINEAR)
            canvas.paste(tile, (x0, y0))
            if label.get("explained") not in (None, first.get("explained")):
                text = _fit(draw, label["explained"], font, cell - 8)
                draw.rectangle((x0, y0 + cell - _LINE - 4, x0 + cell - 1, y0 + cell - 1), fill="white")
                draw.text((x0 + 4, y0 + cell - _LINE - 2), text, fill="black", font=font)
    with atomic_write(path, "wb") as f:
        canvas.save(f, format="PNG")
    return True
