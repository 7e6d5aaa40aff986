"""Maps → pictures: colour maps, sign handling, percentile clipping, overlays with a colour bar.

Host-side NumPy + PIL (matplotlib is optional: any of its colour maps can be named when it is
installed). The steps, each usable alone:

1. :func:`apply_sign` picks what is shown of a signed map: ``"positive"`` (ReLU, the CAM
   convention), ``"absolute"`` (|m|) or ``"all"`` (signed, for a diverging colour map). Apply it at
   the map's own resolution, before resizing, as the explainers apply their ReLU.
2. :func:`scale` maps it to [0, 1] colour positions: min–max, but with the top at the
   ``percentile``-th percentile of the values (PAIR's ``VisualizeImageGrayscale`` uses the 99th;
   captum clips a similar "outlier" share), so a few extreme pixels no longer push everything else
   to the bottom of the colour range. Signed maps are scaled symmetrically: −t → 0, 0 → ½, +t → 1.
3. :func:`colorize` / :func:`overlay` colour and blend it; :func:`save_overlay` writes the PNG with
   a title and a colour bar labelled in the map's own units.

Defaults: :func:`default_percentile` clips input-resolution maps (methods registered with
``uses_layers=False``: IG, Guided IG, FG-CAM, …) at :data:`INPUT_PERCENTILE`; layer CAMs keep plain
min–max (100). :func:`default_cmap` is jet, or :data:`DIVERGING` for signed maps.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gigjax.errors import GigjaxError
from gigjax.files import atomic_write

SIGNS = ("positive", "absolute", "all")
INPUT_PERCENTILE = 99.5  # the clipping percentile for input-resolution (attribution) maps
DIVERGING = "bwr"


def jet(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1], any shape → uint8 RGB of the classic 'jet' colour map, shape + (3,)."""
    v = np.clip(np.asarray(values, np.float32), 0.0, 1.0)[..., None]
    centres = np.array([0.75, 0.5, 0.25], np.float32)  # red, green, blue
    rgb = np.clip(1.5 - np.abs(4.0 * v - 4.0 * centres), 0.0, 1.0)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def bwr(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] → uint8 RGB, blue (0) → white (½) → red (1), linear in each half."""
    v = np.clip(np.asarray(values, np.float32), 0.0, 1.0)[..., None]
    low = np.concatenate([2 * v, 2 * v, np.ones_like(v)], -1)
    high = np.concatenate([np.ones_like(v), 2 - 2 * v, 2 - 2 * v], -1)
    rgb = np.where(v < 0.5, low, high)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def gray(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] → uint8 grey levels black (0) → white (1), as RGB."""
    v = np.clip(np.asarray(values, np.float32), 0.0, 1.0)[..., None]
    return (np.repeat(v, 3, -1) * 255.0 + 0.5).astype(np.uint8)


BUILTIN_CMAPS = {"jet": jet, "bwr": bwr, "gray": gray}


def _matplotlib_cmap(name: str):
    try:
        import matplotlib
    except ImportError:
        return None
    try:
        return matplotlib.colormaps[name]
    except KeyError:
        return None


def check_cmap(name: str) -> str:
    """``name`` if it is a built-in colour map or (with matplotlib installed) one of matplotlib's."""
    if name in BUILTIN_CMAPS or (isinstance(name, str) and _matplotlib_cmap(name) is not None):
        return name
    raise GigjaxError(f"unknown colour map {name!r}; built in: {', '.join(BUILTIN_CMAPS)} "
                      f"(any matplotlib colour map works when matplotlib is installed)")


