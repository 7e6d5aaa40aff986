"""Reading photos and writing heat-map overlays (host side: this is the I/O boundary)."""

from __future__ import annotations

import os
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from gigjax.errors import GigjaxError


def sample_photo_path() -> str:
    """The bundled sample photo (scikit-image's CC0 "chelsea", a tabby cat)."""
    return str(resources.files("gigjax").joinpath("assets", "chelsea.jpg"))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A photo file → (H, W, 3) uint8 RGB (greyscale, palette and alpha images are converted)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GigjaxError(f"{path}: no such image file")
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise GigjaxError(f"{path}: not a readable image ({exc})") from None


def jet(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1], any shape → uint8 RGB of the classic 'jet' colour map, shape + (3,)."""
    v = np.clip(np.asarray(values, np.float32), 0.0, 1.0)[..., None]
    centres = np.array([0.75, 0.5, 0.25], np.float32)  # red, green, blue
    rgb = np.clip(1.5 - np.abs(4.0 * v - 4.0 * centres), 0.0, 1.0)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def overlay(photo: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blends a [0, 1] heat map (h, w) over an (h, w, 3) uint8 photo → (h, w, 3) uint8."""
    if photo.shape[:2] != heat.shape:
        raise GigjaxError(f"overlay: photo {photo.shape[:2]} and map {heat.shape} differ in size")
    blended = (1.0 - alpha) * photo.astype(np.float32) + alpha * jet(heat).astype(np.float32)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def save_overlay(path: str | os.PathLike, photo: np.ndarray, heat: np.ndarray, title: str,
                 scale: int = 2) -> None:
    """Writes a PNG: the photo with the heat map blended over it, enlarged ``scale``×, under a title bar."""
    blended = Image.fromarray(overlay(photo, heat))
    blended = blended.resize((blended.width * scale, blended.height * scale), Image.Resampling.BICUBIC)
    font = _font(16)
    bar = 28
    canvas = Image.new("RGB", (blended.width, blended.height + bar), "white")
    canvas.paste(blended, (0, bar))
    ImageDraw.Draw(canvas).text((6, 5), title, fill="black", font=font)
    canvas.save(os.fspath(path), format="PNG")
