"""Writing and reading back a fine-tuned model (the format is :mod:`gigjax.models.weight_file`).

``write_weights`` stores the variables with a meta entry ``{"arch", "num_classes", "class_names", …}``;
``gigjax.load_model(arch, weights=file)`` (or :func:`load_finetuned`, which reads ``arch`` from the
file) restores the model with its head and class names.
"""

from __future__ import annotations

import os
from typing import Any

from gigjax.errors import GigjaxError
from gigjax.models import CheckpointError, Model, load_model
from gigjax.models.convert import flatten_variables
from gigjax.models.weight_file import META_KEY, read_meta, write

__all__ = ["META_KEY", "load_finetuned", "read_meta", "write_weights"]


def write_weights(path: str, model: Model, **extra: Any) -> None:
    """Writes ``model``'s variables and its meta (arch, num_classes, class_names, ``extra``) to ``path``
    atomically (the name must end in ``.npz``)."""
    meta = {"arch": model.card.name, "num_classes": model.card.num_classes,
            "class_names": list(model.card.class_names), **extra}
    write(os.fspath(path), flatten_variables(model.variables), meta)


def load_finetuned(path: str) -> Model:
    """A fine-tuned weight file → its :class:`Model` (architecture, head size and class names from the meta).

    Raises:
      CheckpointError: a missing or damaged file, no or malformed meta, an unknown architecture.
      WeightMismatchError: variables that do not fit the architecture.
    """
    meta = read_meta(path)
    try:
        return load_model(meta["arch"], path)
    except GigjaxError as exc:
        if "unknown model" in str(exc):
            raise CheckpointError(f"{path}: {exc}") from None
        raise
