"""The metrics that judge explanations (spec §8): pure, batched, jit-able functions plus a
host-side streaming :class:`Aggregator`.

* Localisation (need boxes): :func:`pointing_game`, :func:`energy_pointing_game`
  (:mod:`gigjax.metrics.localization`).
* Confidence (need the model): :func:`average_drop`, :func:`increase_in_confidence` on the scores
  from :func:`masked_confidence` (:mod:`gigjax.metrics.faithfulness`).
* Causal (need the model): Deletion and Insertion curves, :func:`causal_curve` and :func:`auc`
  (:mod:`gigjax.metrics.causal`).
"""

from gigjax.metrics.aggregate import CAUSAL, CONFIDENCE, DISPLAY, LOCALIZATION, METRICS, Aggregator
from gigjax.metrics.causal import auc, blur, causal_curve, fractions, gaussian_kernel, num_steps, saliency_rank
from gigjax.metrics.faithfulness import (SPACES, average_drop, class_probability, increase_in_confidence,
                                         mask_input, masked_confidence)
from gigjax.metrics.localization import (TOLERANCE, box_region, energy_pointing_game, max_point, pointing_game,
                                         to_image_size, valid_pixels)

__all__ = ["Aggregator", "CAUSAL", "CONFIDENCE", "DISPLAY", "LOCALIZATION", "METRICS", "SPACES", "TOLERANCE",
           "auc", "average_drop", "blur", "box_region", "causal_curve", "class_probability",
           "energy_pointing_game", "fractions", "gaussian_kernel", "increase_in_confidence", "mask_input",
           "masked_confidence", "max_point", "num_steps", "pointing_game", "saliency_rank", "to_image_size",
           "valid_pixels"]
