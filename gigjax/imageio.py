"""Reading photos and writing heat-map overlays (host side: this is the I/O boundary)."""

from __future__ import annotations

import os
import struct
from importlib import resources

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from gigjax.errors import GigjaxError


def sample_photo_path() -> str:
    """The bundled sample photo (scikit-image's CC0 "chelsea", a tabby cat)."""
    return str(resources.files("gigjax").joinpath("assets", "chelsea.jpg"))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A photo file → (H, W, 3) uint8 RGB, upright.

    The EXIF orientation is applied (a phone's portrait JPEG is returned as it is shown, not as the
    sensor stored it). Greyscale, palette, alpha and CMYK images are converted to RGB. Images of more
    than 8 bits are scaled, not clipped: 16-bit integer images (PNG/TIFF mode ``I;16``, and 32-bit
    ``I`` images whose values lie in 0..65535) by 255/65535; float images (mode ``F``) are read as
    [0, 1] when their values lie there, else as [0, 255] when they lie there; a float image with other
    values (negative, above 255, NaN) or an ``I`` image outside 0..65535 is refused, since its range
    cannot be known.

    Raises:
      GigjaxError: a missing, unreadable, oversized (PIL's decompression-bomb limit) or out-of-range
        image, naming the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GigjaxError(f"{path}: no such image file")
    try:
        with Image.open(path) as im:
            im.load()
            return _as_rgb8(path, ImageOps.exif_transpose(im))
    except Image.DecompressionBombError as exc:
        raise GigjaxError(f"{path}: too large an image ({exc})") from None
    except MemoryError:
        raise GigjaxError(f"{path}: not enough memory to decode the image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as exc:
        if isinstance(exc, GigjaxError):
            raise
        raise GigjaxError(f"{path}: not a readable image ({exc})") from None


_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=-1)


def _as_rgb8(path: str, im: Image.Image) -> np.ndarray:
    """A decoded PIL image → (H, W, 3) uint8, scaling 16-bit and float modes (see :func:`read_image`)."""
    if im.mode in _SIXTEEN_BIT_MODES or im.mode == "I":
        values = np.asarray(im).astype(np.int64)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise GigjaxError(f"{path}: 32-bit integer image with values in [{values.min()}, {values.max()}]: "
                              f"its range is unknown (save it as an 8- or 16-bit image)")
        return _grey_to_rgb(((values * 255 + 32767) // 65535).astype(np.uint8))
    if im.mode == "F":
        values = np.asarray(im, np.float64)
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo >= 0 and hi <= 255):
            raise GigjaxError(f"{path}: float image with values in [{lo:g}, {hi:g}]: expected [0, 1] or [0, 255]")
        scale = 255.0 if hi <= 1.0 else 1.0
        return _grey_to_rgb(np.floor(values * scale + 0.5).astype(np.uint8))
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


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
