"""Model surgery: record, edit or replace what a layer of a model outputs, without touching its code.

This is the one seam between explainers and networks. It works on every kind of
:class:`gigjax.models.Model` (linen, NNX, plain function: :mod:`gigjax.model_kinds`). A layer is named
by its path (``"head"``, ``"layer4/2"``, ``"blocks/3/conv"``, ``"features"``); a layer whose output is a
tuple or dict is selected by element, ``"encoder/block_11:0"`` (``"layer:key"`` for a dict, ``"a:0:1"``
nested). What is recorded and edited is the layer's *view*: the selected array, passed through the
layer's reshape on the card (``card.reshape``, e.g. :func:`gigjax.tokens_to_grid` for ViT tokens), so
explainers always see (B, h, w, K) feature maps; an edited view is written back into the output
(:func:`gigjax.tokens.restore`), leaving the rest (the class token, other tuple elements) as it was.

* :func:`forward` runs the model once, records the views of some layers and optionally edits them.
* :func:`run_from` evaluates "the network after ``layer``": the logits when ``layer`` outputs a given
  activation. The part of the network before ``layer`` is still traced, but its result is unused, so
  under ``jax.jit`` XLA removes it (dead-code elimination). Where a skip connection jumps over
  ``layer`` (or a reshape leaves tokens out of the view) the earlier values *are* used and are
  computed, so the result stays exact. Map :func:`run_from` with ``jax.vmap`` over a stack of
  activations while ``x`` stays unbatched: the pre-layer work that remains is then done once.
* :func:`record_calls` records each named module's input, output, variables and an unbound copy of
  the module, so a rule can re-apply the module's own operation to other inputs or weights (FG-CAM;
  linen models and plain array outputs only).
* :func:`layer_outputs` lists every layer with the abstract value of its output.

All functions are pure and compose with ``jit``/``vmap``/``grad``.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import flax.linen as nn
import flax.struct
import jax

from gigjax import tokens
from gigjax.errors import GigjaxError
from gigjax.memo import memoised
from gigjax.model_kinds import kind_of
from gigjax.numerics import abstract_type
from gigjax.model_kinds.linen import module_path
from gigjax.models import Model
from gigjax.models.model import check_input, check_model

Edit = Callable[[jax.Array], jax.Array]
__all__ = ["Call", "Edit", "forward", "layer_outputs", "layer_view", "module_path", "parameters", "record_calls",
           "run_from", "select_element", "split_layer"]


def split_layer(layer: str) -> tuple[str, tuple[str, ...]]:
    """``"block:0:key"`` → (``"block"``, (``"0"``, ``"key"``)): the module path and the element selector."""
    base, *selector = layer.split(":")
    return base, tuple(selector)


def select_element(out: Any, selector: tuple[str, ...], layer: str) -> Any:
    for key in selector:
        if isinstance(out, (tuple, list)) and key.lstrip("-").isdigit() and -len(out) <= int(key) < len(out):
            out = out[int(key)]
        elif isinstance(out, Mapping) and key in out:
            out = out[key]
        else:
            raise GigjaxError(f"layer {layer!r}: no element {key!r} in an output of type {type(out).__name__}")
    return out


def _replace(out: Any, selector: tuple[str, ...], value: Any) -> Any:
    if not selector:
        return value
    key, rest = selector[0], selector[1:]
    if isinstance(out, (tuple, list)):
        items = list(out)
        items[int(key)] = _replace(items[int(key)], rest, value)
        return type(out)(items) if not hasattr(out, "_fields") else type(out)(*items)
    return type(out)({**out, key: _replace(out[key], rest, value)})


def layer_view(model: Model, layer: str, out: Any) -> jax.Array:
    """The array explainers see at ``layer``: the selected element, reshaped by the card's reshape."""
    element = select_element(out, split_layer(layer)[1], layer)
    if not isinstance(element, jax.Array):
        hint = (f"; select an element, e.g. {layer}:0" if isinstance(element, (tuple, list, Mapping))
                else "")
        raise GigjaxError(f"layer {layer!r} returns {type(element).__name__}, not an array{hint}")
    return tokens.apply_view(model.card.reshape_for(layer), element, layer)


def _write_view(model: Model, layer: str, out: Any, view: jax.Array) -> Any:
    """``out`` with the view of ``layer`` replaced by ``view``."""
    selector = split_layer(layer)[1]
    element = select_element(out, selector, layer)
    reshape = model.card.reshape_for(layer)
    return _replace(out, selector, view if reshape is None else tokens.restore(reshape, view, element))


def _run(model: Model, x: jax.Array, layers: Sequence[str], on_view: Callable[[str, Any, tuple, Any], Any]):
    """Runs ``model``, calling ``on_view(layer, module, args, output) → output`` for each wanted module
    output (``layers`` grouped by module path); unknown layers raise :class:`GigjaxError`."""
    check_model(model)
    check_input(model, x)
    by_path: dict[str, list[str]] = {}
    for layer in layers:
        by_path.setdefault(split_layer(layer)[0], []).append(layer)

    def on_call(path, module, args, out):
        for layer in by_path[path]:
            out = on_view(layer, module, args, out)
        return out

    logits, seen = kind_of(model.module).intercept(model, x, set(by_path), on_call)
    missing = sorted(set(by_path) - seen)
    if missing:
        raise GigjaxError(f"unknown layer(s) {', '.join(map(repr, missing))}: never ran in {model.card.name}; "
                          f"see gigjax.list_layers(model)")
    return logits


