"""Reading a dataset's images for evaluation: each photo resized as a whole to the model input, the
next batch read in a background thread while the current one is computed."""

from __future__ import annotations

import dataclasses
import queue
import threading
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

from gigjax.data.records import Record
from gigjax.data.source import Dataset
from gigjax.errors import GigjaxError


@dataclasses.dataclass
class LoadedImage:
    """One dataset image ready for the model, or the reason it could not be read.

    Attributes:
      index: its dataset index.
      record: the annotated record (None when reading failed).
      photo: (H, W, 3) uint8, the whole image resized to the model input (None when reading failed).
      error: the message of a failed read (``on_error="skip"``), else None.
    """

    index: int
    record: Record | None = None
    photo: np.ndarray | None = None
    error: str | None = None


def stretch(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The whole photo resized to ``size`` (H, W), bilinear with antialiasing (PIL), uint8."""
    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.Resampling.BILINEAR))


def load_image(dataset: Dataset, index: int, size: tuple[int, int], on_error: str) -> LoadedImage:
    """Reads image ``index``; a :class:`GigjaxError` is raised (``on_error="raise"``) or recorded."""
    try:
        record = dataset[index]
        return LoadedImage(index, record, stretch(record.image, size))
    except GigjaxError as exc:
        if on_error == "raise":
            raise
        return LoadedImage(index, error=str(exc))


def read_chunks(dataset: Dataset, chunks: Sequence[Sequence[int]], input_size: tuple[int, int],
                on_error: str) -> Iterable[list[LoadedImage]]:
    """Yields, for each list of dataset indices in ``chunks`` (possibly empty), its loaded images,
    reading the next chunk in a background thread."""
    ready: queue.Queue = queue.Queue(maxsize=2)

    def work():
        try:
            for chunk in chunks:
                ready.put([load_image(dataset, i, input_size, on_error) for i in chunk])
        except BaseException as exc:  # handed to the main thread
            ready.put(exc)

    threading.Thread(target=work, daemon=True).start()
    for _ in chunks:
        got = ready.get()
        if isinstance(got, BaseException):
            raise got
        yield got
