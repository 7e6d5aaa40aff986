"""The method registry: name → :class:`Method`.

A method is a pure function ``fn(model, x, targets, *, layers, **options)`` returning either

* a tuple of per-layer raw maps ``(B, h_l, w_l)`` (methods with ``uses_layers=True``), or
* one raw map ``(B, H', W')`` at its own resolution (input-space methods such as IG).

Raw means before ReLU, normalisation and resizing, which :mod:`gigjax.explain` applies uniformly.
``options`` holds every keyword the method accepts with its default; ``check`` validates values
before anything is traced, so a bad option is a clear :class:`GigjaxError`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from gigjax.errors import GigjaxError


@dataclasses.dataclass(frozen=True)
class Method:
    """A registered explanation method.

    Attributes:
      name: registry name (``gigjax.explain(..., method=name)``, ``gigjax explain --method name``).
      fn: the pure function described in the module docstring.
      summary: one line for ``--help``.
      options: accepted keyword options and their defaults.
      check: ``options dict → options dict`` validating (and normalising) values; raises GigjaxError.
      uses_layers: whether the method works on probed layers (``layer=`` applies).
      array_options: option names whose values may be arrays; they are passed to the compiled
        function as arguments instead of being compiled in as constants.
    """

    name: str
    fn: Callable[..., Any]
    summary: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    check: Callable[[dict], dict] | None = None
    uses_layers: bool = True
    array_options: frozenset[str] = frozenset()

    def bind(self, options: Mapping[str, Any]) -> dict:
        """Defaults overlaid with ``options``; unknown names and bad values raise ``GigjaxError``."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise GigjaxError(f"method {self.name!r} has no option(s) {', '.join(unknown)} (options: {known})")
        merged = {**self.options, **options}
        return self.check(merged) if self.check else merged


_METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Adds ``method`` to the registry (a later registration of the same name replaces it)."""
    _METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    if not isinstance(name, str) or name not in _METHODS:
        raise GigjaxError(f"unknown method {name!r}; available: {', '.join(available_methods())}")
    return _METHODS[name]


def available_methods() -> tuple[str, ...]:
    return tuple(sorted(_METHODS))
