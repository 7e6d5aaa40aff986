"""Turn a PyTorch-layout state dict into Flax variables for a zoo architecture.

Each architecture supplies a *name map*: a function from a torch parameter name to
``(collection, flax_path)`` or ``None`` (entry to ignore, e.g. ``num_batches_tracked``). Tensors are
re-laid-out by their role, read off the Flax leaf name:

* ``kernel`` of rank 4: torch OIHW → Flax HWIO, ``transpose(2, 3, 1, 0)`` (a depthwise ``(C, 1, k, k)``
  becomes ``(k, k, 1, C)``);
* ``kernel`` of rank 2: ``torch.nn.Linear`` weight (out, in) → Dense kernel (in, out);
* everything else (biases, BatchNorm scale/bias/mean/var) is copied.

The result is checked against the architecture's own variable shapes, so a checkpoint of another
architecture, a truncated one, or one with missing layers is a clear :class:`WeightMismatchError`
naming what does not fit, never a silent partial load.
"""

from __future__ import annotations

from typing import Callable, Mapping

import flax.traverse_util
import numpy as np

from gigjax.errors import GigjaxError

NameMap = Callable[[str], "tuple[str, tuple[str, ...]] | None"]


class WeightMismatchError(GigjaxError):
    """The weight file does not belong to the architecture it is loaded into."""


# torch BatchNorm leaf → (collection, Flax leaf); torch's ``num_batches_tracked`` has no Flax counterpart.
BN_LEAVES = {"weight": ("params", "scale"), "bias": ("params", "bias"),
             "running_mean": ("batch_stats", "mean"), "running_var": ("batch_stats", "var")}


def flax_target(module: tuple[str, ...], leaf: str, batch_norm: bool) -> tuple[str, tuple[str, ...]]:
    """(Flax module path, torch leaf name) → (collection, Flax variable path).

    BatchNorm leaves go through :data:`BN_LEAVES`; otherwise ``weight`` is a ``kernel`` and other
    leaves (``bias``) keep their names.
    """
    if batch_norm and leaf in BN_LEAVES:
        collection, flax_leaf = BN_LEAVES[leaf]
        return collection, module + (flax_leaf,)
    return "params", module + ("kernel" if leaf == "weight" else leaf,)


def dotted_name_map(name: str, is_batch_norm: Callable[[tuple[str, ...]], bool]
                    ) -> tuple[str, tuple[str, ...]] | None:
    """Name map for models whose Flax paths mirror the torch module names (torchvision's ResNet, VGG).

    ``layer1.0.bn1.running_mean`` → ``("batch_stats", ("layer1", "0", "bn1", "mean"))``;
    ``num_batches_tracked`` → ``None``. ``is_batch_norm(module_path)`` tells BatchNorm modules apart.
    """
    if name.endswith("num_batches_tracked"):
        return None
    *module, leaf = name.split(".")
    if not module:
        return "params", (name,)  # no such top-level variable: reported as unexpected
    return flax_target(tuple(module), leaf, is_batch_norm(tuple(module)))


def _to_flax_layout(leaf: str, value: np.ndarray) -> np.ndarray:
    if leaf == "kernel" and value.ndim == 4:
        return np.transpose(value, (2, 3, 1, 0))
    if leaf == "kernel" and value.ndim == 2:
        return np.transpose(value)
    return value


def _flax_layout_shape(leaf: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape :func:`_to_flax_layout` gives a tensor of ``shape``."""
    if leaf == "kernel" and len(shape) == 4:
        return tuple(shape[i] for i in (2, 3, 1, 0))
    if leaf == "kernel" and len(shape) == 2:
        return tuple(shape[::-1])
    return tuple(shape)


def check_shapes(shapes: Mapping[str, tuple[int, ...]], name_map: NameMap, expected_shapes, arch: str,
                 source: str = "weight file") -> dict[str, tuple[str, ...]]:
    """Checks a torch state dict's *shapes* against the architecture, before any tensor is read.

    Args:
      shapes: ``{torch_name: shape}``.
      name_map, expected_shapes, arch, source: as for :func:`torch_to_flax`.

    Returns:
      ``{torch_name: (collection, *flax_path)}`` for the entries to load.

    Raises:
      WeightMismatchError: unknown, missing or mis-shaped entries.
    """
    expected = flax.traverse_util.flatten_dict(expected_shapes)
    targets: dict[str, tuple[str, ...]] = {}
    unexpected, wrong_shape = [], []
    for name, shape in shapes.items():
        target = name_map(name)
        if target is None:
            continue
        collection, path = target
        key = (collection, *path)
        if key not in expected:
            unexpected.append(name)
            continue
        if _flax_layout_shape(path[-1], tuple(shape)) != tuple(expected[key].shape):
            wrong_shape.append(f"{name} {_flax_layout_shape(path[-1], tuple(shape))} vs {tuple(expected[key].shape)}")
            continue
        targets[name] = key
    found = set(targets.values())
    missing = ["/".join(k) for k in expected if k not in found]
    if unexpected or wrong_shape or missing:
        parts = []
        if wrong_shape:
            parts.append(f"{len(wrong_shape)} tensors of the wrong shape (e.g. {', '.join(wrong_shape[:3])})")
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise WeightMismatchError(f"{source} is not a {arch} checkpoint: " + "; ".join(parts))
    return targets


def torch_to_flax(state_dict: Mapping[str, np.ndarray], name_map: NameMap, expected_shapes, arch: str,
                  source: str = "weight file") -> dict:
    """Builds the nested Flax variables dict from a torch state dict.

    Args:
      state_dict: ``{torch_name: array}``.
      name_map: the architecture's name map (see module docstring).
      expected_shapes: the architecture's variables as a pytree of ``ShapeDtypeStruct`` (``jax.eval_shape``
        of ``module.init``), used to check completeness and shapes.
      arch: architecture name for error messages.
      source: file name for error messages.

    Raises:
      WeightMismatchError: unknown, missing or mis-shaped entries.
    """
    targets = check_shapes({k: np.shape(v) for k, v in state_dict.items()}, name_map, expected_shapes, arch, source)
    expected = flax.traverse_util.flatten_dict(expected_shapes)
    out = {key: _to_flax_layout(key[-1], np.asarray(state_dict[name])).astype(expected[key].dtype, copy=False)
           for name, key in targets.items()}
    return flax.traverse_util.unflatten_dict(out)


def flatten_paths(tree) -> dict:
    """Nested dict → ``{"params/a/b/kernel": leaf}``."""
    return {"/".join(k): v for k, v in flax.traverse_util.flatten_dict(tree).items()}


def flatten_variables(variables) -> dict[str, np.ndarray]:
    """Nested Flax variables → ``{"params/a/b/kernel": array}`` (for ``.npz`` caches)."""
    return {k: np.asarray(v) for k, v in flatten_paths(variables).items()}


def unflatten_variables(flat: Mapping[str, np.ndarray]) -> dict:
    return flax.traverse_util.unflatten_dict({tuple(k.split("/")): v for k, v in flat.items()})
