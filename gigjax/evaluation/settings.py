"""The metric settings of an evaluation run, validated when built (part of the run's identity:
changing one needs a new output folder)."""

from __future__ import annotations

import dataclasses

from gigjax.errors import GigjaxError
from gigjax.metrics import SPACES, TOLERANCE, check_metrics, metric, of_family
from gigjax.metrics import infidelity, road, sensitivity  # the modules (their default constants)
from gigjax.validation import as_number, check_choice, check_positive_int


def setting(default, help: str, *, choices: tuple | None = None, aliases: tuple[str, ...] = ()):
    """One evaluation setting, declared once: its default, its one-line doc (``--help``), its choices
    and extra flag spellings. Used as a :class:`Settings` field."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices, "aliases": aliases})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Which metrics a run computes, and the settings they read.

    Attributes:
      metrics: metric names (rows of :data:`gigjax.metrics.TABLE`).
      every other field: a setting, documented once by its :func:`setting` declaration below (read
        by ``gigjax evaluate``'s flags, see :func:`settings_flags`).

    Raises:
      GigjaxError: an unknown metric or a bad setting.
    """

    metrics: tuple[str, ...]
    tolerance: int = setting(TOLERANCE, "pointing game tolerance in pixels (a hit is strictly closer)")
    masking_space: str = setting("normalized", "average drop / increase: multiply the normalised input "
                                 "(normalized) or the pixels (pixel)", choices=SPACES)
    pixels_per_step: int = setting(224, "deletion/insertion: pixels changed per step (RISE used 224 and "
                                   "1792 at 224x224)", aliases=("--step",))
    curve_chunk: int = setting(8, "deletion/insertion steps evaluated per model call (bounds memory: "
                               "curve_chunk x batch images; results unchanged, so not part of the identity)")
    seed: int = setting(0, "seeds the per-image PRNG keys of the random metrics (ImageBatch.keys)")
    road_percentiles: tuple[float, ...] = setting(road.PERCENTILES, "road_morf/road_lerf: % of pixels "
                                                  "removed, each in (0, 100), comma-separated")
    road_noise: float = setting(road.NOISE, "road_morf/road_lerf: imputation noise std in normalised "
                                "units (0: none; pytorch-grad-cam: 0.01)")
    perturbations: int = setting(infidelity.SAMPLES, "infidelity/sensitivity_max: perturbed samples per "
                                 "image (captum: 10)")
    infidelity_sigma: float = setting(infidelity.SIGMA, "infidelity: std of the Gaussian perturbations "
                                      "(normalised units)")
    sensitivity_radius: float = setting(sensitivity.RADIUS, "sensitivity_max: perturbation radius r, "
                                        "|delta|_inf <= r (captum: 0.02)")

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
    v = as_number(value, name)
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


def setting_fields() -> tuple[dataclasses.Field, ...]:
    """Every declared setting of :class:`Settings` (all fields but ``metrics``)."""
    return tuple(f for f in dataclasses.fields(Settings) if f.name != "metrics")


def settings_flags(add_argument, list_type) -> None:
    """Adds one ``--NAME`` flag per setting through ``add_argument`` (an argparse group's), typed by
    its default (``list_type`` parses a comma-separated tuple), with its declared help and default."""
    for f in setting_fields():
        meta = f.metadata
        kind = list_type if isinstance(f.default, tuple) else type(f.default)
        shown = ",".join(f"{v:g}" for v in f.default) if isinstance(f.default, tuple) else f.default
        extra = {"choices": meta["choices"]} if meta["choices"] else {"type": kind}
        add_argument(f"--{f.name.replace('_', '-')}", *meta["aliases"], dest=f.name, default=f.default,
                     help=f"{meta['help']} (default: {shown})".replace("%", "%%"), **extra)


def settings_of(args) -> dict:
    """The settings an argparse namespace built with :func:`settings_flags` holds."""
    return {f.name: getattr(args, f.name) for f in setting_fields()}
