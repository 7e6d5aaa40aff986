"""The metrics that judge explanations (spec §8): pure, batched, jit-able functions, the metric
table that describes each one, and a host-side streaming :class:`Aggregator`.

* Localisation (need boxes): :func:`pointing_game`, :func:`energy_pointing_game`
  (:mod:`gigjax.metrics.localization`).
* Confidence (need the model): :func:`average_drop`, :func:`increase_in_confidence` on the scores
  from :func:`masked_confidence` (:mod:`gigjax.metrics.faithfulness`).
* Causal (need the model): Deletion and Insertion curves, :func:`causal_curve` and :func:`auc`
  (:mod:`gigjax.metrics.causal`).
* The anchors' standard set (spec §12): ROAD :func:`road_curve` (:mod:`gigjax.metrics.road`), MPRT
  :func:`randomization_curve` (:mod:`gigjax.metrics.randomization`), :func:`sparseness` and
  :func:`complexity` (:mod:`gigjax.metrics.concentration`), :func:`infidelity_score`
  (:mod:`gigjax.metrics.infidelity`), :func:`sensitivity_max` (:mod:`gigjax.metrics.sensitivity`).

:data:`TABLE` (:mod:`gigjax.metrics.table`) has one :class:`Metric` row per metric: its family, the
jitted computation, the settings it reads, how it aggregates and how it reads in a report. A new
metric is one function and one row there.
"""

from gigjax.metrics.accumulators import Accumulator, Mean, MeanCurve, PairMean, PointingAccuracy
from gigjax.metrics.aggregate import Aggregator
from gigjax.metrics.batches import ImageBatch, PairBatch
from gigjax.metrics.concentration import complexity, sparseness
from gigjax.metrics.infidelity import infidelity_of, infidelity_score
from gigjax.metrics.randomization import layer_groups, randomization_curve, spearman
from gigjax.metrics.road import impute, removal_mask, road_curve, road_score
from gigjax.metrics.sensitivity import sensitivity_max, sensitivity_max_of
from gigjax.metrics.causal import auc, blur, causal_curve, fractions, gaussian_kernel, num_steps, saliency_rank
from gigjax.metrics.faithfulness import (SPACES, average_drop, class_probability, increase_in_confidence,
                                         mask_input, masked_confidence)
from gigjax.metrics.localization import (TOLERANCE, box_region, energy_pointing_game, max_point, pointing_game,
                                         to_image_size, valid_pixels)
from gigjax.metrics.table import (TABLE, Metric, check_metrics, declared_settings, default_metrics, metric,
                                  of_family, register_metric)

#: The default metrics (the table's rows with ``default=True``, in table order).
METRICS = default_metrics()

__all__ = ["Accumulator", "Aggregator", "ImageBatch", "METRICS", "Mean", "MeanCurve", "Metric", "PairBatch",
           "PairMean", "PointingAccuracy", "SPACES", "TABLE", "TOLERANCE", "auc", "average_drop", "blur",
           "box_region", "causal_curve", "check_metrics", "class_probability", "complexity",
           "declared_settings", "default_metrics",
           "energy_pointing_game", "fractions", "gaussian_kernel", "impute", "increase_in_confidence", "infidelity_of",
           "infidelity_score", "layer_groups", "mask_input",
           "masked_confidence", "max_point", "metric", "num_steps", "of_family", "pointing_game",
           "randomization_curve", "register_metric", "removal_mask", "road_curve", "road_score", "saliency_rank",
           "sensitivity_max", "sensitivity_max_of", "sparseness", "spearman", "to_image_size", "valid_pixels"]
