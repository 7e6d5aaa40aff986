"""Flax linen models: layers are module paths, intercepted with ``flax.linen.intercept_methods``."""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax

from gigjax.model_kinds import check_once

name = "linen"


def serves(module: Any) -> bool:
    return isinstance(module, nn.Module)


def module_path(module: nn.Module) -> str:
    """The slash-separated path of a bound module (``"blocks_3/expand"``)."""
    return "/".join(module.path)


def intercept(model, x: jax.Array, wanted: set[str] | None, on_call: Callable) -> tuple[Any, set[str]]:
    seen: set[str] = set()

    def interceptor(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if context.method_name != "__call__" or not context.module.path:
            return out
        path = module_path(context.module)
        if not check_once(path, seen, wanted):
            return out
        return on_call(path, context.module, args, out)

    with nn.intercept_methods(interceptor):
        logits = model.module.apply(model.variables, x)
    return logits, seen


def parameters(model, path: str) -> dict | None:
    node = model.variables.get("params", {}) if hasattr(model.variables, "get") else {}
    for part in path.split("/"):
        if not hasattr(node, "get") or part not in node:
            return None
        node = node[part]
    return dict(node) if hasattr(node, "items") else None