def colorize(values: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """Values in [0, 1], any shape → uint8 RGB, shape + (3,), through colour map ``cmap``."""
    if cmap in BUILTIN_CMAPS:
        return BUILTIN_CMAPS[cmap](values)
    rgba = _matplotlib_cmap(check_cmap(cmap))(np.clip(np.asarray(values, np.float64), 0.0, 1.0))
    return (rgba[..., :3] * 255.0 + 0.5).astype(np.uint8)


def default_percentile(method: str) -> float:
    """The clipping percentile for ``method``'s map: :data:`INPUT_PERCENTILE` for methods whose
    map lives at the input's resolution (registered with ``uses_layers=False``), else 100."""
    from gigjax.registry import get_method

    return 100.0 if get_method(method).uses_layers else INPUT_PERCENTILE


def default_cmap(sign: str) -> str:
    """jet for one-signed maps, :data:`DIVERGING` for ``sign="all"``."""
    return DIVERGING if sign == "all" else "jet"


def _check_sign(sign: str) -> str:
    if sign not in SIGNS:
        raise GigjaxError(f"sign must be one of {', '.join(SIGNS)}, got {sign!r}")
    return sign


def apply_sign(heat, sign: str = "positive"):
    """``"positive"`` → max(m, 0), ``"absolute"`` → |m|, ``"all"`` → m (NumPy or JAX arrays)."""
    _check_sign(sign)
    if sign == "positive":
        return heat * (heat > 0)
    return abs(heat) if sign == "absolute" else heat


@dataclasses.dataclass(frozen=True)
class Scaled:
    """A map as colour positions: ``values`` in [0, 1]; ``low``/``high`` are the map values shown at
    positions 0 and 1 (``high`` = −``low`` for signed maps); ``clipped`` is whether values beyond
    ``high`` (or below ``low``) were clipped by the percentile."""

    values: np.ndarray
    low: float
    high: float
    clipped: bool
    percentile: float


def scale(heat: np.ndarray, sign: str = "positive", percentile: float = 100.0) -> Scaled:
    """A real (H, W) map → :class:`Scaled` colour positions (see the module docstring, step 2).

    One-signed (``positive``/``absolute``): (m − min) / (t − min) clipped to [0, 1], t the
    ``percentile``-th percentile of m (100: plain min–max). Signed (``all``): m / (2t) + ½ clipped to
    [0, 1], t the percentile of |m|. A constant map (t = min) is all 0, or all ½ when signed.
    """
    if not 0.0 < percentile <= 100.0:
        raise GigjaxError(f"the clipping percentile must be in (0, 100], got {percentile!r}")
    m = np.asarray(apply_sign(np.asarray(heat, np.float64), sign))
    if not np.all(np.isfinite(m)):
        raise GigjaxError("the map to plot has NaN or infinite values")
    if sign == "all":
        top = float(np.percentile(np.abs(m), percentile))
        unit = np.full(m.shape, 0.5) if top <= 0 else np.clip(m / (2 * top) + 0.5, 0.0, 1.0)
        return Scaled(unit.astype(np.float32), -top, top, bool(np.any(np.abs(m) > top)), percentile)
    low, top = float(m.min()), float(np.percentile(m, percentile))
    unit = np.zeros(m.shape) if top <= low else np.clip((m - low) / (top - low), 0.0, 1.0)
    return Scaled(unit.astype(np.float32), low, top, bool(np.any(m > top)), percentile)


def overlay(photo: np.ndarray, heat: np.ndarray, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """Blends colour positions ``heat`` (h, w) in [0, 1] over an (h, w, 3) uint8 photo → uint8."""
    if photo.shape[:2] != heat.shape:
        raise GigjaxError(f"overlay: photo {photo.shape[:2]} and map {heat.shape} differ in size")
    blended = (1.0 - alpha) * photo.astype(np.float32) + alpha * colorize(heat, cmap).astype(np.float32)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _label(value: float) -> str:
    return "0" if value == 0 else f"{value:.3g}"


def colorbar(height: int, scaled: Scaled, cmap: str, width: int = 14, font_size: int = 13) -> Image.Image:
    """A vertical colour bar (top = position 1) with the map values at its ends (and 0 for signed
    maps); a clipped end is marked with the percentile, e.g. ``0.0123 (p99.5)``."""
    column = colorize(np.linspace(1.0, 0.0, height, dtype=np.float32), cmap)  # (height, 3)
    font = _font(font_size)
    top = _label(scaled.high) + (f" (p{scaled.percentile:g})" if scaled.clipped else "")
    bottom = _label(scaled.low) + (" (clipped)" if scaled.clipped and scaled.low < 0 else "")
    labels = [(0, top), (height - font_size - 2, bottom)]
    if scaled.low < 0 < scaled.high:
        labels.append(((height - font_size) // 2, "0"))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = max(int(probe.textlength(text, font=font)) for _, text in labels)
    strip = Image.new("RGB", (width + 6 + text_width + 4, height), "white")
    strip.paste(Image.fromarray(np.repeat(column[:, None, :], width, axis=1)), (0, 0))
    draw = ImageDraw.Draw(strip)
    for y, text in labels:
        draw.text((width + 6, max(0, y)), text, fill="black", font=font)
    return strip


def save_overlay(path: str | os.PathLike, photo: np.ndarray, heat: np.ndarray, title: str, scale_by: int = 2, *,
                 sign: str = "positive", percentile: float = 100.0, cmap: str | None = None,
                 bar: bool = True) -> Scaled:
    """Writes a PNG: the photo with ``heat`` (a real (h, w) map, any units) coloured over it,
    enlarged ``scale_by``×, under a title bar, with a colour bar on the right (``bar``).

    ``sign``, ``percentile``: as in :func:`scale`; ``cmap``: default :func:`default_cmap`. A map
    already in [0, 1] with min 0 and max 1 is shown as given. Returns the :class:`Scaled` map.
    """
    cmap = check_cmap(cmap or default_cmap(sign))
    scaled = scale(heat, sign, percentile)
    blended = Image.fromarray(overlay(photo, scaled.values, cmap=cmap))
    blended = blended.resize((blended.width * scale_by, blended.height * scale_by), Image.Resampling.BICUBIC)
    strip = colorbar(blended.height, scaled, cmap) if bar else None
    title_bar = 28
    width = blended.width + (strip.width + 8 if strip is not None else 0)
    canvas = Image.new("RGB", (width, blended.height + title_bar), "white")
    canvas.paste(blended, (0, title_bar))
    if strip is not None:
        canvas.paste(strip, (blended.width + 8, title_bar))
    ImageDraw.Draw(canvas).text((6, 5), title, fill="black", font=_font(16))
    with atomic_write(path, "wb") as f:
        canvas.save(f, format="PNG")
    return scaled
