"""``gigjax.explain`` and ``gigjax.explainer``: any registered method, post-processed, jit-compiled.

``explainer(method, **options)`` returns a pure function ``(model, x, targets=None) → (B, H, W)``
that can be jitted, vmapped and composed like any JAX function. ``explain(model, x, ...)`` is the
convenience entry point: it validates its input eagerly (shapes, dtypes, NaN, targets, options), then
runs a cached ``jax.jit`` of the same explainer. Maps stay ``jax.Array`` on the device.

Post-processing options (all methods):
  layer: a layer path or a sequence of paths (methods that use layers; default: the card's CAM layer).
  fuse: how several layers are combined, ``"mean"`` (pytorch-grad-cam) or ``"max"`` (LayerCAM).
  relu: ReLU on the raw map(s) (default ``True``).
  normalize: per-image min–max normalisation to [0, 1] (default ``True``).
  output_size: (H, W) of the result (default: the input's size).
  raw: return the method's raw map — no ReLU, no normalisation, native resolution (one layer only).
  scales: multi-scale fusion pyramid, e.g. ``(1, 2)`` (see :mod:`gigjax.fusion`).
  smooth, smooth_samples, smooth_sigma, key: noise smoothing of the raw map, ``"smoothgrad"``,
    ``"squaregrad"`` or ``"vargrad"`` (default None: off; see :mod:`gigjax.smoothing`).
  aug_smooth: average over flips and multiplications of the input (see :mod:`gigjax.augmentation`).
  eigen_smooth: CAM methods reduce their weighted activations by their first principal component
    instead of the channel sum (see :mod:`gigjax.methods.channels`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import numpy as np

from gigjax import postprocess
from gigjax.combinators import ARRAY_OPTIONS, aug_smoothed, with_raw_combinators
from gigjax.errors import GigjaxError
from gigjax.models import Model
from gigjax.probe import resolve_layers
from gigjax.registry import get_method
from gigjax.targets import Targets, check_targets
from gigjax.validation import check_choice, check_images

Explainer = Callable[..., jax.Array]


def _as_size(output_size) -> tuple[int, int] | None:
    if output_size is None:
        return None
    try:
        h, w = (int(v) for v in output_size)
    except (TypeError, ValueError):
        raise GigjaxError(f"output_size must be (H, W), got {output_size!r}") from None
    if h < 1 or w < 1:
        raise GigjaxError(f"output_size must be positive, got {output_size!r}")
    return h, w


def _check_call(model: Model, x: jax.Array, targets: Targets) -> tuple[jax.Array, Targets]:
    """The (validated x, normalised targets) of one call; raises :class:`GigjaxError` for bad input."""
    x = check_images(x)
    if not isinstance(model, Model):
        raise GigjaxError(f"model must be a gigjax Model (see gigjax.load_model), got {type(model).__name__}")
    return x, check_targets(targets, x.shape[0], model.card.num_classes)


def _as_layers(layer) -> str | tuple[str, ...] | None:
    if layer is None or isinstance(layer, str):
        return layer
    return tuple(layer)


def explainer(method: str = "gradcam", *, layer: str | Sequence[str] | None = None, fuse: str = "mean",
              relu: bool = True, normalize: bool = True, output_size: tuple[int, int] | None = None,
              raw: bool = False, scales: Sequence[float] | None = None, smooth: str | None = None,
              smooth_samples: int = 25, smooth_sigma: float = 0.15, key: Any = None, aug_smooth: bool = False,
              eigen_smooth: bool = False, **options: Any) -> Explainer:
    """Builds the pure explainer ``(model, x, targets=None) → (B, H, W) jax.Array``.

    ``options`` are the method's own (see ``gigjax.describe(method)``); unknown names or bad values
    raise :class:`GigjaxError` here, before anything runs.
    """
    spec = get_method(method)
    opts = spec.bind(options)
    if "scales" in opts:  # a method's own default pyramid (gigcam_f); an explicit scales= wins
        own = opts.pop("scales")
        scales = own if scales is None else scales
    check_choice(fuse, "fuse", ("mean", "max"))
    size = _as_size(output_size)
    layer = _as_layers(layer)
    if layer is not None and not spec.uses_layers:
        raise GigjaxError(f"method {method!r} works on the input, not on a layer: drop layer={layer!r}")
    if raw and scales is not None:
        raise GigjaxError("raw maps are per scale: drop raw=True or scales")
    method_fn = with_raw_combinators(spec, smooth, smooth_samples, smooth_sigma, key, eigen_smooth)
    if raw and aug_smooth:
        raise GigjaxError("aug_smooth averages post-processed maps: drop raw=True or aug_smooth")

    def core(model: Model, x: jax.Array, targets: Targets = None, out_size: tuple[int, int] | None = None):
        x, targets = _check_call(model, x, targets)
        layers = resolve_layers(model, layer, x) if spec.uses_layers else ()
        maps = method_fn(model, x, targets, layers=layers, **opts)
        if raw:
            if spec.uses_layers and len(maps) != 1:
                raise GigjaxError("raw=True returns one layer's map: give a single layer")
            return maps[0] if spec.uses_layers else maps
        out_size = out_size or size or tuple(x.shape[1:3])
        if spec.uses_layers:
            return postprocess.fuse_layers(maps, fuse, relu=relu, norm=normalize, size=out_size)
        return postprocess.finish(maps, out_size, relu=relu, norm=normalize)

    if aug_smooth:
        core = aug_smoothed(core)
    if scales is None:
        return functools.wraps(core)(lambda model, x, targets=None: core(model, x, targets))
    from gigjax.fusion import multiscale  # the "+M" combinator

    return multiscale(core, scales, output_size=size)


def _split_options(method: str, options: dict) -> tuple[tuple, dict]:
    """Array-valued options become jit arguments; the rest are hashed into the compile cache key."""
    spec = get_method(method)
    static, arrays = [], {}
    for name, value in options.items():
        if isinstance(value, (jax.Array, np.ndarray)):
            if name not in spec.array_options and name not in ARRAY_OPTIONS:
                raise GigjaxError(f"option {name}= of method {method!r} does not take an array")
            arrays[name] = value
        else:
            if isinstance(value, list):
                value = tuple(value)
            try:
                hash(value)
            except TypeError:
                raise GigjaxError(f"option {name}={value!r} must be hashable (a number, string or tuple)") from None
            static.append((name, value))
    return tuple(sorted(static, key=lambda kv: kv[0])), arrays


@functools.lru_cache(maxsize=256)
def _compiled(method: str, static: tuple, targets_fn: Callable | None) -> Callable:
    def run(model, x, targets, arrays):
        fn = explainer(method, **dict(static), **arrays)
        return fn(model, x, targets_fn if targets_fn is not None else targets)

    return jax.jit(run)


def explain(model: Model, x: jax.Array, method: str = "gradcam", targets: Targets = None, **options: Any) -> jax.Array:
    """Explains ``targets`` of ``model`` on the normalised batch ``x`` with ``method``.

    Args:
      model: a :class:`gigjax.models.Model` (``gigjax.load_model``).
      x: (B, H, W, 3) float batch normalised for the model (``model.preprocess(photos)``).
      method: a registered method name (``gigjax.available_methods()``).
      targets: ``None`` (argmax), an int, an int array of length B, or a callable on the logits.
      **options: post-processing options (see module docstring) and the method's own options.

    Returns:
      (B, H, W) ``jax.Array`` of maps (in [0, 1] unless ``normalize=False`` or ``raw=True``).
    """
    x, targets = _check_call(model, x, targets)  # eagerly: inside jit NaN values cannot be seen
    explainer(method, **options)  # validates every option eagerly, outside jit
    static, arrays = _split_options(method, options)
    if callable(targets):
        return _compiled(method, static, targets)(model, x, None, arrays)
    return _compiled(method, static, None)(model, x, targets, arrays)