def forward(model: Model, x: jax.Array, *, record: Sequence[str] = (),
            edit: Mapping[str, Edit] | None = None) -> tuple[Any, dict[str, jax.Array]]:
    """Runs ``model`` on ``x``; returns ``(output, {layer: view})`` for the ``record`` layers.

    ``edit`` maps layers to functions ``view → new view`` applied inside the forward pass (the
    recorded value is the edited one). Unknown layers raise :class:`GigjaxError`.
    """
    edit = dict(edit or {})
    recorded: dict[str, jax.Array] = {}
    keep = set(record)

    def on_view(layer, module, args, out):
        view = layer_view(model, layer, out)
        if layer in edit:
            new = edit[layer](view)
            if getattr(new, "shape", None) != view.shape:
                raise GigjaxError(f"the replacement for layer {layer!r} has shape {getattr(new, 'shape', None)}, "
                                  f"the layer outputs {tuple(view.shape)}")
            out, view = _write_view(model, layer, out, new), new
        if layer in keep:
            recorded[layer] = view
        return out

    logits = _run(model, x, list(dict.fromkeys([*record, *edit])), on_view)
    return logits, recorded


def run_from(model: Model, layer: str, activation: jax.Array, x: jax.Array) -> Any:
    """Logits of ``model`` when ``layer``'s view is ``activation`` instead of its own value.

    Args:
      model: the classifier.
      layer: layer whose view is replaced.
      activation: (B, ...) the substitute view (same shape as the layer's view on ``x``).
      x: (B, H, W, C) an input of the shape the activation belongs to. Its values matter only where
        the network reuses pre-``layer`` values (a skip connection over ``layer``, tokens a reshape
        leaves out); otherwise the pre-layer computation is dead code that ``jax.jit`` removes.

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
    """Runs ``model`` once; returns ``(logits, {layer: Call})`` for each named linen module."""
    check_model(model)
    kind = kind_of(model.module)
    if kind.name != "linen":
        raise GigjaxError(f"this method re-applies the model's own linen modules; a {kind.name} model has none "
                          f"(use a gradient method such as gradcam or gigcam)")
    calls: dict[str, Call] = {}

    def on_view(layer, module, args, out):
        if split_layer(layer)[1] or model.card.reshape_for(layer) is not None:
            raise GigjaxError(f"layer {layer!r} is a selected or reshaped output; this method needs a module "
                              f"that returns a (B, h, w, K) feature map itself")
        if not args or not isinstance(args[0], jax.Array) or not isinstance(out, jax.Array):
            raise GigjaxError(f"layer {layer!r} is not called on an array and returning one")
        calls[layer] = Call(module=module.clone(parent=None), variables=dict(module.variables),
                            input=args[0], output=out)
        return out

    logits = _run(model, x, layers, on_view)
    return logits, calls


def layer_outputs(model: Model, x: Any) -> dict[str, Any]:
    """{module path: abstract output} of every layer, in the order the layers finish (``x`` may be a
    ``jax.ShapeDtypeStruct``). Nothing is computed: the model is traced with ``jax.eval_shape``
    (once per model structure and input type: :func:`abstract`)."""
    check_model(model)
    check_input(model, x)

    def trace():
        found: dict[str, Any] = {}

        def on_call(path, module, args, out):
            found[path] = jax.tree_util.tree_map(
                lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype) if hasattr(v, "shape") else v, out)
            return out

        jax.eval_shape(lambda m, v: kind_of(m.module).intercept(m, v, None, on_call)[0], model, x)
        return found

    return dict(abstract("layer_outputs", trace, model, x))


_ABSTRACT_MEMO_SIZE = 256
_ABSTRACT: dict[tuple, Any] = {}


def abstract(what: Any, trace: Callable[[], Any], model: Model, x: Any) -> Any:
    """``trace()`` — a shape-only trace (``jax.eval_shape``) of ``model`` on ``x`` — memoised on
    (``what``, the model's structure, the shape and dtype of its variables and of ``x``).

    An explainer asks the same shape questions of the same model many times (the layer list its
    input is checked against, each probe's activation shapes, inside and outside ``jit``); each
    answer costs a trace of the whole network (~0.4 s for Lite0 on 2 cores). Abstract values do
    not depend on the values of the variables or of ``x``, nor on whether they are tracers, so one
    trace answers them all. ``what`` names the question (with its arguments: hashable), and must
    fix ``trace`` together with the model and ``x``. A model whose structure cannot be hashed is
    traced every time.
    """
    leaves, treedef = jax.tree_util.tree_flatten((model, x))
    try:
        key = (what, treedef, tuple(abstract_type(leaf) if hasattr(leaf, "shape") else leaf for leaf in leaves))
        hash(key)
    except TypeError:  # a leaf that is neither an array nor hashable
        return trace()
    return memoised(_ABSTRACT, key, trace, _ABSTRACT_MEMO_SIZE)


def parameters(model: Model, layer: str) -> dict | None:
    """The own parameters of ``layer`` (``{"kernel": ..., "bias": ...}``), or ``None`` when it has none."""
    check_model(model)
    return kind_of(model.module).parameters(model, split_layer(layer)[0])
