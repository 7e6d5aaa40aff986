"""Reading photos (host side: this is the I/O boundary). The overlay helpers live in :mod:`gigjax.plot`
(re-exported here: ``jet``, ``overlay``, ``save_overlay``)."""

from __future__ import annotations

import os
import struct
from importlib import resources

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gigjax.errors import GigjaxError
from gigjax.plot import _font, jet, overlay, save_overlay  # noqa: F401  (the overlay helpers' old home)


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
