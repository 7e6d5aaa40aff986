"""The model zoo: ``load_model(name, weights=None)`` and the table of known architectures."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Callable

import flax.linen as nn
import flax.traverse_util
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.files import read_json, write_cache_file
from gigjax.models import convert
from gigjax.models.card import ModelCard
from gigjax.models.model import Model
from gigjax.models import weight_file
from gigjax.models.torch_checkpoint import CheckpointError, load_state_dict
from gigjax.program_cache import code_digest


@dataclasses.dataclass(frozen=True)
class Architecture:
    """How to build, describe and fill one zoo model.

    Attributes:
      build: ``num_classes → flax module``.
      card: ``num_classes → ModelCard``.
      name_map: torch state-dict name → Flax variable path (see :mod:`gigjax.models.convert`).
      default_weights: returns the path of the embedded default checkpoint, or ``None`` when the
        model has none (then ``weights`` must be given).
      input_shape: (H, W, C) used to initialise the variables' shapes.
    """

    build: Callable[[int], nn.Module]
    card: Callable[[int], ModelCard]
    name_map: convert.NameMap
    default_weights: Callable[[], str | None] = lambda: None
    input_shape: tuple[int, int, int] = (224, 224, 3)


_ARCHITECTURES: dict[str, Architecture] = {}


def register_architecture(name: str, architecture: Architecture) -> None:
    _ARCHITECTURES[name] = architecture


def available_models() -> tuple[str, ...]:
    return tuple(sorted(_ARCHITECTURES))


def architecture(name: str) -> Architecture:
    if not isinstance(name, str) or name not in _ARCHITECTURES:
        raise GigjaxError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    return _ARCHITECTURES[name]


def cache_dir() -> str:
    """The gigjax cache folder: ``$GIGJAX_CACHE``, else ``$XDG_CACHE_HOME/gigjax`` or ``~/.cache/gigjax``."""
    root = os.environ.get("GIGJAX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gigjax")
    return root


def _cache_path(name: str, weights: str, num_classes: int) -> str:
    stat = os.stat(weights)
    key = f"{os.path.abspath(weights)}|{stat.st_size}|{stat.st_mtime_ns}|{num_classes}|v1"
    return os.path.join(cache_dir(), f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz")


_SHAPES: dict[str, dict] = {}
_UNSAVED: dict[str, str] = {}  # key → file of shapes traced in this process and not yet on disk


def _expected_shapes(arch: Architecture, module: nn.Module) -> dict:
    """The variables of ``module`` as ``jax.ShapeDtypeStruct`` values, from ``module.init`` traced once
    per version of the code: kept in memory and, once a load succeeds (:func:`_save_shapes`), in
    ``<cache>/shapes/`` (tracing Lite0's ``init`` takes ~0.8 s on 2 cores, which every load paid)."""
    key = hashlib.sha256(f"{code_digest()}|{module!r}|{arch.input_shape}".encode()).hexdigest()[:32]
    if key not in _SHAPES:
        path = os.path.join(cache_dir(), "shapes", key + ".json")
        shapes = _read_shapes(path)
        if shapes is None:
            x = jax.ShapeDtypeStruct((1, *arch.input_shape), jnp.float32)
            shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), x)
            _UNSAVED[key] = path
        _SHAPES[key] = shapes
    return _SHAPES[key]


def _save_shapes() -> None:
    """Writes the shapes this process traced to the cache: called by a load that succeeded, so a
    refused weight file leaves the cache folder as it was."""
    for key, path in list(_UNSAVED.items()):
        _write_shapes(path, _SHAPES[key])
        del _UNSAVED[key]


def _read_shapes(path: str) -> dict | None:
    try:
        flat = read_json(path)
        return convert.unflatten_variables({k: jax.ShapeDtypeStruct(tuple(shape), np.dtype(dtype))
                                            for k, (shape, dtype) in flat.items()})
    except (OSError, ValueError, TypeError):  # missing, torn or foreign: trace init again
        return None


