"""Records → the arrays a fine-tune trains on: centre crops, labels, and (head-only) cached features.

Photos are read once, in order, and reduced to the model's centre crop (``card.resize_short`` then
``card.input_size``, the same resize as ``Model.preprocess``) rounded to uint8, so a whole VOC split
fits in memory (224×224×3 bytes an image). Any iterable of records works (a reader, a list, a
generator); it is consumed once.

A SHA-1 *fingerprint* of the data (image ids, pixel CRCs, labels) is kept so that a resumed run can
check it trains on the same images.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from typing import Callable, Iterable, Iterator, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.data.records import Record
from gigjax.errors import GigjaxError
from gigjax.finetune.labels import label_targets
from gigjax.models import ModelCard
from gigjax.models.preprocessing import resize_and_crop


@dataclasses.dataclass
class Chunk:
    """Up to ``size`` consecutive records: ``crops`` (b, H, W, 3) uint8, ``labels``/``mask`` (b, C) bool."""

    crops: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    ids: list[str]


def crop(image: np.ndarray, card: ModelCard) -> np.ndarray:
    """(H, W, 3) uint8 photo → the model's (h, w, 3) uint8 centre crop."""
    pixels = resize_and_crop(jnp.asarray(image), card.resize_short, tuple(card.input_size))
    return np.asarray(jnp.round(pixels)).astype(np.uint8)


def chunks(records: Iterable[Record], card: ModelCard, class_names: Sequence[str], size: int,
           fingerprint: "hashlib._Hash | None" = None) -> Iterator[Chunk]:
    """Reads ``records`` in order, ``size`` at a time; updates ``fingerprint`` (a hashlib object) as it goes."""
    batch: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []
    for record in records:
        labels, mask = label_targets(record, class_names)
        if fingerprint is not None:
            image = np.ascontiguousarray(record.image)
            fingerprint.update(f"{record.image_id}|{image.shape}|{zlib.crc32(image)}|".encode())
            fingerprint.update(labels.tobytes() + mask.tobytes())
        batch.append((crop(record.image, card), labels, mask, record.image_id))
        if len(batch) == size:
            yield _stack(batch)
            batch = []
    if batch:
        yield _stack(batch)


def _stack(batch) -> Chunk:
    crops, labels, mask, ids = zip(*batch)
    return Chunk(np.stack(crops), np.stack(labels), np.stack(mask), list(ids))


def padded_map(fn: Callable[[np.ndarray], jax.Array], crops: np.ndarray, size: int) -> np.ndarray:
    """Applies a jitted batch function to ``crops`` padded to ``size`` rows (one compiled shape), and
    returns the rows of the real images."""
    n = len(crops)
    if n < size:
        crops = np.concatenate([crops, np.zeros((size - n, *crops.shape[1:]), crops.dtype)])
    return np.asarray(fn(crops))[:n]


def read_all(records: Iterable[Record], card: ModelCard, class_names: Sequence[str], size: int,
             transform: Callable[[np.ndarray], jax.Array] | None = None):
    """All records → ``(inputs, labels (N, C), mask (N, C), ids, fingerprint hex)``.

    ``inputs`` are the uint8 crops, or, with ``transform`` (a jitted function of a ``size``-image
    uint8 batch), its outputs concatenated (e.g. cached head features).

    Raises:
      GigjaxError: no records.
    """
    digest = hashlib.sha1()
    inputs, labels, mask, ids = [], [], [], []
    for chunk in chunks(records, card, class_names, size, digest):
        inputs.append(chunk.crops if transform is None else padded_map(transform, chunk.crops, size))
        labels.append(chunk.labels)
        mask.append(chunk.mask)
        ids += chunk.ids
    if not ids:
        raise GigjaxError("the dataset holds no images")
    return np.concatenate(inputs), np.concatenate(labels), np.concatenate(mask), ids, digest.hexdigest()
