"""Fine-tuning a zoo classifier into a multi-label classifier, resumably: :func:`finetune`.

:func:`finetune` replaces the model's last Dense by a ``len(class_names)``-way head and trains it
with a sigmoid binary cross-entropy (ignored entries — VOC "difficult" — masked out) and
``optax.adamw`` under a cosine learning-rate decay:

* **head only** (``train_layers=()``, the default): the backbone is frozen, so the head's input
  features are computed once for every training image (and its mirror image, with ``flip``) and the
  head trains on them: each step is a (B, D) × (D, C) product. (They are kept in memory, not on disk:
  a resumed run computes them again, identically.)
* **more layers** (``train_layers=backbone.last_stage(model.card)`` or any path prefixes): every step
  runs the whole model on the centre crops (kept in memory as uint8) and back-propagates into those
  layers only. BatchNorm statistics stay frozen (inference mode).

Augmentation: a random horizontal flip per image and step (``flip=True``). The steps, their order
and the checkpoints are :mod:`gigjax.finetune.loop`'s; the jitted pieces
:mod:`gigjax.finetune.train_step`'s.

**Checkpoints** (``checkpoint=PATH``): written atomically every ``checkpoint_every`` steps, at the
end, and when the run is interrupted (Ctrl-C). They hold the trainable parameters, the optax state,
the step, the RNG key, the epoch's data order and the loss history, so a resumed run continues
exactly where the last one stopped: its result equals an uninterrupted run's.

The result is a :class:`~gigjax.finetune.config.FinetuneResult`; write its model with
:func:`gigjax.finetune.weights.write_weights`.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from typing import Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gigjax.data.records import Record
from gigjax.errors import GigjaxError
from gigjax.finetune import backbone as bb
from gigjax.finetune import checkpoint as ckpt
from gigjax.finetune.config import FinetuneConfig, FinetuneResult
from gigjax.finetune.data import read_all
from gigjax.finetune.loop import Loop
from gigjax.finetune.model_ap import APReport, average_precision_of
from gigjax.finetune.train_step import features_fn, step_fn
from gigjax.models import Model

FORMAT_VERSION = 1


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
    bb.split_params(backbone.variables["params"], config.train_layers)  # unknown prefixes fail before reading
    inputs, labels, mask, ids, fingerprint = _read_training_set(backbone, train, names, head, config, say)

    model = bb.with_new_head(backbone, names, _prior_bias(labels, mask), head)
    trainable, frozen = bb.split_params(model.variables["params"], tuple(dict.fromkeys(config.train_layers + (head,))))
    rest = {k: v for k, v in model.variables.items() if k != "params"}
    batch = min(config.batch_size, len(ids))
    total = config.total_steps(len(ids) // batch)
    optimizer = optax.adamw(optax.cosine_decay_schedule(config.lr, total), weight_decay=config.weight_decay)
    identity = {"version": FORMAT_VERSION, "arch": backbone.card.name, "backbone": _digest(backbone.variables),
                "classes": list(names), "train_layers": list(config.train_layers), "steps": total,
                "batch_size": batch, "lr": config.lr, "weight_decay": config.weight_decay, "flip": config.flip,
                "seed": config.seed, "images": len(ids), "data": fingerprint}
    loop = Loop(step=step_fn(model, head, not config.train_layers, config.flip, optimizer, batch),
                data=(jnp.asarray(inputs), jnp.asarray(labels), jnp.asarray(mask)), frozen=frozen, rest=rest,
                total=total, batch=batch, seed=config.seed, log_every=config.log_every,
                checkpoint_every=config.checkpoint_every, checkpoint=checkpoint, identity=identity)

    state = loop.fresh_state(trainable, optimizer.init(trainable))
    if checkpoint and os.path.isfile(checkpoint) and resume is not False:
        state = ckpt.load(checkpoint, state, identity)
        say(f"resuming from step {state.step}/{total} ({checkpoint})")
    now = loop.run(state, say, on_step)
    if now.step == state.step:
        say(f"all {total} steps were already done ({checkpoint})")

    model = model.replace(variables={**rest, "params": bb.merge_params(now.trainable, frozen)})
    report = None if val is None else _validate(model, val, config, names, say)
    return FinetuneResult(model, now.history, report, state.step)


def _read_training_set(backbone: Model, train: Iterable[Record], names: tuple[str, ...], head: str,
                       config: FinetuneConfig, say: Callable[[str], None]):
    """(inputs, labels, mask, ids, fingerprint) of the training records: the head's input features
    of each image (and its mirror) for a head-only run, else the uint8 centre crops."""
    started = time.perf_counter()
    if config.train_layers:
        out = read_all(train, backbone.card, names, config.batch_size)
    else:
        features = features_fn(backbone, head, config.flip)
        out = read_all(train, backbone.card, names, config.batch_size,
                       lambda crops: features(backbone.variables, crops))
    inputs, ids = out[0], out[3]
    say(f"read {len(ids)} training images ({'crops ' if config.train_layers else 'features '}{inputs.shape}) "
        f"in {time.perf_counter() - started:.1f} s")
    return out


def _validate(model: Model, val: Iterable[Record], config: FinetuneConfig, names: tuple[str, ...],
              say: Callable[[str], None]) -> APReport:
    report = average_precision_of(model, val, batch_size=config.batch_size, method=config.ap_method,
                                  class_names=names)
    say(f"validation mAP ({report.method}) {100 * report.map:.2f} on {report.images} images"
        + (f"; {report.undefined} classes without positives excluded" if report.undefined else ""))
    return report


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
