"""``gigjax.explain`` and ``gigjax.explainer``: any method, post-processed, jit-compiled.

``explainer(method, **options)`` returns a pure function ``(model, x, targets=None) → (B, H, W)``
that can be jitted, vmapped and composed like any JAX function. ``explain(model, x, ...)`` is the
convenience entry point: it validates its input eagerly (shapes, dtypes, NaN, targets), then runs a
cached ``jax.jit`` of the same explainer. Maps stay ``jax.Array`` on the device.

``method`` is a registered name or a :class:`gigjax.Method` value. ``options`` are the method's own
and the post-processing options every method takes (:data:`gigjax.options.POSTPROCESSING`: ``layer``,
``fuse``, ``relu``, ``normalize``, ``output_size``, ``raw``, ``scales``, ``reshape``, ``fusion``, and
the combinators ``smooth``, ``smooth_samples``, ``smooth_sigma``, ``key``, ``aug_smooth``,
``eigen_smooth``: see :mod:`gigjax.combinators`);
``gigjax.describe(method)`` lists them all with their defaults, choices and docs. Options are
validated once, when the explainer is built (before anything is traced); the input once per call, at
its boundary (:mod:`gigjax.boundary`); the method itself then checks nothing but shapes. Maps are
float32 whatever the model's dtype (bf16, float16).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from gigjax import postprocess
from gigjax.boundary import check_call, check_layers
from gigjax.combinators import aug_smoothed, check_combinators, with_raw_combinators
from gigjax.errors import GigjaxError
from gigjax.fusion import multiscale
from gigjax.models import Model
from gigjax.options import POSTPROCESSING, bind
from gigjax.registry import Method, get_method
from gigjax.targets import Targets

Explainer = Callable[..., jax.Array]


def _bind(method: str | Method, options: dict) -> tuple[Method, dict, dict]:
    """(the method, its post-processing options, its own options), all validated."""
    spec = get_method(method)
    opts = bind(spec.method_options, {k: v for k, v in options.items() if k not in POSTPROCESSING},
                f"method {spec.name!r}", spec.check)
    declared = {**POSTPROCESSING, **{k: v for k, v in spec.options.items() if k in POSTPROCESSING}}  # gigcam_f's scales
    post = bind(declared, {k: v for k, v in options.items() if k in POSTPROCESSING}, "post-processing")
    if post["scales"] == (1.0,):  # a one-scale pyramid is the identity
        post["scales"] = None
    for name in ("layer", "reshape"):
        if post[name] is not None and not spec.uses_layers:
            raise GigjaxError(f"method {spec.name!r} works on the input, not on a layer: drop {name}={post[name]!r}")
    if post["raw"] and post["scales"] is not None:
        raise GigjaxError("raw maps are per scale: drop raw=True or scales")
    check_combinators(spec, post)
    return spec, post, opts


def _pipeline(spec: Method, post: dict, opts: dict) -> Callable:
    """The unchecked explainer ``(model, x, targets, layers) → maps`` of validated options and input."""

    method_fn = with_raw_combinators(spec, post)

    def core(model: Model, x: jax.Array, targets: Targets, out_size, layers: tuple[str, ...]):
        model = model.with_reshape(layers, post["reshape"])
        maps = jax.tree_util.tree_map(lambda m: m.astype(jnp.float32), method_fn(model, x, targets, layers=layers,
                                                                                 **opts))
        if post["raw"]:
            if spec.uses_layers and len(maps) != 1:
                raise GigjaxError("raw=True returns one layer's map: give a single layer")
            return maps[0] if spec.uses_layers else maps
        out_size = out_size or post["output_size"] or tuple(x.shape[1:3])
        if spec.uses_layers:
            return postprocess.fuse_layers(maps, post["fuse"], relu=post["relu"], norm=post["normalize"],
                                           size=out_size)
        return postprocess.finish(maps, out_size, relu=post["relu"], norm=post["normalize"])

    if post["aug_smooth"]:
        core = aug_smoothed(core)
    if post["scales"] is None:
        return lambda model, x, targets, layers: core(model, x, targets, None, layers)

    def pyramid(model, x, targets, layers):
        fused = multiscale(lambda m, xs, t, size: core(m, xs, t, size, layers), post["scales"],
                           fusion=post["fusion"], output_size=post["output_size"])
        return fused(model, x, targets)

    return pyramid


def _layers(spec: Method, post: dict, model: Model, x: jax.Array) -> tuple[str, ...]:
    return check_layers(model, post["layer"], x, spec.uses_layers, post["scales"] or ())


def explainer(method: str | Method = "gradcam", **options: Any) -> Explainer:
    """Builds the pure explainer ``(model, x, targets=None) → (B, H, W) jax.Array``.

    ``method`` is a registered name or a :class:`gigjax.Method`; ``options`` are listed by
    ``gigjax.describe(method)``. Unknown names or bad values raise :class:`GigjaxError` here,
    before anything runs.
    """
    spec, post, opts = _bind(method, options)
    run = _pipeline(spec, post, opts)

    def explain_fn(model: Model, x: jax.Array, targets: Targets = None) -> jax.Array:
        x, targets = check_call(model, x, targets)
        maps = run(model, x, targets, _layers(spec, post, model, x))
        return _blank_out_of_range(maps, targets, model.card.num_classes)

    return explain_fn


def _blank_out_of_range(maps: jax.Array, targets: Targets, num_classes: int | None) -> jax.Array:
    """All-NaN maps for the images whose class index is out of range (only possible under ``jit``,
    where the class cannot be checked eagerly), whatever the method: a class-agnostic one (EigenCAM)
    or one whose map loses the NaN score (a gradient through ``where``) too. Callable targets get the
    same through the NaN score (:mod:`gigjax.targets`)."""
    if targets is None or callable(targets) or not num_classes:
        return maps
    classes = jnp.broadcast_to(jnp.asarray(targets), maps.shape[:1])
    valid = (classes >= 0) & (classes < num_classes)
    return jnp.where(valid.reshape(-1, *([1] * (maps.ndim - 1))), maps, jnp.nan)


def _split(spec: Method, options: dict) -> tuple[tuple, dict]:
    """Array-valued options become jit arguments; the rest are hashed into the compile cache key."""
    static, arrays = [], {}
    for name, value in options.items():
        if isinstance(value, (jax.Array, np.ndarray)):
            if name not in spec.array_options:
                raise GigjaxError(f"option {name}= of method {spec.name!r} does not take an array")
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
def _compiled(spec: Method, post: tuple, static: tuple, targets_fn: Callable | None) -> Callable:
    post = dict(post)

    def jitted(model, x, targets, arrays):
        post_arrays = {k: v for k, v in arrays.items() if k in POSTPROCESSING}  # a smoothing key
        fn = _pipeline(spec, {**post, **post_arrays}, {**dict(static), **{k: v for k, v in arrays.items()
                                                                          if k not in post_arrays}})
        return fn(model, x, targets_fn if targets_fn is not None else targets, _layers(spec, post, model, x))

    return jax.jit(jitted)


def explain(model: Model, x: jax.Array, method: str | Method = "gradcam", targets: Targets = None,
            **options: Any) -> jax.Array:
    """Explains ``targets`` of ``model`` on the normalised batch ``x`` with ``method``.

    Args:
      model: a :class:`gigjax.models.Model` (``gigjax.load_model``).
      x: (B, H, W, 3) float batch normalised for the model (``model.preprocess(photos)``).
      method: a registered method name (``gigjax.available_methods()``) or a :class:`gigjax.Method`.
      targets: ``None`` (argmax), an int, an int array of length B, or a callable on the logits.
      **options: the method's own and the post-processing options (``gigjax.describe(method)``).

    Returns:
      (B, H, W) ``jax.Array`` of maps (in [0, 1] unless ``normalize=False`` or ``raw=True``).
    """
    spec, post, opts = _bind(method, options)  # every option, eagerly, outside jit
    x, targets = check_call(model, x, targets)  # eagerly: inside jit NaN values cannot be seen
    static, arrays = _split(spec, opts)
    arrays.update({k: v for k, v in post.items() if isinstance(v, (jax.Array, np.ndarray))})
    post_key = tuple(sorted((k, v) for k, v in post.items() if k not in arrays))
    if callable(targets):
        return _compiled(spec, post_key, static, targets)(model, x, None, arrays)
    return _compiled(spec, post_key, static, None)(model, x, targets, arrays)
