"""The method registry: name → :class:`Method`, and :func:`describe`.

A method is a pure function ``fn(model, x, targets, *, layers, **options)`` returning either

* a tuple of per-layer raw maps ``(B, h_l, w_l)`` (methods with ``uses_layers=True``), or
* one raw map ``(B, H', W')`` at its own resolution (input-space methods such as IG).

Raw means before ReLU, normalisation and resizing, which :mod:`gigjax.explain` applies uniformly.
``fn`` receives validated input only — ``x`` a finite (B, H, W, C) float batch, ``targets`` checked
(see :mod:`gigjax.targets`), ``layers`` resolved layer paths (``()`` for input-space methods) and
every declared option, validated, as a keyword — so it checks nothing but shapes (``chex``).

Declaring a method (one file under ``gigjax/methods/``, imported by ``gigjax/methods/__init__.py``)::

    from gigjax.methods.base import gradient_cam
    from gigjax.options import Option
    from gigjax.registry import Method, register
    from gigjax.validation import check_positive_int

    def my_term(a, g, *, power):                  # (B, h, w, K) activations and gradients → (B, h, w)
        return jnp.sum(jnp.mean(g, axis=(1, 2), keepdims=True) ** power * a, axis=-1)

    register(Method(
        name="my_cam", fn=gradient_cam(my_term),
        summary="My-CAM: activations weighted by a power of their mean gradients",
        options={"power": Option(1, "exponent of the channel weights", check=check_positive_int)},
    ))

(for a gradient CAM, ``gigjax.methods.base.register_gradient_cam(name, term, summary, options=...)``
says the same in one call).

Each option is declared once, as an :class:`gigjax.options.Option` (default, doc, choices or
validator, array-ness); shared ones (``STEPS``, ``BASELINE``, ...) come from :mod:`gigjax.options`,
with ``STEPS.but(default=200)`` for another default. ``gigjax.explain``, ``gigjax.describe``, ``gigjax
methods`` and the CLI flags all read the declaration. A :class:`Method` value works without
registration too: ``gigjax.explainer(Method(...))``.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Mapping

from gigjax.errors import GigjaxError
from gigjax.options import POSTPROCESSING, Option, bind

REQUIREMENTS = {
    "gap_fc_head": "a global-average-pooling + linear head named by card.classifier; the method is defined "
                   "only at the feature map that head pools (card.cam_layer)",
    "relevance_plan": "an FG-CAM relevance plan on the model card (ModelCard.relevance_plan)",
}
"""What a method may need of a model beyond a classifier (``Method.requires``)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Method:
    """An explanation method.

    Attributes:
      name: registry name (``gigjax.explain(..., method=name)``, ``gigjax explain --method name``).
      fn: the pure function described in the module docstring.
      summary: one line for ``--help`` and ``gigjax methods``.
      options: ``{name: Option}``, every keyword option ``fn`` takes. A post-processing option
        (:data:`gigjax.options.POSTPROCESSING`) declared here sets that option's default for the
        method; it is applied by :mod:`gigjax.explain`, not passed to ``fn``.
      check: ``options dict → options dict`` validating combinations of options (each option's own
        validation is on its :class:`Option`); raises GigjaxError.
      uses_layers: whether the method works on probed layers (``layer=`` applies).
      requires: what the method needs of the model, keys of :data:`REQUIREMENTS`.
      class_index: the method explains one class index per image (CAM's class weights, the fixed
        class of every perturbed pass), so a targets callable must return class indices, not scores;
        ``gigjax evaluate`` then refuses a log-sum-exp class map up front.
    """

    name: str
    fn: Callable[..., Any]
    summary: str
    options: Mapping[str, Option] = dataclasses.field(default_factory=dict)
    check: Callable[[dict], dict] | None = None
    uses_layers: bool = True
    requires: tuple[str, ...] = ()
    class_index: bool = False

    def __post_init__(self):
        params = inspect.signature(self.fn).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        problems = {
            "requires unknown {} (known: " + ", ".join(REQUIREMENTS) + ")": set(self.requires) - set(REQUIREMENTS),
            "declares option(s) {} not as gigjax.options.Option": {k for k, v in self.options.items()
                                                                   if not isinstance(v, Option)},
            "declares option(s) {} that its function does not take": set() if takes_any else
            {k for k in self.options if k not in POSTPROCESSING} - set(params),
        }
        for message, names in problems.items():
            if names:
                raise GigjaxError(f"method {self.name!r} " + message.format(", ".join(sorted(names))))

    @property
    def method_options(self) -> dict[str, Option]:
        """The options passed to ``fn`` (the declared ones that are not post-processing options)."""
        return {k: v for k, v in self.options.items() if k not in POSTPROCESSING}

    @property
    def defaults(self) -> dict[str, Any]:
        """``{option: default}`` of the declared options."""
        return {k: v.default for k, v in self.options.items()}

    @property
    def array_options(self) -> frozenset[str]:
        """Declared options whose values may be arrays (passed to compiled functions as arguments)."""
        return frozenset(k for k, v in self.options.items() if v.array)

    def bind(self, options: Mapping[str, Any]) -> dict:
        """Defaults overlaid with ``options``; unknown names and bad values raise ``GigjaxError``."""
        return bind(self.options, options, f"method {self.name!r}", self.check)


_METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Adds ``method`` to the registry (a later registration of the same name replaces it)."""
    _METHODS[method.name] = method
    return method


def get_method(method: str | Method) -> Method:
    """The :class:`Method` of a registered name (a ``Method`` value is returned as it is)."""
    if isinstance(method, Method):
        return method
    if not isinstance(method, str) or method not in _METHODS:
        raise GigjaxError(f"unknown method {method!r}; available: {', '.join(available_methods())}")
    return _METHODS[method]


def available_methods() -> tuple[str, ...]:
    return tuple(sorted(_METHODS))


@dataclasses.dataclass(frozen=True)
class Description:
    """What :func:`describe` returns: a method's own options and the post-processing options, each
    an :class:`Option` (``.default``, ``.choices``, ``.doc``) with the method's defaults. ``str()``
    gives the text ``gigjax methods NAME`` prints."""

    name: str
    summary: str
    options: dict[str, Option]
    postprocessing: dict[str, Option]
    class_index: bool = False

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.summary}"]
        if self.class_index:
            lines.append("  targets: class indices only (a targets callable must return class indices, not scores)")
        for title, table in (("options", self.options), ("post-processing options (all methods)",
                                                          self.postprocessing)):
            lines.append(f"  {title}:" if table else f"  {title}: none")
            lines += [f"    {name} = {option.describe()}" for name, option in table.items()]
        return "\n".join(lines)


def describe(method: str | Method) -> Description:
    """The options of ``method`` (a name or a :class:`Method`) with their defaults, choices and docs."""
    spec = get_method(method)
    post = {k: spec.options.get(k, v) for k, v in POSTPROCESSING.items()}
    if not spec.uses_layers:
        post = {k: v for k, v in post.items() if k not in ("layer", "fuse", "reshape")}
    return Description(spec.name, spec.summary, spec.method_options, post, spec.class_index)
