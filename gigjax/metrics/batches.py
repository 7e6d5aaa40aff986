"""What a metric of the table sees: one explained batch (confidence family) or one batch of
(image, class) pairs in the images' own pixel grids (localisation family).

Both are plain containers built inside the jitted evaluation step, so a metric's ``compute`` is traced
with them; values they derive (the masked-image probability several metrics share) are computed
once per trace.
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from gigjax.metrics.faithfulness import masked_confidence
from gigjax.options import Option
from gigjax.validation import check_int

#: The evaluation setting :attr:`ImageBatch.keys` reads: a row of a random metric includes it.
KEY_SETTINGS = {"seed": Option(0, "seeds the per-image PRNG keys of the random metrics (ImageBatch.keys)",
                               check=check_int)}


class ImageBatch:
    """One batch of images, each explained for its top-1 class.

    Attributes:
      model: the gigjax Model (``model.logits``, ``model.normalize``, …).
      x: (B, H, W, C) normalised model input.
      maps: (B, H, W) explanation maps at the input resolution, min–max normalised to [0, 1].
      classes: (B,) int32 explained class of each image (its top-1).
      probability: (B,) softmax probability Y of ``classes`` on ``x``.
      explain: ``(model, x, classes) → maps`` — the explainer under evaluation, for metrics that
        re-explain (perturbed inputs, randomised models).
      indices: (B,) int32 dataset index of each image.
      settings: the run's settings (:class:`gigjax.evaluation.Settings`: ``masking_space``,
        ``pixels_per_step``, ``curve_chunk``, ``seed``, …).
    """

    def __init__(self, model, x: jax.Array, maps: jax.Array, classes: jax.Array, probability: jax.Array,
                 explain: Callable, indices: jax.Array, settings: Any):
        self.model, self.x, self.maps, self.classes = model, x, maps, classes
        self.probability, self.explain, self.indices, self.settings = probability, explain, indices, settings
        self._masked = None

    @property
    def keys(self) -> jax.Array:
        """(B,) PRNG keys, one per image: ``fold_in(PRNGKey(settings.seed), dataset index)``, so a random
        metric gives the same value whatever the batch, the device count or a resume (its row's
        ``settings`` include :data:`KEY_SETTINGS`)."""
        base = jax.random.PRNGKey(self.settings.seed)
        return jax.vmap(lambda i: jax.random.fold_in(base, i))(self.indices)

    @property
    def masked_probability(self) -> jax.Array:
        """O: (B,) probability of ``classes`` on x ⊙ map in ``settings.masking_space`` (computed once)."""
        if self._masked is None:
            self._masked = masked_confidence(self.model, self.x, self.maps, self.classes,
                                             self.settings.masking_space)
        return self._masked


class PairBatch:
    """One batch of (image, ground-truth class) pairs, maps already in each image's pixel grid.

    Attributes:
      maps: (P, Hc, Wc) map of pair p's class, resized to its image (valid in ``[:H_p, :W_p]``).
      sizes: (P, 2) int (H, W) of each image.
      boxes: (P, N, 4) float ``(x0, y0, x1, y1)`` 0-based inclusive boxes of the pair's class.
      valid: (P, N) bool, which boxes are real (the rest is padding).
      settings: the run's settings (``tolerance``, …).
    """

    def __init__(self, maps: jax.Array, sizes: jax.Array, boxes: jax.Array, valid: jax.Array, settings: Any):
        self.maps, self.sizes, self.boxes, self.valid, self.settings = maps, sizes, boxes, valid, settings
