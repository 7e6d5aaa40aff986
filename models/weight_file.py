"""gigjax's own weight file: a ``.npz`` of flattened Flax variables with an optional meta entry.

Layout: every variable under its flattened path (``"params/fc/kernel"``, ``"batch_stats/…"``, see
:func:`gigjax.models.convert.flatten_variables`), plus, for a model whose head differs from the zoo
default (e.g. a VOC head from ``gigjax finetune``), the key ``__gigjax_meta__`` holding a JSON string::

    {"arch": "resnet50", "num_classes": 20, "class_names": ["aeroplane", …, "tvmonitor"], …}

``gigjax.load_model(arch, weights=file)`` reads the meta: the head size and class names come from it.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any

import numpy as np

from gigjax.errors import GigjaxError
from gigjax.models.torch_checkpoint import CheckpointError

META_KEY = "__gigjax_meta__"


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
    tmp = path[:-4] + f".{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def read(path: str | os.PathLike) -> tuple[dict | None, dict[str, np.ndarray]]:
    """``path`` → (meta or ``None``, flattened variables). Raises ``CheckpointError`` when damaged."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such weight file")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise CheckpointError(f"{path}: a .npz weight file must hold named arrays, not one array")
            flat = {k: data[k] for k in data.files}
    except CheckpointError:
        raise
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise CheckpointError(f"{path}: damaged .npz weight file ({type(exc).__name__}: {exc})") from None
    raw = flat.pop(META_KEY, None)
    return (None if raw is None else _parse_meta(path, raw)), flat


def peek_meta(path: str | os.PathLike) -> dict | None:
    """The meta entry of ``path`` or ``None``, reading only that entry (arrays load lazily)."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            raw = data[META_KEY] if hasattr(data, "files") and META_KEY in data.files else None
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise CheckpointError(f"{path}: damaged .npz weight file ({type(exc).__name__}: {exc})") from None
    return None if raw is None else _parse_meta(path, raw)


def read_meta(path: str | os.PathLike) -> dict:
    """The meta entry of a weight file; ``CheckpointError`` when it has none."""
    if not os.path.isfile(os.fspath(path)):
        raise CheckpointError(f"{os.fspath(path)}: no such weight file")
    meta = peek_meta(path)
    if meta is None:
        raise CheckpointError(f"{os.fspath(path)}: no {META_KEY} entry (not a gigjax fine-tuned weight file)")
    return meta


def _parse_meta(path: str, raw: np.ndarray) -> dict:
    try:
        meta = json.loads(str(raw[()]))
    except (TypeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"{path}: damaged {META_KEY} ({exc})") from None
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
