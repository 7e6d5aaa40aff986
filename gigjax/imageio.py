"""Reading photos (host side: this is the I/O boundary). The overlay helpers live in :mod:`gigjax.plot`
(re-exported here: ``jet``, ``overlay``, ``save_overlay``)."""

from __future__ import annotations

import os
from importlib import resources

import numpy as np
from PIL import Image, UnidentifiedImageError

from gigjax.errors import GigjaxError
from gigjax.plot import _font, jet, overlay, save_overlay  # noqa: F401  (the overlay helpers' old home)


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