def _write_shapes(path: str, shapes) -> None:
    flat = {k: [list(v.shape), str(v.dtype)] for k, v in convert.flatten_paths(shapes).items()}
    write_cache_file(path, json.dumps(flat))  # a read-only cache only costs the tracing next time


def _read_gigjax_npz(path: str) -> dict:
    return convert.unflatten_variables(weight_file.read(path)[1])


def _check_variables(variables, expected, name: str, source: str) -> dict:
    got = {k: tuple(np.shape(v)) for k, v in convert.flatten_paths(variables).items()}
    want = {k: tuple(v.shape) for k, v in convert.flatten_paths(expected).items()}
    missing = sorted(set(want) - set(got))
    wrong = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    extra = sorted(set(got) - set(want))
    if missing or wrong or extra:
        raise convert.WeightMismatchError(
            f"{source} is not a {name} checkpoint: {len(missing)} missing {missing[:3]}, "
            f"{len(wrong)} of the wrong shape {wrong[:3]}, {len(extra)} unexpected {extra[:3]}")
    dtypes = {k: v.dtype for k, v in convert.flatten_paths(expected).items()}
    return convert.unflatten_variables({k: np.asarray(v, dtypes[k]) for k, v in convert.flatten_paths(variables).items()})


def _guess_architecture(state_dict, exclude: str) -> str | None:
    """The zoo architecture whose variable names the state dict fills exactly, if any (for error messages)."""
    for other, arch in _ARCHITECTURES.items():
        if other == exclude:
            continue
        expected = flax.traverse_util.flatten_dict(_expected_shapes(arch, arch.build(1000)))
        targets = [arch.name_map(name) for name in state_dict]
        if {(t[0], *t[1]) for t in targets if t is not None} == set(expected):
            return other
    return None


def load_variables(name: str, weights: str, num_classes: int = 1000) -> dict:
    """Reads ``weights`` (torch ``.pth``/``.pt`` in zip or legacy format, ``.safetensors``, or a
    gigjax ``.npz``) into checked Flax variables for architecture ``name``. Torch files are converted
    once and cached as ``.npz`` under ``$GIGJAX_CACHE`` (default ``~/.cache/gigjax``)."""
    arch = architecture(name)
    weights = weight_file.existing_weight_file(weights)
    module = arch.build(num_classes)
    expected = _expected_shapes(arch, module)
    if weights.endswith(".npz"):
        return _check_variables(_read_gigjax_npz(weights), expected, name, weights)
    cache = _cache_path(name, weights, num_classes)
    if os.path.isfile(cache):
        try:
            return _check_variables(_read_gigjax_npz(cache), expected, name, cache)
        except (CheckpointError, convert.WeightMismatchError):
            pass  # stale or damaged cache: convert again

    def check_shapes(shapes):  # before any tensor data is read: a wrong or hostile file costs nothing
        try:
            convert.check_shapes(shapes, arch.name_map, expected, name, weights)
        except convert.WeightMismatchError as exc:
            other = _guess_architecture(shapes, exclude=name)
            if other is None:
                raise
            raise convert.WeightMismatchError(f"{exc}. Its names fit {other}: load_model({other!r}, weights=...)?") from None

    state_dict = load_state_dict(weights, check_shapes)
    variables = convert.torch_to_flax(state_dict, arch.name_map, expected, name, weights)
    try:
        weight_file.write(cache, convert.flatten_variables(variables))
    except OSError:
        pass  # a read-only cache only costs a conversion next time
    return variables


