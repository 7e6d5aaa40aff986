"""The metric settings of an evaluation run, validated when built (part of the run's identity:
changing one needs a new output folder)."""

from __future__ import annotations

import dataclasses

from gigjax.errors import GigjaxError
from gigjax.metrics import SPACES, TOLERANCE, check_metrics, metric, of_family
from gigjax.metrics import infidelity, road, sensitivity  # the modules (their default constants)
from gigjax.validation import check_choice, check_positive_int


@dataclasses.dataclass(frozen=True)
class Settings:
    """Which metrics a run computes, and the settings they read.

    Attributes:
      metrics: metric names (rows of :data:`gigjax.metrics.TABLE`).
      tolerance: Pointing Game tolerance in pixels (hit when the distance is strictly less).
      masking_space: ``"normalized"`` (default) or ``"pixel"`` for Average Drop / Increase.
      pixels_per_step: pixels changed per Deletion / Insertion step (RISE: 224 or 1792 at 224×224).
      curve_chunk: Deletion / Insertion steps per model call (memory: ``curve_chunk × batch`` images;
        does not change the results, so it is not part of the identity).
      seed: seeds the per-image PRNG keys of random metrics (:attr:`gigjax.metrics.ImageBatch.keys`).
      road_percentiles: the % of pixels ROAD removes, each in (0, 100) (default {10, …, 90}).
      road_noise: standard deviation of ROAD's imputation noise (normalised input units; 0: none).
      perturbations: perturbed samples per image of Infidelity and Max-Sensitivity (captum: 10).
      infidelity_sigma: standard deviation of Infidelity's Gaussian perturbations (normalised units).
      sensitivity_radius: Max-Sensitivity's perturbation radius r, ‖δ‖∞ ≤ r (captum: 0.02).

    Raises:
      GigjaxError: an unknown metric or a bad setting.
    """

    metrics: tuple[str, ...]
    tolerance: int = TOLERANCE
    masking_space: str = "normalized"
    pixels_per_step: int = 224
    curve_chunk: int = 8
    seed: int = 0
    road_percentiles: tuple[float, ...] = road.PERCENTILES
    road_noise: float = road.NOISE
    perturbations: int = infidelity.SAMPLES
    infidelity_sigma: float = infidelity.SIGMA
    sensitivity_radius: float = sensitivity.RADIUS

    def __post_init__(self):
        object.__setattr__(self, "metrics", check_metrics(self.metrics))
        check_choice(self.masking_space, "masking space", SPACES)
        check_positive_int(self.pixels_per_step, "pixels per step")
        check_positive_int(self.curve_chunk, "curve chunk")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise GigjaxError(f"seed must be an integer, got {self.seed!r}")
        _check_anchor_settings(self)
        if isinstance(self.tolerance, bool) or not isinstance(self.tolerance, int) or self.tolerance < 0:
            raise GigjaxError(f"tolerance must be a non-negative integer (pixels), got {self.tolerance!r}")

    @property
    def confidence_metrics(self) -> tuple[str, ...]:
        return of_family(self.metrics, "confidence")

    @property
    def localization_metrics(self) -> tuple[str, ...]:
        return of_family(self.metrics, "localization")

    def identity(self) -> dict:
        """The metrics and every setting one of them reads (their table rows' ``settings``)."""
        out: dict = {"metrics": list(self.metrics)}
        for name in self.metrics:
            for setting in metric(name).settings:
                value = getattr(self, setting)
                out[setting] = list(value) if isinstance(value, tuple) else value
        return out


def _number(value, name: str, *, positive: bool = False) -> float:
    """A finite float ≥ 0 (> 0 when ``positive``), or a GigjaxError naming the setting."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise GigjaxError(f"{name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not v == v or v in (float("inf"), float("-inf")) or v < 0 or (positive and v == 0):
        raise GigjaxError(f"{name} must be a finite number {'> 0' if positive else '≥ 0'}, got {value!r}")
    return v


def _check_anchor_settings(settings: Settings) -> None:
    """Validates (and canonicalises) the ROAD / Infidelity / Max-Sensitivity settings."""
    percentiles = settings.road_percentiles
    if isinstance(percentiles, (str, bytes)) or not hasattr(percentiles, "__iter__"):
        raise GigjaxError(f"road percentiles must be a list of numbers in (0, 100), got {percentiles!r}")
    values = tuple(_number(q, "road percentile") for q in percentiles)
    if not values or any(not 0 < q < 100 for q in values):
        raise GigjaxError(f"road percentiles must be a non-empty list of numbers in (0, 100), got {percentiles!r}")
    object.__setattr__(settings, "road_percentiles", values)
    object.__setattr__(settings, "road_noise", _number(settings.road_noise, "road noise"))
    object.__setattr__(settings, "perturbations", check_positive_int(settings.perturbations, "perturbations"))
    for name in ("infidelity_sigma", "sensitivity_radius"):
        object.__setattr__(settings, name, _number(getattr(settings, name), name.replace("_", " "), positive=True))
