"""gigjax's own weight file, and the checks every weight-file reader shares.

**The format**: a ``.npz`` of flattened Flax variables with an optional meta entry. Every variable is
stored under its flattened path (``"params/fc/kernel"``, ``"batch_stats/…"``, see
:func:`gigjax.models.convert.flatten_variables`), plus, for a model whose head differs from the zoo
default (e.g. a VOC head from ``gigjax finetune``), the key ``__gigjax_meta__`` holding a JSON string::

    {"arch": "resnet50", "num_classes": 20, "class_names": ["aeroplane", …, "tvmonitor"], …}

``gigjax.load_model(arch, weights=file)`` reads the meta: the head size and class names come from it.

**The shared checks** (also used by :mod:`gigjax.models.torch_checkpoint`): the file exists
(:func:`existing_weight_file`), a declared shape is a tuple of sane Python ints (:func:`checked_shape`,
no int64 overflow), an archive may not inflate to more than :data:`MAX_INFLATION` times its size on disk
(:func:`check_inflated_size`: a 6 MB zip holding a 6 GiB member is refused before anything is read),
and float tensors hold no NaN or Inf (:func:`check_finite`). Every failure is a
:class:`~gigjax.errors.CheckpointError` whose message starts with the file's path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import zipfile
import zlib
from typing import Any, Iterable, Iterator

import numpy as np

from gigjax.errors import CheckpointError, GigjaxError
from gigjax.files import atomic_write

META_KEY = "__gigjax_meta__"

MAX_INFLATION = 16
"""An archive's members may inflate to at most this many times the file's size on disk (plus
:data:`INFLATION_SLACK`). torch and ``np.savez`` store members uncompressed (ratio 1) and compressed
float weights shrink by a few percent, so only a decompression bomb comes near it."""

INFLATION_SLACK = 1 << 20

MAX_DIM = 1 << 48
"""No dimension of a stored tensor may exceed this (2⁴⁸ elements is far beyond any real weight)."""

# What zipfile / numpy raise on a damaged archive or .npy header (bad CRC, mangled names, bad header, ...).
ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, UnicodeDecodeError,
                  NotImplementedError, zlib.error, KeyError, ValueError, OverflowError)


def existing_weight_file(path: str | os.PathLike) -> str:
    """``path`` as a string, checked to name an existing file (else ``CheckpointError``)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such weight file")
    return path


def nbytes_text(n: int) -> str:
    """A byte count for messages: ``6442450944`` → ``"6.0 GiB"``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def checked_shape(path: str, name: str, shape: Any, what: str = "tensor") -> tuple[tuple[int, ...], int]:
    """A declared tensor shape → (shape as a tuple of Python ints, element count as a Python int).

    Every dimension must be an ``int`` (not a bool) in 0..:data:`MAX_DIM`; the count is an exact Python
    int, so a product that would overflow int64 (and wrap to 0) cannot slip past a size check.
    """
    if not isinstance(shape, (tuple, list)) or len(shape) > 64:
        raise CheckpointError(f"{path}: {what} {name[:80]!r} has a malformed shape")
    if not all(type(d) is int and 0 <= d <= MAX_DIM for d in shape):
        dims = ", ".join(str(d)[:24] if type(d) is int else type(d).__name__ for d in shape)
        raise CheckpointError(f"{path}: {what} {name[:80]!r} has an invalid shape ({dims}): dimensions must be "
                              f"integers in 0..2^48")
    return tuple(shape), math.prod(shape)


def check_inflated_size(path: str, inflated: int, what: str = "its members") -> None:
    """Refuses an archive whose members (``inflated`` bytes in all) would expand past
    :data:`MAX_INFLATION` × its size on disk: checked from the archive's directory, before reading."""
    on_disk = os.path.getsize(path)
    if inflated > MAX_INFLATION * on_disk + INFLATION_SLACK:
        raise CheckpointError(f"{path}: {what} would inflate to {nbytes_text(inflated)} from a "
                              f"{nbytes_text(on_disk)} file (more than {MAX_INFLATION}x): refusing a "
                              f"decompression bomb")


@contextlib.contextmanager
def open_archive(path: str, what: str) -> Iterator[zipfile.ZipFile]:
    """The zip archive at ``path``, open for the ``with`` block; whatever zipfile / numpy raise on a
    damaged archive while the block reads it (:data:`ARCHIVE_ERRORS`) becomes a ``CheckpointError``
    ``"{path}: damaged {what} (...)"``. A :class:`GigjaxError` the block raises passes unchanged."""
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except GigjaxError:
        raise
    except ARCHIVE_ERRORS as exc:
        raise CheckpointError(f"{path}: damaged {what} ({type(exc).__name__}: {exc})") from None


