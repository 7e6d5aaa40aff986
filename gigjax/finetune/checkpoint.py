"""Training checkpoints: one msgpack file, replaced atomically, so a crash never leaves a torn file.

A checkpoint holds the trainable parameters, the optax state, the number of finished steps, the RNG
key, the current epoch's data order, the loss of every finished step, and the run's configuration
(a JSON string): resuming compares that configuration with the new run's and refuses a mismatch
(another dataset, model, learning rate, …) instead of silently mixing two runs.

Written with :func:`gigjax.files.atomic_write` (a flushed, fsync'ed temporary file ``os.replace``'d over ``path``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import flax.serialization
import jax
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.files import atomic_write


@dataclasses.dataclass
class TrainState:
    """Everything that changes during training.

    Attributes:
      step: finished steps.
      trainable: flat ``{"path/kernel": array}`` trainable parameters.
      opt_state: the optax state (a pytree).
      key: the run's PRNG key (uint32 key data).
      order: the data order (permutation of the N images) of the epoch that ``step`` is in.
      losses: (step,) float32 training loss of each finished step.
    """

    step: int
    trainable: dict
    opt_state: Any
    key: np.ndarray
    order: np.ndarray
    losses: np.ndarray


def save(path: str, state: TrainState, config: dict) -> None:
    """Writes ``state`` and ``config`` to ``path`` atomically."""
    payload = {
        "config": json.dumps(config, sort_keys=True),
        "step": int(state.step),
        "trainable": jax.device_get(state.trainable),
        "opt_state": jax.device_get(flax.serialization.to_state_dict(state.opt_state)),
        "key": np.asarray(state.key),
        "order": np.asarray(state.order),
        "losses": np.asarray(state.losses, np.float32),
    }
    data = flax.serialization.msgpack_serialize(payload)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_write(path, "wb") as f:
        f.write(data)


def _shapes(tree) -> list:
    return [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


def load(path: str, template: TrainState, config: dict) -> TrainState:
    """Reads the checkpoint at ``path`` into the structure of ``template``.

    Raises:
      GigjaxError: a damaged file, a different configuration (naming the differing settings), or
        parameters / optimizer state that do not fit the template.
    """
    try:
        with open(path, "rb") as f:
            raw = flax.serialization.msgpack_restore(f.read())
        saved = json.loads(raw["config"])
        step, trainable, opt_dict = int(raw["step"]), raw["trainable"], raw["opt_state"]
        key, order, losses = raw["key"], raw["order"], raw["losses"]
    except Exception as exc:  # msgpack raises several unrelated types on damaged input
        raise GigjaxError(f"{path}: damaged checkpoint ({type(exc).__name__}: {exc})") from None
    wanted = json.loads(json.dumps(config, sort_keys=True))
    if saved != wanted:
        diff = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
        details = "; ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {wanted.get(k)!r}" for k in diff[:4])
        raise GigjaxError(f"{path} is a checkpoint of a different run ({details}); start over with "
                          f"--no-resume or give another --out")
    if set(trainable) != set(template.trainable) or any(
            np.shape(trainable[k]) != np.shape(template.trainable[k]) for k in trainable):
        raise GigjaxError(f"{path}: its parameters do not fit the model")
    opt_state = flax.serialization.from_state_dict(template.opt_state, opt_dict)
    if _shapes(opt_state) != _shapes(template.opt_state):
        raise GigjaxError(f"{path}: its optimizer state does not fit the model")
    if np.shape(order) != np.shape(template.order) or len(losses) != step:
        raise GigjaxError(f"{path}: inconsistent data order or loss history")
    return TrainState(step=step, trainable=trainable, opt_state=opt_state, key=np.asarray(key, np.uint32),
                      order=np.asarray(order), losses=np.asarray(losses, np.float32))
