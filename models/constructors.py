"""``Model.from_linen`` / ``from_nnx`` / ``from_function``: a :class:`gigjax.Model` from a user's own network,
its card filled by tracing it (:mod:`gigjax.models.inference`), so only the network itself is required.

The card keywords the three constructors share are declared once, in :class:`CardKeywords`; each
constructor takes them as ``**card`` and :func:`_takes_card_keywords` lists them in its signature
(``help``, ``inspect.signature``) and its docstring."""

from __future__ import annotations

import dataclasses
import inspect
import textwrap
from typing import Any, Callable, Mapping, Sequence

from gigjax.errors import GigjaxError


def _keyword(default: Any, doc: str) -> Any:
    return dataclasses.field(default=default, metadata={"doc": doc})


@dataclasses.dataclass(frozen=True)
class CardKeywords:
    """The card keywords of every constructor: each one omitted is inferred by tracing the network."""

    cam_layer: str | None = _keyword(None, "default layer of the CAM methods; default: the last 4-D feature map "
                                           "(with ``reshape``, the last token layer whose gradient reaches the "
                                           "patch tokens).")
    num_classes: int | None = _keyword(None, "checked against the output's last axis (inferred from it when "
                                             "omitted).")
    class_names: Sequence[str] | None = _keyword(None, 'one per class (default ``"0"``, ``"1"``, …).')
    input_size: tuple[int, int] | None = _keyword(None, "(H, W) the network takes (default (224, 224)).")
    mean: Sequence[float] | None = _keyword(None, "per-channel normalisation mean in units of pixel/255 (default "
                                                  "0: the network sees pixel/255).")
    std: Sequence[float] | None = _keyword(None, "per-channel normalisation std in units of pixel/255 (default 1).")
    name: str | None = _keyword(None, "the card's name (default: the module's or function's name, lower case).")
    reshape: Callable | Mapping[str, Callable] | None = _keyword(
        None, "a token layout such as ``gigjax.tokens_to_grid(skip=1)``, set on every layer whose output it "
              "fits, or a ``{layer: reshape}`` dict.")
    channels: int = _keyword(3, "input channels (default 3; ignored when ``mean`` is given: one entry per "
                                "channel).")
    description: str = _keyword("", "one line for the card.")


_CARD_FIELDS = dataclasses.fields(CardKeywords)
_CARD_PARAMETERS = tuple(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                           annotation=f.type) for f in _CARD_FIELDS)
_CARD_DOC = "\n".join(textwrap.fill(f"{f.name}: {f.metadata['doc']}", 104, initial_indent="      ",
                                     subsequent_indent="        ") for f in _CARD_FIELDS)


def _takes_card_keywords(constructor: Callable) -> Callable:
    """Lists :class:`CardKeywords` in ``constructor``'s signature in place of its ``**card`` and in its
    docstring in place of the line ``{card_keywords}``; returns ``constructor`` itself."""
    own = inspect.signature(constructor)
    parameters = [p for p in own.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    constructor.__signature__ = own.replace(parameters=parameters + list(_CARD_PARAMETERS))
    constructor.__doc__ = constructor.__doc__.replace("      {card_keywords}", _CARD_DOC)
    return constructor


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


@_takes_card_keywords
def from_linen(module: Any, variables: Any, **card: Any) -> Any:
    """A Model of a Flax linen module and its variables (``module.apply(variables, x)``).

    Args:
      module, variables: the linen module and its variables (``{"params": ..., "batch_stats": ...}``).
      {card_keywords}

    Returns:
      A :class:`gigjax.Model` whose card lists every layer, the default CAM layer and, for a global
      average pooling + Dense head, its classifier (so ``method="cam"`` works).
    """
    import flax.linen as nn

    if not isinstance(module, nn.Module):
        raise GigjaxError(f"Model.from_linen needs a flax.linen Module, got {describe_unwrapped(module)}")
    return _build("from_linen", module, variables, card, type(module).__name__)


@_takes_card_keywords
def from_nnx(module: Any, **card: Any) -> Any:
    """A Model of a Flax NNX module (layers are submodule paths such as ``"blocks/3/conv"``). The module
    is split into a static graphdef and a state pytree of an evaluation-mode copy (``module`` itself
    is not changed), so the Model passes through ``jax.jit`` and a state of the same structure reuses
    the compiled program.

    Args:
      module: the NNX module.
      {card_keywords}
    """
    from flax import nnx

    from gigjax.model_kinds import nnx as nnx_kind

    if not isinstance(module, nnx.Module):
        raise GigjaxError(f"Model.from_nnx needs a flax.nnx Module, got {describe_unwrapped(module)}")
    static, state = nnx_kind.split(module)
    return _build("from_nnx", static, state, card, type(module).__name__)


@_takes_card_keywords
def from_function(apply: Callable | None = None, params: Any = None, *, features: Callable | None = None,
                  head: Callable | None = None, **card: Any) -> Any:
    """A Model of any JAX function (haiku, equinox, stax, hand-written), split at one layer.

    Args:
      apply: ``(params, x) → logits``; with ``features`` and ``head`` it is only checked to give the
        same output shape as ``head(params, features(params, x))``, which is what every method runs.
      params: the parameter pytree passed to all three functions.
      features: ``(params, x) → A``, the one probed layer, named ``"features"`` (a (B, h, w, K) map, or
        tokens with ``reshape``).
      head: ``(params, A) → logits``.
      {card_keywords}

    Without ``features``/``head`` only the input methods (Integrated Gradients, Guided IG, ...) apply.
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
    model = _build("from_function", static, params, card, getattr(apply or features, "__name__", "function"))
    if apply is not None and features is not None:
        from gigjax.models.inference import check_same_output

        check_same_output(model, apply)
    return model


def _build(constructor: str, module: Any, variables: Any, card: dict, default_name: str) -> Any:
    """``infer_card`` with the given card keywords over :class:`CardKeywords`' defaults (an unknown one is
    a ``TypeError``, as for any function)."""
    from gigjax.models.inference import infer_card

    for keyword in card:
        if keyword not in CardKeywords.__dataclass_fields__:
            raise TypeError(f"{constructor}() got an unexpected keyword argument {keyword!r}")
    options = {f.name: card.get(f.name, f.default) for f in _CARD_FIELDS}
    return infer_card(module, variables, **{**options, "name": options["name"] or default_name.lower()})
