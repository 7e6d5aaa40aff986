"""The metric table: every metric ``gigjax evaluate`` knows, one row each, read by the evaluation
step (what to compute), the run settings (what enters the run identity), the aggregator (how it
becomes a figure) and the report (how it reads in a table).

**Adding a metric** = one function + one row in :data:`TABLE` below:

* a confidence-family metric is ``compute(batch: ImageBatch) → {key: (B,) array, …}``: a per-image
  value from the model, the input, the map and the explained class (top-1) — see
  :class:`gigjax.metrics.batches.ImageBatch`; a map-only metric just reads ``batch.maps``, a random
  one draws from ``batch.keys`` (one key per image, so batching never changes its value);
* a localisation-family metric is ``compute(pairs: PairBatch) → {key: (P,) array, …}``: a value per
  (image, ground-truth class) pair, with the class's boxes, in the image's own pixel grid — see
  :class:`gigjax.metrics.batches.PairBatch`.

``compute`` runs inside the jitted evaluation step (so it must be pure jax); every array it returns
is stored per image (confidence) or per pair (localisation) in ``results.jsonl``, and the row's
accumulator (:mod:`gigjax.metrics.accumulators`) reads ``key`` from there. A knob the computation
reads is declared on the row too — ``settings={"name": Option(default, doc, check=…)}`` (a
:class:`gigjax.options.Option`) — and ``compute`` reads it as ``batch.settings.name``: that one
declaration gives :class:`gigjax.evaluation.Settings` the setting (validated, in the run identity)
and ``gigjax evaluate`` its ``--name`` flag. At run time :func:`register_metric` adds a row (a
plugin, a test); built-in metrics belong in :data:`TABLE`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Mapping

import jax
import jax.numpy as jnp

from gigjax.errors import GigjaxError
from gigjax.metrics import accumulators as A
from gigjax.metrics import causal, faithfulness, infidelity, localization, road, sensitivity
from gigjax.metrics.batches import KEY_SETTINGS, ImageBatch, PairBatch
from gigjax.metrics.causal import auc, causal_curve, fractions
from gigjax.metrics.concentration import complexity, sparseness
from gigjax.metrics.faithfulness import average_drop, increase_in_confidence
from gigjax.metrics.infidelity import infidelity_score
from gigjax.metrics.localization import energy_pointing_game, pointing_game
from gigjax.metrics.randomization import randomization_curve
from gigjax.metrics.road import road_curve
from gigjax.metrics.sensitivity import sensitivity_max
from gigjax.options import Option
from gigjax.validation import check_positive_int

FAMILIES = ("localization", "confidence")
BETTER = ("higher", "lower")


@dataclasses.dataclass(frozen=True)
class Metric:
    """One row of the metric table.

    Attributes:
      name: the metric's name (``--metrics``, result and summary keys).
      family: ``"localization"`` (per (image, class) pair, needs boxes) or ``"confidence"`` (per image,
        its top-1 class explained).
      compute: the jitted computation (see the module docstring).
      aggregate: the accumulator class that turns stored values into the figure (e.g. ``A.Mean``).
      title: column title in the report.
      better: ``"higher"`` or ``"lower"`` (the report's arrow).
      description: one line for the README table and ``--help``.
      key: the stored value the accumulator reads (default: ``name``).
      scale: reported figure = ``scale`` × mean stored value (100 for a fraction shown in %).
      digits: decimals in the report.
      settings: ``{name: Option}``, the run settings ``compute`` reads (``batch.settings.name``),
        each declared once (its default, doc, validation and flag); those that affect results are
        recorded in the run identity. Two rows may read one setting only through the same Option;
        a tuple of names reads settings that rows already in the table declare (e.g. ``("seed",)``).
      default: part of the default ``--metrics`` (False for costly or niche metrics).
      curve: the x-axis label of the metric's mean curve (it stores ``key + "_curve"``), or None.
      curve_x: ``settings → x values`` of that curve (an empty tuple: the stage 1, 2, …); None: the
        Deletion / Insertion pixel fractions.
    """

    name: str
    family: str
    compute: Callable
    aggregate: type
    title: str
    better: str
    description: str
    key: str = ""
    scale: float = 1.0
    digits: int = 2
    settings: Mapping[str, Option] = dataclasses.field(default_factory=dict, hash=False)
    default: bool = True
    curve: str | None = None
    curve_x: Callable | None = None

    def __post_init__(self):
        if self.family not in FAMILIES or self.better not in BETTER:
            raise GigjaxError(f"metric {self.name!r}: family must be one of {FAMILIES} and better one of {BETTER}")
        if not (isinstance(self.aggregate, type) and issubclass(self.aggregate, A.Accumulator)):
            raise GigjaxError(f"metric {self.name!r}: aggregate must be an Accumulator class")
        if not self.key:
            object.__setattr__(self, "key", self.name)
        object.__setattr__(self, "settings", self._declared(self.settings))

    def _declared(self, settings) -> dict[str, Option]:
        """``settings`` as ``{name: Option}``; bare names are settings other rows already declare."""
        if isinstance(settings, (tuple, list)) and all(isinstance(s, str) for s in settings):
            declared = declared_settings()
            unknown = [s for s in settings if s not in declared]
            if unknown:
                raise GigjaxError(f"metric {self.name!r}: no row declares setting(s) {', '.join(unknown)} "
                                  f"(declared: {', '.join(declared)}); declare it here as name → Option")
            return {s: declared[s] for s in settings}
        if not (isinstance(settings, Mapping) and all(isinstance(k, str) and k.isidentifier() and
                                                      isinstance(v, Option) for k, v in settings.items())):
            raise GigjaxError(f"metric {self.name!r}: settings must map each setting's name to its "
                              f"gigjax.options.Option (or name settings other rows declare), got {settings!r}")
        return dict(settings)


def _pointing_game(pairs: PairBatch) -> dict:
    hit, point = pointing_game(pairs.maps, pairs.sizes, pairs.boxes, pairs.valid, pairs.settings.tolerance)
    return {"hit": hit, "point": point}


def _energy_pointing_game(pairs: PairBatch) -> dict:
    return {"energy": energy_pointing_game(pairs.maps, pairs.sizes, pairs.boxes, pairs.valid)}


def _average_drop(batch: ImageBatch) -> dict:
    o = batch.masked_probability
    return {"o": o, "average_drop": average_drop(batch.probability, o)}


def _increase_in_confidence(batch: ImageBatch) -> dict:
    o = batch.masked_probability
    return {"o": o, "increase_in_confidence": increase_in_confidence(batch.probability, o)}


def _causal(mode: str) -> Callable:
    def compute(batch: ImageBatch) -> dict:
        per_step = batch.settings.pixels_per_step
        curve = causal_curve(batch.model, batch.x, batch.maps, batch.classes, mode=mode,
                             pixels_per_step=per_step, chunk=batch.settings.curve_chunk)
        xs = fractions(batch.x.shape[1] * batch.x.shape[2], per_step)
        return {f"{mode}_curve": curve, mode: auc(curve, xs)}

    compute.__name__ = f"_{mode}"
    return compute


def _road(order: str) -> Callable:
    def compute(batch: ImageBatch) -> dict:
        s = batch.settings
        curve = road_curve(batch.model, batch.x, batch.maps, batch.classes, batch.keys, order=order,
                           percentiles=s.road_percentiles, noise=s.road_noise)
        return {f"road_{order}_curve": curve, f"road_{order}": jnp.mean(curve, axis=1)}

    compute.__name__ = f"_road_{order}"
    return compute


def _randomization(batch: ImageBatch) -> dict:
    key = jax.random.PRNGKey(batch.settings.seed)
    curve = randomization_curve(batch.model, batch.x, batch.maps, batch.classes, batch.explain, key)
    return {"randomization_curve": curve, "randomization": jnp.nanmean(curve, axis=1)}


def _sparseness(batch: ImageBatch) -> dict:
    return {"sparseness": sparseness(batch.maps)}


def _complexity(batch: ImageBatch) -> dict:
    return {"complexity": complexity(batch.maps)}


def _infidelity(batch: ImageBatch) -> dict:
    s = batch.settings
    return {"infidelity": infidelity_score(batch.model, batch.x, batch.maps, batch.classes, batch.keys,
                                           samples=s.perturbations, sigma=s.infidelity_sigma)}


def _sensitivity_max(batch: ImageBatch) -> dict:
    s = batch.settings
    explain = lambda x: batch.explain(batch.model, x, batch.classes)  # noqa: E731 (the classes stay fixed)
    return {"sensitivity_max": sensitivity_max(explain, batch.x, batch.maps, batch.keys,
                                               samples=s.perturbations, radius=s.sensitivity_radius)}


#: Shared by Infidelity and Max-Sensitivity (captum's ``n_perturb_samples``, 10 for both).
PERTURBATIONS = Option(infidelity.SAMPLES, "infidelity/sensitivity_max: perturbed samples per image (captum: 10)",
                       check=check_positive_int)
_ROAD = {**road.SETTINGS, **KEY_SETTINGS}

_ROWS = (
    Metric("pointing_game", "localization", _pointing_game, A.PointingAccuracy, "Pointing Game %", "higher",
           "% hits, mean over classes (per-image mean also reported): the map's first argmax within "
           "--tolerance px of a box pixel of the class", key="hit", scale=100.0, settings=localization.SETTINGS),
    Metric("energy_pointing_game", "localization", _energy_pointing_game, A.PairMean, "Energy PG %", "higher",
           "% of the map's energy inside the class's boxes, mean over pairs", key="energy", scale=100.0),
    Metric("average_drop", "confidence", _average_drop, A.Mean, "Average Drop %", "lower",
           "100·max(0, Y−O)/Y: Y the top-1 probability, O the same on image × map", settings=faithfulness.SETTINGS),
    Metric("increase_in_confidence", "confidence", _increase_in_confidence, A.Mean, "Increase in Conf. %",
           "higher", "100·1[O > Y], mean", settings=faithfulness.SETTINGS),
    Metric("deletion", "confidence", _causal("deletion"), A.MeanCurve, "Deletion AUC", "lower",
           "AUC of the top-1 probability as the most salient pixels are deleted (RISE)", digits=4,
           settings=causal.SETTINGS, curve="fraction of pixels removed"),
    Metric("insertion", "confidence", _causal("insertion"), A.MeanCurve, "Insertion AUC", "higher",
           "AUC of the top-1 probability as the most salient pixels are inserted into a blurred copy (RISE)",
           digits=4, settings=causal.SETTINGS, curve="fraction of pixels inserted"),
    Metric("road_morf", "confidence", _road("morf"), A.MeanCurve, "ROAD MoRF", "lower",
           "ROAD (Rong et al.): top-1 probability after the most relevant q % of pixels are removed and "
           "linearly imputed, mean over --road-percentiles", digits=4, settings=_ROAD, default=False,
           curve="% of pixels removed",
           curve_x=lambda settings: settings.road_percentiles),
    Metric("road_lerf", "confidence", _road("lerf"), A.MeanCurve, "ROAD LeRF", "higher",
           "ROAD: the same with the least relevant q % removed", digits=4, settings=_ROAD, default=False,
           curve="% of pixels removed",
           curve_x=lambda settings: settings.road_percentiles),
    Metric("randomization", "confidence", _randomization, A.MeanCurve, "MPRT Spearman", "lower",
           "model-parameter randomisation (Adebayo et al.): Spearman correlation of the map with the map after "
           "re-initialising the top 1, 2, … layers, mean over the stages (one explanation per layer)",
           digits=3, settings=KEY_SETTINGS, default=False, curve="layers randomised from the top",
           curve_x=lambda settings: ()),
    Metric("sparseness", "confidence", _sparseness, A.Mean, "Sparseness", "higher",
           "Gini index of |map| (Quantus Sparseness)", digits=3, default=False),
    Metric("complexity", "confidence", _complexity, A.Mean, "Complexity", "lower",
           "entropy (nats) of |map|/Σ|map| (Quantus Complexity)", digits=3, default=False),
    Metric("infidelity", "confidence", _infidelity, A.Mean, "Infidelity", "lower",
           "captum infidelity (normalize=True) of the map under Gaussian input perturbations",
           digits=5, settings={"perturbations": PERTURBATIONS, **KEY_SETTINGS, **infidelity.SETTINGS},
           default=False),
    Metric("sensitivity_max", "confidence", _sensitivity_max, A.Mean, "Max-Sensitivity", "lower",
           "captum sensitivity_max: largest relative change of the map under uniform perturbations "
           "‖δ‖∞ ≤ r (one explanation per sample)", digits=3,
           settings={"perturbations": PERTURBATIONS, **KEY_SETTINGS, **sensitivity.SETTINGS}, default=False),
)

#: name → row; every metric the evaluation knows. Add built-in rows to ``_ROWS`` above.
TABLE: dict[str, Metric] = {}


def declared_settings() -> dict[str, Option]:
    """Every setting a row of :data:`TABLE` reads → its declaration, in table order."""
    return {name: option for row in TABLE.values() for name, option in row.settings.items()}


def register_metric(row: Metric) -> Metric:
    """Adds ``row`` to :data:`TABLE` at run time (a name already there, or a setting name another row
    declares differently, is an error)."""
    if not isinstance(row, Metric):
        raise GigjaxError(f"register_metric takes a gigjax.metrics.Metric row, got {type(row).__name__}")
    if row.name in TABLE:
        raise GigjaxError(f"metric {row.name!r} is already in the table")
    declared = declared_settings()
    clash = [name for name, option in row.settings.items() if declared.get(name, option) is not option]
    if clash:
        raise GigjaxError(f"metric {row.name!r}: setting(s) {', '.join(clash)} are already declared by other "
                          f"rows; read theirs (the same Option) or choose another name")
    TABLE[row.name] = row
    return row


for _row in _ROWS:
    register_metric(_row)


def metric(name: str) -> Metric:
    """The table row of ``name``; an unknown name is a :class:`GigjaxError` listing the known ones."""
    try:
        return TABLE[name]
    except (KeyError, TypeError):
        raise GigjaxError(f"unknown metric(s) {name}; known: {', '.join(TABLE)}") from None


def check_metrics(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` without repeats, each a known metric; raises listing every unknown one (or none given)."""
    names = tuple(dict.fromkeys(names))
    unknown = [n for n in names if n not in TABLE]
    if unknown or not names:
        raise GigjaxError(f"unknown metric(s) {', '.join(map(str, unknown)) or '(none given)'}; "
                          f"known: {', '.join(TABLE)}")
    return names


def default_metrics() -> tuple[str, ...]:
    """The metrics evaluated when none are named (rows with ``default=True``), in table order."""
    return tuple(name for name, row in TABLE.items() if row.default)


def of_family(names: Iterable[str], family: str) -> tuple[str, ...]:
    """The metrics of ``names`` in ``family`` (``"localization"`` or ``"confidence"``), in order."""
    return tuple(n for n in names if metric(n).family == family)
