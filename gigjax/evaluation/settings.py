"""The metric settings of an evaluation run, validated when built (part of the run's identity:
changing one needs a new output folder).

Each setting is declared once, as a :class:`gigjax.options.Option` on the metric-table rows that
read it (:mod:`gigjax.metrics.table`); :class:`Settings` holds a value for every declared one.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterable

from gigjax.errors import GigjaxError
from gigjax.metrics import check_metrics, declared_settings, metric, of_family


class Settings:
    """Which metrics a run computes, and the value of every setting the metric table declares.

    ``Settings(metrics, **values)``: each given value is validated by its declaration; the others take
    their declared defaults. A setting reads as an attribute (``settings.tolerance``). Immutable and
    hashable (a static argument of the jitted evaluation steps).

    Attributes:
      metrics: metric names (rows of :data:`gigjax.metrics.TABLE`), without repeats.
      values: ``{setting: value}`` (read-only) for every declared setting.

    Raises:
      GigjaxError: an unknown metric or setting, or a bad value.
    """

    __slots__ = ("metrics", "values")

    def __init__(self, metrics: Iterable[str], **values: Any):
        declared = declared_settings()
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise GigjaxError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(declared)}")
        bound = {name: option.default for name, option in declared.items()}
        for name, value in values.items():
            bound[name] = declared[name].validate(value, name.replace("_", " "))
            try:
                hash(bound[name])
            except TypeError:
                raise GigjaxError(f"setting {name} must be hashable (a tuple, not a list), got {value!r}") from None
        object.__setattr__(self, "metrics", check_metrics(metrics))
        object.__setattr__(self, "values", MappingProxyType(bound))

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: a setting's value
        if not name.startswith("_"):
            values = object.__getattribute__(self, "values")
            if name in values:
                return values[name]
        raise AttributeError(f"{type(self).__name__} has no setting {name!r}")

    def __setattr__(self, name: str, value: Any):
        raise AttributeError("Settings are immutable: build new ones")

    def __reduce__(self):
        return _rebuild, (self.metrics, dict(self.values))

    def _key(self) -> tuple:
        return self.metrics, tuple(self.values.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"Settings(metrics={self.metrics!r}, {values})"

    @property
    def confidence_metrics(self) -> tuple[str, ...]:
        return of_family(self.metrics, "confidence")

    @property
    def localization_metrics(self) -> tuple[str, ...]:
        return of_family(self.metrics, "localization")

    def identity(self) -> dict:
        """The metrics and every setting one of them reads that affects its results."""
        out: dict = {"metrics": list(self.metrics)}
        for name in self.metrics:
            for setting, option in metric(name).settings.items():
                if option.affects_results:
                    value = self.values[setting]
                    out[setting] = list(value) if isinstance(value, tuple) else value
        return out


def _rebuild(metrics: tuple[str, ...], values: dict) -> Settings:
    """Unpickles :class:`Settings` (the values were validated when first built)."""
    settings = object.__new__(Settings)
    object.__setattr__(settings, "metrics", metrics)
    object.__setattr__(settings, "values", MappingProxyType(values))
    return settings
