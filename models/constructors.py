"""``Model.from_linen`` / ``from_nnx`` / ``from_function``: a :class:`gigjax.Model` from a user's own network,
its card filled by tracing it (:mod:`gigjax.models.inference`), so only the network itself is required."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from gigjax.errors import GigjaxError


def describe_unwrapped(obj: Any) -> str:
    """What ``obj`` is and the constructor that wraps it into a gigjax Model (for error messages)."""
    import flax.linen as nn
    from flax import nnx

    kind = type(obj).__name__
    if isinstance(obj, nnx.Module):
        return f"the Flax NNX module {kind}: wrap it with gigjax.Model.from_nnx(module)"
    if isinstance(obj, nn.Module):
        return f"the Flax linen module {kind}: wrap it with gigjax.Model.from_linen(module, variables)"
    if callable(obj):
        return (f"the function {getattr(obj, '__name__', kind)}: wrap it with gigjax.Model.from_function(apply, "
                f"params, features=..., head=...)")
    return f"{kind} (load a zoo model with gigjax.load_model, or wrap your own with gigjax.Model.from_linen, "\
           f"from_nnx or from_function)"


def from_linen(module: Any, variables: Any, *, cam_layer: str | None = None, num_classes: int | None = None,
               class_names: Sequence[str] | None = None, input_size: tuple[int, int] | None = None,
               mean: Sequence[float] | None = None, std: Sequence[float] | None = None, name: str | None = None,
               reshape: Callable | Mapping[str, Callable] | None = None, channels: int = 3,
               description: str = "") -> Any:
    """A Model of a Flax linen module and its variables (``module.apply(variables, x)``).

    Args:
      module, variables: the linen module and its variables (``{"params": ..., "batch_stats": ...}``).
      cam_layer: default layer of the CAM methods; default: the last 4-D feature map (with ``reshape``,
        the last token layer whose gradient reaches the patch tokens).
      num_classes: checked against the output's last axis (inferred from it when omitted).
      class_names: one per class (default ``"0"``, ``"1"``, …).
      input_size: (H, W) the network takes (default (224, 224)).
      mean, std: normalisation in units of pixel/255 (default 0 and 1: the network sees pixel/255).
      name: the card's name (default: the module's class name, lower case).
      reshape: a token layout such as ``gigjax.tokens_to_grid(skip=1)``, set on every layer whose output
        it fits, or a ``{layer: reshape}`` dict.
      channels: input channels (default 3; ignored when ``mean`` is given: one entry per channel).
      description: one line for the card.

    Returns:
      A :class:`gigjax.Model` whose card lists every layer, the default CAM layer and, for a global
      average pooling + Dense head, its classifier (so ``method="cam"`` works).
    """
    import flax.linen as nn

    if not isinstance(module, nn.Module):
        raise GigjaxError(f"Model.from_linen needs a flax.linen Module, got {describe_unwrapped(module)}")
    return _build(module, variables, locals(), type(module).__name__)


def from_nnx(module: Any, *, cam_layer: str | None = None, num_classes: int | None = None,
             class_names: Sequence[str] | None = None, input_size: tuple[int, int] | None = None,
             mean: Sequence[float] | None = None, std: Sequence[float] | None = None, name: str | None = None,
             reshape: Callable | Mapping[str, Callable] | None = None, channels: int = 3,
             description: str = "") -> Any:
    """A Model of a Flax NNX module (keywords as :func:`from_linen`; layers are submodule paths such as
    ``"blocks/3/conv"``). The module is split into a static graphdef and a state pytree of an
    evaluation-mode copy (``module`` itself is not changed), so the Model passes through ``jax.jit``
    and a state of the same structure reuses the compiled program."""
    from flax import nnx

    from gigjax.model_kinds import nnx as nnx_kind

    if not isinstance(module, nnx.Module):
        raise GigjaxError(f"Model.from_nnx needs a flax.nnx Module, got {describe_unwrapped(module)}")
    static, state = nnx_kind.split(module)
    return _build(static, state, locals(), type(module).__name__)


def from_function(apply: Callable | None = None, params: Any = None, *, features: Callable | None = None,
                  head: Callable | None = None, cam_layer: str | None = None, num_classes: int | None = None,
                  class_names: Sequence[str] | None = None, input_size: tuple[int, int] | None = None,
                  mean: Sequence[float] | None = None, std: Sequence[float] | None = None, name: str | None = None,
                  reshape: Callable | Mapping[str, Callable] | None = None, channels: int = 3,
                  description: str = "") -> Any:
    """A Model of any JAX function (haiku, equinox, stax, hand-written), split at one layer.

    Args:
      apply: ``(params, x) → logits``; with ``features`` and ``head`` it is only checked to give the
        same output shape as ``head(params, features(params, x))``, which is what every method runs.
      params: the parameter pytree passed to all three functions.
      features: ``(params, x) → A``, the one probed layer, named ``"features"`` (a (B, h, w, K) map, or
        tokens with ``reshape``).
      head: ``(params, A) → logits``.
      Other keywords as :func:`from_linen`. Without ``features``/``head`` only the input methods
      (Integrated Gradients, Guided IG, ...) apply.
    """
    from gigjax.model_kinds.function import FunctionModule

    if (features is None) != (head is None):
        raise GigjaxError("Model.from_function needs both features= and head= (or neither, with apply)")
    if features is None and apply is None:
        raise GigjaxError("Model.from_function needs apply, or features= and head=")
    for label, fn in (("apply", apply), ("features", features), ("head", head)):
        if fn is not None and not callable(fn):
            raise GigjaxError(f"Model.from_function: {label} must be a function, got {type(fn).__name__}")
    static = FunctionModule(features=features, head=head, apply_fn=apply)
    model = _build(static, params, locals(), getattr(apply or features, "__name__", "function"))
    if apply is not None and features is not None:
        from gigjax.models.inference import check_same_output

        check_same_output(model, apply)
    return model


def _build(module: Any, variables: Any, options: dict, default_name: str) -> Any:
    from gigjax.models.inference import infer_card

    return infer_card(module, variables, name=options["name"] or default_name.lower(),
                      **{k: options[k] for k in ("cam_layer", "num_classes", "class_names", "input_size", "mean",
                                                 "std", "reshape", "channels", "description")})
