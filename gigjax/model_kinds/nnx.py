"""Flax NNX models: split once into a static graphdef and a state pytree; layers are submodule paths.

The :class:`gigjax.Model` of an NNX module holds ``NnxModule(graphdef)`` (static, hashable) and the
``nnx.State`` (the pytree leaves), so it passes through ``jax.jit`` as an argument and a new state of the
same structure reuses the compiled program. Inside the traced function the module is merged again and
run; a watched submodule's output is seen (and may be replaced) by a hook on its class's ``__call__``
that fires only for the watched instances of this run — the mechanism ``nnx.capture(...,
method_outputs=...)`` uses to sow method outputs — so the probe gets a layer's activation from the
forward pass and its gradient from the backward pass (δ added to the output, as for linen). The hook
is installed for the duration of one run (while it is traced) and removed after, so the classes are
left as they were; two threads tracing models of the same NNX class at once are not supported.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable

import jax
from flax import nnx

from gigjax.model_kinds import check_once

name = "nnx"
_HOOKS: list[dict[int, Callable]] = []  # stack of {id(submodule): hook(output) -> output}, one per run
_RUNNING: set[int] = set()  # submodules inside a hooked __call__ (a super().__call__ does not fire twice)
_MARK = "_gigjax_original_call"


@dataclasses.dataclass(frozen=True)
class NnxModule:
    """The static half of a split NNX module: ``apply(state, x) = nnx.merge(graphdef, state)(x)``."""

    graphdef: Any

    def apply(self, state: Any, x: jax.Array) -> Any:
        return nnx.merge(self.graphdef, state)(x)


def split(module: nnx.Module) -> tuple[NnxModule, Any]:
    """(static NnxModule, state) of an evaluation-mode copy of ``module`` (Dropout off, BatchNorm on
    running statistics); ``module`` itself is left unchanged."""
    graphdef, state = nnx.split(module)
    copy = nnx.merge(graphdef, state)
    copy.eval()
    graphdef, state = nnx.split(copy)
    return NnxModule(graphdef), state


def serves(module: Any) -> bool:
    return isinstance(module, NnxModule)


def _hooked_call(original: Callable) -> Callable:
    def __call__(self, *args, **kwargs):
        if id(self) in _RUNNING:
            return original(self, *args, **kwargs)
        _RUNNING.add(id(self))
        try:
            out = original(self, *args, **kwargs)
        finally:
            _RUNNING.discard(id(self))
        for hooks in reversed(_HOOKS):
            if id(self) in hooks:
                return hooks[id(self)](args, out)
        return out

    setattr(__call__, _MARK, original)
    return __call__


@contextlib.contextmanager
def _hooks(modules: dict[int, nnx.Module], hooks: dict[int, Callable]):
    patched = []
    for cls in {type(m) for m in modules.values()}:
        if hasattr(cls.__call__, _MARK):
            continue  # hooked by an enclosing run
        own = cls.__dict__.get("__call__")
        cls.__call__ = _hooked_call(cls.__call__)
        patched.append((cls, own))
    _HOOKS.append(hooks)
    try:
        yield
    finally:
        _HOOKS.pop()
        for cls, own in patched:
            if own is None:
                del cls.__call__
            else:
                cls.__call__ = own


def intercept(model, x: jax.Array, wanted: set[str] | None, on_call: Callable) -> tuple[Any, set[str]]:
    module = nnx.merge(model.module.graphdef, model.variables)
    paths: dict[int, tuple[str, nnx.Module]] = {}
    for path, sub in nnx.iter_modules(module):
        if path and id(sub) not in paths:
            paths[id(sub)] = ("/".join(map(str, path)), sub)
    watched = {i: ps for i, ps in paths.items() if wanted is None or ps[0] in wanted}
    seen: set[str] = set()

    def hook_for(path, sub):
        def hook(args, out):
            return on_call(path, sub, args, out) if check_once(path, seen, wanted) else out

        return hook

    hooks = {i: hook_for(path, sub) for i, (path, sub) in watched.items()}
    with _hooks({i: sub for i, (_, sub) in watched.items()}, hooks):
        logits = module(x)
    return logits, seen


def parameters(model, path: str) -> dict | None:
    node = model.variables
    for part in path.split("/"):
        key = int(part) if part.isdigit() else part
        if not hasattr(node, "get") or key not in node:
            return None
        node = node[key]
    if not hasattr(node, "items"):
        return None
    return {k: (v.get_value() if isinstance(v, nnx.Variable) else v) for k, v in node.items()
            if not hasattr(v, "items")}
