"""What makes two evaluation runs the same run: the identity stored in ``run.json`` and checked on
resume (see :class:`gigjax.evaluation.store.ResultStore`).

It names the data (the dataset, its image count), the model (its id, head size, input size, and a
content hash of its weights), how classes are explained, and the metric settings. The weights hash
is the sha256 of the weight file when there is one (streamed, so a large checkpoint is never read
whole), else of the model's parameter arrays: replacing the weights at the same path changes it.
"""

from __future__ import annotations

import hashlib
import os

import jax
import numpy as np

from gigjax.errors import GigjaxError

_CHUNK = 1 << 20


def file_sha256(path: str) -> str:
    """sha256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(_CHUNK), b""):
                digest.update(block)
    except OSError as exc:
        raise GigjaxError(f"{path}: cannot read the weight file to fingerprint it ({exc.strerror})") from None
    return digest.hexdigest()


def variables_sha256(variables) -> str:
    """sha256 over a parameter tree: every leaf's path, dtype, shape and bytes, in tree order."""
    digest = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(variables)[0]:
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{jax.tree_util.keystr(path)}:{array.dtype}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def weights_identity(model, weights_file: str | os.PathLike | None) -> dict:
    """``{"sha256": …, "of": "file" | "variables"}`` for the run identity."""
    if weights_file is not None:
        return {"sha256": file_sha256(os.fspath(weights_file)), "of": "file"}
    return {"sha256": variables_sha256(model.variables), "of": "variables"}


def run_identity(*, dataset, model, model_id: str, weights: dict, targets, settings) -> dict:
    """The identity of a run on ``dataset`` (see the module docstring)."""
    return {"dataset": dataset.name, "dataset_images": len(dataset), "model": model_id, "weights": weights,
            "classes": model.card.num_classes, "input": list(model.card.input_size),
            "targets": targets.description if targets else None, **settings.identity()}