def check_finite(path: str, name: str, array: np.ndarray) -> None:
    """Refuses a float tensor holding NaN or ±Inf (every explanation of such a model is NaN)."""
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return
    if np.isfinite(np.sum(array, dtype=np.float64)):  # one pass, no temporary; exact below on doubt
        return
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise CheckpointError(f"{path}: tensor {name!r} holds {int(bad.sum())} NaN/Inf values (first at "
                              f"index {first}): the weights are damaged or diverged")


def check_all_finite(path: str, tensors: dict[str, np.ndarray]) -> None:
    """:func:`check_finite` on every entry, in order (the message names the first bad tensor)."""
    for name, array in tensors.items():
        check_finite(path, name, array)


def write(path: str | os.PathLike, flat: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> None:
    """Writes flattened variables (and ``meta``) to ``path`` atomically; the name must end in ``.npz``."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise GigjaxError(f"{path}: the weight file name must end in .npz")
    arrays = dict(flat)
    if meta is not None:
        _check_meta(path, meta)
        arrays[META_KEY] = np.array(json.dumps(meta))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def read(path: str | os.PathLike) -> tuple[dict | None, dict[str, np.ndarray]]:
    """``path`` → (meta or ``None``, flattened variables). Raises ``CheckpointError`` when missing,
    damaged, oversized or holding NaN/Inf."""
    path = existing_weight_file(path)
    flat = _read_npz(path)
    raw = flat.pop(META_KEY, None)
    check_all_finite(path, flat)
    return (None if raw is None else _parse_meta(path, raw)), flat


def peek_meta(path: str | os.PathLike) -> dict | None:
    """The meta entry of ``path`` or ``None``, reading only that entry."""
    path = existing_weight_file(path)
    raw = _read_npz(path, only=(META_KEY,)).get(META_KEY)
    return None if raw is None else _parse_meta(path, raw)


def read_meta(path: str | os.PathLike) -> dict:
    """The meta entry of a weight file; ``CheckpointError`` when it has none."""
    meta = peek_meta(path)
    if meta is None:
        raise CheckpointError(f"{os.fspath(path)}: no {META_KEY} entry (not a gigjax fine-tuned weight file)")
    return meta


def _read_npz(path: str, only: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` (those named in ``only``, when given), each checked against its zip
    member's size before it is read, so a hostile header or member cannot allocate more than the file
    holds."""
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic[:4] != b"PK\x03\x04":
        kind = "a single .npy array" if magic == b"\x93NUMPY" else "not a zip archive"
        raise CheckpointError(f"{path}: not a .npz weight file ({kind}; a .npz holds named arrays)")
    wanted = None if only is None else {f"{n}.npy" for n in only}
    with open_archive(path, ".npz weight file") as archive:
        infos = [i for i in archive.infolist() if wanted is None or i.filename in wanted]
        check_inflated_size(path, sum(i.file_size for i in infos))
        return {info.filename[:-4]: _read_npy_member(path, archive, info) for info in infos}


def _read_npy_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    if not info.filename.endswith(".npy"):
        raise CheckpointError(f"{path}: unexpected member {info.filename!r} (a .npz holds only .npy arrays)")
    name = info.filename[:-4]
    with archive.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise CheckpointError(f"{path}: array {name!r} has unsupported .npy version {version}")
        if dtype.hasobject:
            raise CheckpointError(f"{path}: array {name!r} holds Python objects (refused: pickled data)")
        shape, count = checked_shape(path, name, shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size:
            raise CheckpointError(f"{path}: array {name!r} of shape {shape} needs {nbytes_text(nbytes)} but its "
                                  f"member holds {nbytes_text(info.file_size)} (truncated or forged header)")
        data = bytearray(nbytes)  # writable, like np.load's arrays
        if fp.readinto(data) != nbytes:
            raise CheckpointError(f"{path}: array {name!r} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _parse_meta(path: str, raw: np.ndarray) -> dict:
    try:
        meta = json.loads(str(raw[()]))
    except (TypeError, ValueError, IndexError, RecursionError) as exc:
        raise CheckpointError(f"{path}: damaged {META_KEY} ({type(exc).__name__}: {exc})") from None
    _check_meta(path, meta)
    return meta


def _check_meta(path: str, meta: Any) -> None:
    if not isinstance(meta, dict) or not isinstance(meta.get("arch"), str):
        raise CheckpointError(f"{path}: {META_KEY} must be a JSON object with an 'arch' string")
    names, num = meta.get("class_names"), meta.get("num_classes")
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise CheckpointError(f"{path}: {META_KEY} num_classes must be a positive integer, got {num!r}")
    if not isinstance(names, list) or len(names) != num or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{path}: {META_KEY} class_names must list {num} names")
