"""Plain JAX functions: ``logits = head(params, features(params, x))``, one layer named ``"features"``."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax

from gigjax.model_kinds import check_once

name = "function"
LAYER = "features"


@dataclasses.dataclass(frozen=True)
class FunctionModule:
    """The static part of a function model (compared by the identity of its functions).

    Attributes:
      features: ``(params, x) → A``, the probed layer ``"features"``; ``None`` for a model with no layer.
      head: ``(params, A) → logits``.
      apply: ``(params, x) → logits``, used only when ``features`` is ``None``.
    """

    features: Callable | None = None
    head: Callable | None = None
    apply_fn: Callable | None = None

    def apply(self, params: Any, x: jax.Array) -> Any:
        if self.features is None:
            return self.apply_fn(params, x)
        return self.head(params, self.features(params, x))


def serves(module: Any) -> bool:
    return isinstance(module, FunctionModule)


def intercept(model, x: jax.Array, wanted: set[str] | None, on_call: Callable) -> tuple[Any, set[str]]:
    module, seen = model.module, set()
    if module.features is None:
        return module.apply_fn(model.variables, x), seen
    a = module.features(model.variables, x)
    if check_once(LAYER, seen, wanted):
        a = on_call(LAYER, module, (x,), a)
    return module.head(model.variables, a), seen


def parameters(model, path: str) -> dict | None:
    return None
