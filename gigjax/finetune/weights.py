"""The fine-tuned weight file: a gigjax ``.npz`` plus a ``__gigjax_meta__`` entry.

Layout: every Flax variable under its flattened path (``"params/fc/kernel"``, ``"batch_stats/…"``, as
:func:`gigjax.models.convert.flatten_variables` writes them), plus the key ``__gigjax_meta__`` holding
a JSON string::

    {"arch": "resnet50", "num_classes": 20, "class_names": ["aeroplane", …, "tvmonitor"]}

(optionally more keys, e.g. the validation mAP). ``gigjax.load_model(arch, weights=file)`` reads it
once the zoo understands the meta entry; until then :func:`load_finetuned` does.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.models import CheckpointError, Model, WeightMismatchError
from gigjax.models.convert import flatten_paths, flatten_variables, unflatten_variables
from gigjax.models.zoo import architecture

META_KEY = "__gigjax_meta__"


def write_weights(path: str, model: Model, **extra: Any) -> None:
    """Writes ``model``'s variables and its meta (arch, num_classes, class_names, ``extra``) to ``path``
    atomically (a ``.npz`` suffix is required so readers pick the right format)."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise GigjaxError(f"{path}: the weight file name must end in .npz")
    meta = {"arch": model.card.name, "num_classes": model.card.num_classes,
            "class_names": list(model.card.class_names), **extra}
    arrays = flatten_variables(model.variables)
    arrays[META_KEY] = np.array(json.dumps(meta))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path[:-4] + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _read(path: str) -> tuple[dict, dict]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such weight file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged .npz weight file ({exc})") from None
    if META_KEY not in arrays:
        raise CheckpointError(f"{path}: no {META_KEY} entry (not a gigjax fine-tuned weight file)")
    return _parse_meta(path, arrays.pop(META_KEY)), arrays


def _parse_meta(path: str, raw: np.ndarray) -> dict:
    try:
        meta = json.loads(str(raw[()]))
    except (TypeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"{path}: damaged {META_KEY} ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("arch"), str):
        raise CheckpointError(f"{path}: {META_KEY} must be a JSON object with an 'arch' string")
    names, num = meta.get("class_names"), meta.get("num_classes")
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise CheckpointError(f"{path}: {META_KEY} num_classes must be a positive integer, got {num!r}")
    if not isinstance(names, list) or len(names) != num or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{path}: {META_KEY} class_names must list {num} names")
    return meta


def read_meta(path: str) -> dict:
    """The ``__gigjax_meta__`` of a fine-tuned weight file: ``{"arch", "num_classes", "class_names", …}``.

    Raises:
      CheckpointError: a missing or damaged file, no or malformed meta entry.
    """
    return _read(path)[0]


def load_finetuned(path: str) -> Model:
    """A fine-tuned weight file → its :class:`Model` (architecture, head size and class names from the meta).

    Raises:
      CheckpointError: as :func:`read_meta`; an unknown architecture.
      WeightMismatchError: variables that do not fit the architecture.
    """
    meta, arrays = _read(path)
    try:
        arch = architecture(meta["arch"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    module = arch.build(meta["num_classes"])
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0),
                            jax.ShapeDtypeStruct((1, *arch.input_shape), jnp.float32))
    expected = {k: v.shape for k, v in flatten_paths(shapes).items()}
    missing = sorted(set(expected) - set(arrays))
    wrong = sorted(k for k in set(expected) & set(arrays) if expected[k] != arrays[k].shape)
    extra = sorted(set(arrays) - set(expected))
    if missing or wrong or extra:
        raise WeightMismatchError(f"{path} does not fit {meta['arch']} with {meta['num_classes']} classes: "
                                  f"missing {missing[:3]}, wrong shape {wrong[:3]}, unexpected {extra[:3]}")
    variables = jax.tree_util.tree_map(jnp.asarray, unflatten_variables(arrays))
    card = dataclasses.replace(arch.card(meta["num_classes"]), class_names=tuple(meta["class_names"]))
    return Model(module=module, variables=variables, card=card)