def random_variables(expected_shapes, seed: int) -> dict:
    """Seeded random variables with the structure of ``expected_shapes`` (for tests and benchmarks).

    Kernels are He-normal, N(0, 2/fan_in) with fan_in = the product of all but the last axis (HWIO
    convs, depthwise ``(k, k, 1, C)``, Dense ``(in, out)``); biases and BatchNorm shifts/means are 0,
    BatchNorm scales and variances 1. Drawn on the host with numpy (``module.init`` would compile the
    whole network with one PRNG op per parameter: tens of seconds on CPU).
    """
    rng = np.random.default_rng(seed)
    flat = flax.traverse_util.flatten_dict(expected_shapes)
    out = {}
    for key in sorted(flat):
        leaf = flat[key]
        if key[-1] == "kernel":
            fan_in = int(np.prod(leaf.shape[:-1]))
            value = rng.standard_normal(leaf.shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        elif key[-1] in ("scale", "var"):
            value = np.ones(leaf.shape, leaf.dtype)
        else:
            value = np.zeros(leaf.shape, leaf.dtype)
        out[key] = value.astype(leaf.dtype)
    return flax.traverse_util.unflatten_dict(out)


def load_model(name: str = "efficientnet_lite0", weights: str | os.PathLike | None = None, *,
               num_classes: int = 1000, seed: int = 0) -> Model:
    """Loads a zoo model with its weights.

    Args:
      name: ``"efficientnet_lite0"`` (real ImageNet weights embedded), ``"resnet50"``, ``"vgg16"`` or
        ``"vit_b_16"``.
      weights: a local checkpoint: torchvision-layout ``.pth`` (zip or legacy) or ``.safetensors``,
        or a gigjax ``.npz``. ``None`` takes the embedded default weights (an error for models that
        have none). The string ``"random"`` gives seeded random weights (for tests and benchmarks only).
      num_classes: number of outputs (class names beyond ImageNet's are ``class_<i>``); a gigjax ``.npz``
        with a meta entry (``gigjax finetune``'s output) sets it and the class names itself.
      seed: PRNG seed for ``weights="random"``.

    Raises:
      GigjaxError: unknown model name, bad ``num_classes``, or no weights for a model without defaults.
      CheckpointError: a missing, damaged or unsafe weight file.
      WeightMismatchError: a weight file of another architecture.
    """
    arch = architecture(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise GigjaxError(f"num_classes must be a positive int, got {num_classes!r}")
    meta = _weight_file_meta(name, weights, num_classes)
    class_names = None
    if meta is not None:
        num_classes, class_names = meta["num_classes"], tuple(meta["class_names"])
    module = arch.build(int(num_classes))
    if weights is None:
        weights = arch.default_weights()
        if weights is None:
            raise GigjaxError(f"{name} has no embedded weights: pass weights=PATH to a checkpoint "
                              f"(torchvision .pth or .safetensors), or weights='random' for seeded random ones")
    if isinstance(weights, str) and weights == "random":
        variables = random_variables(_expected_shapes(arch, module), seed)
    else:
        variables = load_variables(name, weights, num_classes)
    variables = jax.device_put(variables)  # one transfer of the whole tree
    card = arch.card(num_classes)
    if class_names is not None:
        card = dataclasses.replace(card, class_names=class_names)
    _save_shapes()
    return Model(module=module, variables=variables, card=card)


def _weight_file_meta(name: str, weights, num_classes: int) -> dict | None:
    """The meta of a gigjax ``.npz`` weight file (fine-tuned heads), checked against the request."""
    if weights is None or (isinstance(weights, str) and weights == "random"):
        return None
    path = os.fspath(weights)
    if not path.endswith(".npz"):
        return None
    meta = weight_file.peek_meta(path)
    if meta is None:
        return None
    if meta["arch"] != name:
        raise convert.WeightMismatchError(f"{path} holds {meta['arch']} weights, not {name}: "
                                          f"load_model({meta['arch']!r}, weights=...)")
    if num_classes not in (1000, meta["num_classes"]):
        raise GigjaxError(f"{path} has a {meta['num_classes']}-class head; num_classes={num_classes} disagrees")
    return meta


def abstract_model(name: str, num_classes: int = 1000) -> Model:
    """Model ``name`` with ``jax.ShapeDtypeStruct`` variables and no weights read: for shape-only
    uses (``jax.eval_shape``, ``gigjax.list_layers``) of any zoo model, with or without weights."""
    arch = architecture(name)
    module = arch.build(num_classes)
    return Model(module=module, variables=_expected_shapes(arch, module), card=arch.card(num_classes))
