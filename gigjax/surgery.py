"""Model surgery: record, edit or replace what a layer of a Flax model outputs, without touching its code.

Everything here works on any linen classifier wrapped in a :class:`gigjax.models.Model`, by intercepting
module calls with ``flax.linen.intercept_methods``; layers are module paths (``"head"``, ``"layer4/2"``).

* :func:`forward` runs the model once, records the outputs of some layers and optionally edits them.
* :func:`run_from` evaluates "the network after ``layer``": the logits when ``layer`` outputs a given
  activation. The part of the network before ``layer`` is still traced, but its result is unused, so
  under ``jax.jit`` XLA removes it (dead-code elimination). Where a skip connection jumps over
  ``layer`` the earlier values *are* used and are computed, so the result stays exact. Map
  :func:`run_from` with ``jax.vmap`` over a stack of activations while ``x`` stays unbatched: the
  pre-layer work that remains is then done once, not once per activation.
* :func:`record_calls` records each named module's input, output, variables and an unbound copy of
  the module, so a rule can re-apply the module's own operation to other inputs or weights (FG-CAM).

All functions are pure and compose with ``jit``/``vmap``/``grad``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import flax.linen as nn
import flax.struct
import jax

from gigjax.errors import GigjaxError
from gigjax.models import Model

Edit = Callable[[jax.Array], jax.Array]


def module_path(module: nn.Module) -> str:
    """The slash-separated path of a bound module (``"blocks_3/expand"``)."""
    return "/".join(module.path)


def _intercept(wanted: set[str], on_call: Callable[[str, nn.Module, tuple, Any], Any]):
    """An interceptor calling ``on_call(path, module, args, output) -> output`` for each wanted
    module's ``__call__``; each wanted module must run exactly once per forward pass."""
    seen: set[str] = set()

    def interceptor(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if context.method_name != "__call__":
            return out
        path = module_path(context.module)
        if path not in wanted:
            return out
        if path in seen:
            raise GigjaxError(f"layer {path!r} is called more than once per forward pass; "
                              f"use a layer that runs once")
        seen.add(path)
        if not isinstance(out, jax.Array):
            raise GigjaxError(f"layer {path!r} returns {type(out).__name__}, not an array")
        return on_call(path, context.module, args, out)

    return interceptor, seen


def _check_found(model: Model, wanted: set[str], seen: set[str]) -> None:
    missing = sorted(wanted - seen)
    if missing:
        raise GigjaxError(f"unknown layer(s) {', '.join(map(repr, missing))}: never ran in {model.card.name}; "
                          f"see gigjax.list_layers(model)")


def forward(model: Model, x: jax.Array, *, record: Sequence[str] = (),
            edit: Mapping[str, Edit] | None = None) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Runs ``model`` on ``x``; returns ``(logits, {layer: output})`` for the ``record`` layers.

    ``edit`` maps layer paths to functions ``output → new output`` applied inside the forward pass
    (the recorded value is the edited one). Unknown layers raise :class:`GigjaxError`.
    """
    edit = dict(edit or {})
    recorded: dict[str, jax.Array] = {}
    keep = set(record)

    def on_call(path, module, args, out):
        if path in edit:
            new = edit[path](out)
            if getattr(new, "shape", None) != out.shape:
                raise GigjaxError(f"the replacement for layer {path!r} has shape {getattr(new, 'shape', None)}, "
                                  f"the layer outputs {tuple(out.shape)}")
            out = new
        if path in keep:
            recorded[path] = out
        return out

    wanted = keep | set(edit)
    interceptor, seen = _intercept(wanted, on_call)
    with nn.intercept_methods(interceptor):
        logits = model.logits(x)
    _check_found(model, wanted, seen)
    return logits, recorded


def run_from(model: Model, layer: str, activation: jax.Array, x: jax.Array) -> jax.Array:
    """Logits of ``model`` when ``layer`` outputs ``activation`` instead of its own value.

    Args:
      model: the classifier.
      layer: module path whose output is replaced.
      activation: (B, ...) the substitute output (same shape as the layer's output on ``x``).
      x: (B, H, W, C) an input of the shape the activation belongs to. Its values matter only where
        the network reuses pre-``layer`` values (a skip connection over ``layer``); otherwise the
        pre-layer computation is dead code that ``jax.jit`` removes.

    Returns:
      (B, num_classes) logits.
    """
    logits, _ = forward(model, x, edit={layer: lambda out: activation})
    return logits


@flax.struct.dataclass
class Call:
    """One recorded module call.

    Attributes:
      module: an unbound copy of the module (static), so ``module.apply(variables, v)`` re-runs it.
      variables: the module's own variables (``{"params": ..., "batch_stats": ...}``).
      input: the first positional argument it was called with.
      output: what it returned.
    """

    module: nn.Module = flax.struct.field(pytree_node=False)
    variables: Any
    input: jax.Array
    output: jax.Array

    def apply(self, v: jax.Array, variables: Any = None) -> jax.Array:
        """The module's operation on ``v`` (with ``variables`` replacing its own when given)."""
        return self.module.apply(self.variables if variables is None else variables, v)


def record_calls(model: Model, x: jax.Array, layers: Sequence[str]) -> tuple[jax.Array, dict[str, Call]]:
    """Runs ``model`` once; returns ``(logits, {layer: Call})`` for each named module."""
    calls: dict[str, Call] = {}

    def on_call(path, module, args, out):
        if not args or not isinstance(args[0], jax.Array):
            raise GigjaxError(f"layer {path!r} is not called on an array")
        calls[path] = Call(module=module.clone(parent=None), variables=dict(module.variables),
                           input=args[0], output=out)
        return out

    wanted = set(layers)
    interceptor, seen = _intercept(wanted, on_call)
    with nn.intercept_methods(interceptor):
        logits = model.logits(x)
    _check_found(model, wanted, seen)
    return logits, calls
