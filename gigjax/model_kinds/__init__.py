"""The kinds of model gigjax can open, each behind the same seam (:mod:`gigjax.surgery`).

A kind says how to run a :class:`gigjax.Model` while watching (and replacing) what its layers output:

* **linen** — ``Model.module`` is a ``flax.linen.Module``, ``variables`` its variables; layers are
  module paths (``"layer4/2/conv3"``), intercepted with ``flax.linen.intercept_methods``.
* **nnx** — ``Model.module`` is an :class:`~gigjax.model_kinds.nnx.NnxModule` (the static graphdef),
  ``variables`` the ``nnx.State``; layers are submodule attribute paths (``"blocks/3/conv"``), seen by a
  hook on the watched submodules' ``__call__`` while the merged module runs.
* **function** — ``Model.module`` is a :class:`~gigjax.model_kinds.function.FunctionModule`,
  ``variables`` any params pytree; the one layer is ``"features"``: ``head(p, features(p, x))``.

Every kind module provides ``serves(module)``, ``intercept(model, x, wanted, on_call) → (output, seen)``
— it runs the model on ``x`` and calls ``on_call(path, module, args, output) → output`` for each layer in
``wanted`` (every layer when ``wanted`` is ``None``; then the first call of a layer counts) — and
``parameters(model, path)``: the layer's own parameters as a dict of arrays, or ``None``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from gigjax.errors import GigjaxError


def kind_of(module: Any) -> ModuleType:
    """The kind module (``gigjax.model_kinds.linen`` / ``nnx`` / ``function``) serving a ``Model.module``."""
    from gigjax.model_kinds import function, linen, nnx

    for kind in (linen, nnx, function):
        if kind.serves(module):
            return kind
    raise GigjaxError(f"a gigjax Model's module must be a flax linen Module, an NNX graphdef or a function "
                      f"pair (build it with Model.from_linen / from_nnx / from_function), got "
                      f"{type(module).__name__}")


def check_once(path: str, seen: set[str], wanted) -> bool:
    """Marks ``path`` as called; False when it is not watched (or, when listing, already seen).
    A watched layer that runs twice in one forward pass is an error (its output is ambiguous)."""
    if wanted is None:
        if path in seen:
            return False
        seen.add(path)
        return True
    if path not in wanted:
        return False
    if path in seen:
        raise GigjaxError(f"layer {path!r} is called more than once per forward pass; use a layer that runs once")
    seen.add(path)
    return True
