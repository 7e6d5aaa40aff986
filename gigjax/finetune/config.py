"""The settings of a fine-tuning run (:class:`FinetuneConfig`) and what it returns (:class:`FinetuneResult`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from gigjax.errors import GigjaxError
from gigjax.finetune.average_precision import METHODS
from gigjax.finetune.model_ap import APReport
from gigjax.models import Model
from gigjax.validation import check_choice, check_positive_int


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """Settings of a fine-tuning run.

    Attributes:
      train_layers: parameter path prefixes trained besides the head (``()``: head only).
      epochs: passes over the training set (used when ``steps`` is None; default 10).
      steps: total optimisation steps (overrides ``epochs``).
      batch_size: images per step (at most the number of training images).
      lr: peak learning rate (cosine decay to 0 over the run).
      weight_decay: AdamW decoupled weight decay.
      flip: random horizontal flips.
      seed: PRNG seed (data order, flips).
      ap_method: ``"area"`` (VOC2010+) or ``"11point"`` (VOC2007) for the validation mAP.
      checkpoint_every: steps between checkpoints.
      log_every: steps between progress lines.
    """

    train_layers: tuple[str, ...] = ()
    epochs: int | None = None
    steps: int | None = None
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    flip: bool = True
    seed: int = 0
    ap_method: str = "area"
    checkpoint_every: int = 100
    log_every: int = 20

    def __post_init__(self):
        if self.epochs is not None and self.steps is not None:
            raise GigjaxError("give epochs or steps, not both")
        for name in ("batch_size", "checkpoint_every", "log_every"):
            check_positive_int(getattr(self, name), name)
        for name in ("epochs", "steps"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise GigjaxError(f"lr must be a positive number, got {self.lr!r}")
        if not (np.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise GigjaxError(f"weight_decay must be a non-negative number, got {self.weight_decay!r}")
        check_choice(self.ap_method, "ap_method", METHODS)
        object.__setattr__(self, "train_layers", tuple(self.train_layers))

    def total_steps(self, steps_per_epoch: int) -> int:
        """The run's length in optimisation steps: ``steps``, else ``epochs`` (default 10) epochs."""
        return self.steps or (self.epochs or 10) * steps_per_epoch


@dataclasses.dataclass
class FinetuneResult:
    """What :func:`gigjax.finetune.finetune` returns.

    Attributes:
      model: the fine-tuned model (its card lists the new class names).
      losses: (steps,) training loss of every step (including steps of earlier, resumed runs).
      val: the validation :class:`~gigjax.finetune.model_ap.APReport`, or None without validation records.
      resumed_from: the step the run resumed from (0 for a fresh run).
    """

    model: Model
    losses: np.ndarray
    val: APReport | None
    resumed_from: int
