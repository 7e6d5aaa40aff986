"""The metric settings of an evaluation run, validated when built (part of the run's identity:
changing one needs a new output folder)."""

from __future__ import annotations

import dataclasses

from gigjax.errors import GigjaxError
from gigjax.metrics import SPACES, TOLERANCE, check_metrics, metric, of_family
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

    Raises:
      GigjaxError: an unknown metric or a bad setting.
    """

    metrics: tuple[str, ...]
    tolerance: int = TOLERANCE
    masking_space: str = "normalized"
    pixels_per_step: int = 224
    curve_chunk: int = 8
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "metrics", check_metrics(self.metrics))
        check_choice(self.masking_space, "masking space", SPACES)
        check_positive_int(self.pixels_per_step, "pixels per step")
        check_positive_int(self.curve_chunk, "curve chunk")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise GigjaxError(f"seed must be an integer, got {self.seed!r}")
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
                out[setting] = getattr(self, setting)
        return out
