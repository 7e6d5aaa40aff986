"""Fine-tuning a zoo classifier into a multi-label classifier, resumably, and its VOC mAP.

:func:`finetune` replaces the model's last Dense by a ``len(class_names)``-way head and trains it
with a sigmoid binary cross-entropy (ignored entries — VOC "difficult" — masked out) and
``optax.adamw`` under a cosine learning-rate decay:

* **head only** (``train_layers=()``, the default): the backbone is frozen, so the head's input
  features are computed once for every training image (and its mirror image, with ``flip``) and the
  head trains on them: each step is a (B, D) × (D, C) product. (They are kept in memory, not on disk:
  a resumed run computes them again, identically.)
* **more layers** (``train_layers=backbone.last_stage(arch)`` or any path prefixes): every step runs
  the whole model on the centre crops (kept in memory as uint8) and back-propagates into those layers
  only. BatchNorm statistics stay frozen (inference mode).

Augmentation: a random horizontal flip per image and step (``flip=True``). Batches are drawn
without replacement in a fresh random order each epoch; an epoch is ``N // batch_size`` steps.

**Checkpoints** (``checkpoint=PATH``): written atomically every ``checkpoint_every`` steps, at the
end, and when the run is interrupted (Ctrl-C). They hold the trainable parameters, the optax state,
the step, the RNG key, the epoch's data order and the loss history, so a resumed run continues
exactly where the last one stopped: its result equals an uninterrupted run's.

The result is a :class:`FinetuneResult`; write its model with
:func:`gigjax.finetune.weights.write_weights`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import time
from typing import Callable, Iterable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gigjax.data.records import Record
from gigjax.errors import GigjaxError
from gigjax.finetune import backbone as bb
from gigjax.finetune import checkpoint as ckpt
from gigjax.finetune.average_precision import METHODS, mean_average_precision
from gigjax.finetune.data import padded_map, read_all
from gigjax.models import Model
from gigjax.validation import check_choice, check_positive_int

FORMAT_VERSION = 1


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


@dataclasses.dataclass
class FinetuneResult:
    """What :func:`finetune` returns.

    Attributes:
      model: the fine-tuned model (its card lists the new class names).
      losses: (steps,) training loss of every step (including steps of earlier, resumed runs).
      val: the validation :class:`Evaluation`, or None without validation records.
      resumed_from: the step the run resumed from (0 for a fresh run).
    """

    model: Model
    losses: np.ndarray
    val: "Evaluation | None"
    resumed_from: int


@dataclasses.dataclass
class Evaluation:
    """Validation result: ``map`` (NaN when no class has a positive), ``ap`` (C,) with NaN for classes
    without positives, ``undefined`` (their number), ``images``, ``method``, ``logits`` (N, C)."""

    map: float
    ap: np.ndarray
    undefined: int
    images: int
    method: str
    logits: np.ndarray


def _logits_fn(model: Model) -> Callable:
    return jax.jit(lambda variables, crops: model.replace(variables=variables).logits(model.normalize(crops)))


def evaluate(model: Model, records: Iterable[Record], *, batch_size: int = 32, method: str = "area",
             class_names: Sequence[str] | None = None) -> Evaluation:
    """VOC mAP of a multi-label ``model`` on ``records`` (classes: the model card's unless given)."""
    check_choice(method, "method", METHODS)
    names = tuple(class_names or model.card.class_names)
    fn = _logits_fn(model)
    logits, labels, mask, ids, _ = read_all(records, model.card, names, batch_size,
                                            lambda crops: fn(model.variables, crops))
    mean, ap, undefined = mean_average_precision(logits, labels, mask, method)
    return Evaluation(float(mean), np.asarray(ap), int(undefined), len(ids), method, logits)


def _digest(tree) -> str:
    h = hashlib.sha1()
    for path, leaf in sorted(jax.tree_util.tree_flatten_with_path(tree)[0], key=lambda kv: jax.tree_util.keystr(kv[0])):
        h.update(jax.tree_util.keystr(path).encode())
        h.update(np.ascontiguousarray(jax.device_get(leaf)).tobytes())
    return h.hexdigest()


def _prior_bias(labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Head bias = log-odds of each class's (smoothed) frequency, so training starts calibrated."""
    p = (np.sum(labels & mask, 0) + 1.0) / (np.sum(mask, 0) + 2.0)
    return np.log(p / (1 - p)).astype(np.float32)


def _masked_bce(logits: jax.Array, labels: jax.Array, mask: jax.Array) -> jax.Array:
    loss = optax.sigmoid_binary_cross_entropy(logits, labels.astype(logits.dtype))
    return jnp.sum(jnp.where(mask, loss, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def _split_first(records: Iterable[Record], class_names):
    """(class names, the records) — the names of the first record when not given."""
    names = class_names or getattr(records, "class_names", None)
    if names:
        return tuple(names), records
    iterator = iter(records)
    try:
        first = next(iterator)
    except StopIteration:
        raise GigjaxError("the training set holds no images") from None
    return tuple(first.class_names), itertools.chain([first], iterator)


def finetune(backbone: Model, train: Iterable[Record], val: Iterable[Record] | None = None,
             config: FinetuneConfig = FinetuneConfig(), *, class_names: Sequence[str] | None = None,
             checkpoint: str | None = None, resume: bool | None = None,
             log: Callable[[str], None] | None = None,
             on_step: Callable[[int, jax.Array], None] | None = None) -> FinetuneResult:
    """Trains a multi-label head (and optionally more layers) on ``train``; reports mAP on ``val``.

    Args:
      backbone: a zoo model (e.g. ImageNet weights); its last Dense is replaced.
      train: training records (any iterable, read once).
      val: validation records for the final mAP (optional).
      config: a :class:`FinetuneConfig`.
      class_names: the classes (default: the records' ``class_names``).
      checkpoint: checkpoint file (none when None).
      resume: ``None`` resumes when ``checkpoint`` exists, ``True`` requires it, ``False`` starts over.
      log: called with progress lines (e.g. ``print``).
      on_step: called as ``on_step(step, loss)`` after every step (``step`` counts finished steps).

    Raises:
      GigjaxError: bad settings, records of another dataset, a checkpoint of a different run.
    """
    say = log or (lambda message: None)
    if resume and not (checkpoint and os.path.isfile(checkpoint)):
        raise GigjaxError(f"nothing to resume: no checkpoint {checkpoint!r}")
    names, train = _split_first(train, class_names)
    head = bb.classifier_path(backbone)
    head_only = not config.train_layers
    trainable_prefixes = tuple(dict.fromkeys(config.train_layers + (head,)))
    bb.split_params(backbone.variables["params"], config.train_layers)  # unknown prefixes fail before reading

    started = time.perf_counter()
    if head_only:
        features = _features_fn(backbone, head, config.flip)
        inputs, labels, mask, ids, fingerprint = read_all(
            train, backbone.card, names, config.batch_size, lambda crops: features(backbone.variables, crops))
    else:
        inputs, labels, mask, ids, fingerprint = read_all(train, backbone.card, names, config.batch_size)
    n = len(ids)
    say(f"read {n} training images ({'features ' if head_only else 'crops '}{inputs.shape}) "
        f"in {time.perf_counter() - started:.1f} s")

    model = bb.with_new_head(backbone, names, _prior_bias(labels, mask), head)
    trainable, frozen = bb.split_params(model.variables["params"], trainable_prefixes)
    rest = {k: v for k, v in model.variables.items() if k != "params"}
    batch = min(config.batch_size, n)
    per_epoch = n // batch
    total = config.steps or (config.epochs or 10) * per_epoch
    optimizer = optax.adamw(optax.cosine_decay_schedule(config.lr, total), weight_decay=config.weight_decay)
    run_config = {"version": FORMAT_VERSION, "arch": backbone.card.name, "backbone": _digest(backbone.variables),
                  "classes": list(names), "train_layers": list(config.train_layers), "steps": total,
                  "batch_size": batch, "lr": config.lr, "weight_decay": config.weight_decay, "flip": config.flip,
                  "seed": config.seed, "images": n, "data": fingerprint}

    key_order, key_flip = jax.random.split(jax.random.PRNGKey(config.seed))

    def order_of(epoch: int) -> np.ndarray:
        return np.asarray(jax.random.permutation(jax.random.fold_in(key_order, epoch), n))

    state = ckpt.TrainState(0, trainable, optimizer.init(trainable), np.asarray(jax.random.PRNGKey(config.seed)),
                            order_of(0), np.zeros((0,), np.float32))
    if checkpoint and os.path.isfile(checkpoint) and resume is not False:
        state = ckpt.load(checkpoint, state, run_config)
        say(f"resuming from step {state.step}/{total} ({checkpoint})")
    resumed_from = state.step

    step_fn = _step_fn(model, head, head_only, config.flip, optimizer, batch)
    data = (jnp.asarray(inputs), jnp.asarray(labels), jnp.asarray(mask))
    # All mutable progress lives in one tuple, replaced by a single assignment per step, so a Ctrl-C
    # between two statements never leaves parameters, step and loss history out of step.
    now = _Progress(state.step, jax.tree_util.tree_map(jnp.asarray, state.trainable), state.opt_state,
                    state.order, state.losses, ())
    tick, order_on_device = time.perf_counter(), (None, None)
    try:
        while now.step < total:
            if order_on_device[0] is not now.order:  # a new epoch: its order goes to the device once
                order_on_device = (now.order, jnp.asarray(now.order, jnp.int32))
            trainable, opt_state, loss = step_fn(now.trainable, now.opt_state, frozen, rest, *data,
                                                 order_on_device[1], now.step % per_epoch * batch, key_flip, now.step)
            step = now.step + 1
            order = order_of(step // per_epoch) if step % per_epoch == 0 and step < total else now.order
            now = _Progress(step, trainable, opt_state, order, now.history, now.pending + (loss,))
            if on_step is not None:
                on_step(step, loss)
            if step % config.log_every == 0 or step == total:
                rate = config.log_every / max(time.perf_counter() - tick, 1e-9)
                now = now.flushed()
                say(f"step {step}/{total} loss {now.history[-1]:.4f} ({rate:.1f} steps/s)")
                tick = time.perf_counter()
            if checkpoint and (step % config.checkpoint_every == 0 or step == total):
                now = now.flushed()
                ckpt.save(checkpoint, now.state(state.key), run_config)
    except KeyboardInterrupt:
        if checkpoint:
            ckpt.save(checkpoint, now.flushed().state(state.key), run_config)
            say(f"interrupted: saved step {now.step}/{total} to {checkpoint}; run again to resume")
        raise
    if now.step == resumed_from:
        say(f"all {total} steps were already done ({checkpoint})")

    model = model.replace(variables={**rest, "params": bb.merge_params(now.trainable, frozen)})
    evaluation = None
    if val is not None:
        evaluation = evaluate(model, val, batch_size=config.batch_size, method=config.ap_method, class_names=names)
        say(f"validation mAP ({evaluation.method}) {100 * evaluation.map:.2f} on {evaluation.images} images"
            + (f"; {evaluation.undefined} classes without positives excluded" if evaluation.undefined else ""))
    return FinetuneResult(model, now.flushed().history, evaluation, resumed_from)


class _Progress(NamedTuple):
    """The training loop's state: finished steps, parameters, optax state, the epoch's data order, the
    loss history on the host and the losses of later steps still on the device."""

    step: int
    trainable: dict
    opt_state: object
    order: np.ndarray
    history: np.ndarray
    pending: tuple

    def flushed(self) -> "_Progress":
        if not self.pending:
            return self
        fresh = np.asarray(jnp.stack(self.pending), np.float32)
        return self._replace(history=np.concatenate([self.history, fresh]), pending=())

    def state(self, key: np.ndarray) -> ckpt.TrainState:
        return ckpt.TrainState(self.step, self.trainable, self.opt_state, key, self.order, self.history)


def _features_fn(backbone: Model, head: str, flip: bool) -> Callable:
    """jit: (variables, uint8 crops (B, H, W, 3)) → (B, V, D) head inputs of the image (and its mirror)."""

    def features(variables, crops):
        model = backbone.replace(variables=variables)
        x = model.normalize(crops)
        views = [x, x[:, :, ::-1]] if flip else [x]
        return jnp.stack([bb.head_inputs(model, v, head) for v in views], axis=1)

    return jax.jit(features)


def _step_fn(model: Model, head: str, head_only: bool, flip: bool, optimizer, batch: int) -> Callable:
    """jit: one optimisation step on ``order[start:start + batch]`` of the device-resident data, with
    the flips drawn from ``fold_in(key, step_number)``."""

    def logits_of(trainable, frozen, rest, inputs, flipped):
        if head_only:
            feats = jnp.where(flipped[:, None], inputs[:, -1], inputs[:, 0])
            return bb.dense(trainable, head, feats)
        x = model.normalize(inputs)
        x = jnp.where(flipped[:, None, None, None], x[:, :, ::-1], x)
        return model.module.apply({**rest, "params": bb.merge_params(trainable, frozen)}, x)

    def step(trainable, opt_state, frozen, rest, inputs, labels, mask, order, start, key, step_number):
        idx = jax.lax.dynamic_slice_in_dim(order, start, batch)
        key = jax.random.fold_in(key, step_number)
        flipped = jax.random.bernoulli(key, 0.5, idx.shape) if flip else jnp.zeros(idx.shape, bool)

        def loss_fn(params):
            return _masked_bce(logits_of(params, frozen, rest, inputs[idx], flipped), labels[idx], mask[idx])

        loss, grads = jax.value_and_grad(loss_fn)(trainable)
        updates, opt_state = optimizer.update(grads, opt_state, trainable)
        return optax.apply_updates(trainable, updates), opt_state, loss

    return jax.jit(step)
