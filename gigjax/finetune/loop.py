"""The fine-tuning loop: optimisation steps, progress lines, checkpoints, and Ctrl-C.

A :class:`Loop` holds what stays fixed during a run (the jitted step, the device-resident data, the
frozen parameters, the schedule, where and how often to checkpoint); :meth:`Loop.run` advances a
:class:`gigjax.finetune.checkpoint.TrainState` to the last step. Batches are drawn without
replacement in a fresh random order each epoch (``fold_in(key, epoch)``); an epoch is
``N // batch`` steps. Checkpoints are written every ``checkpoint_every`` steps, at the end, and when
the run is interrupted, so a resumed run continues exactly where the last one stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.finetune import checkpoint as ckpt


class Progress(NamedTuple):
    """The training loop's state: finished steps, parameters, optax state, the epoch's data order, the
    loss history on the host and the losses of later steps still on the device."""

    step: int
    trainable: dict
    opt_state: object
    order: np.ndarray
    history: np.ndarray
    pending: tuple

    def flushed(self) -> "Progress":
        if not self.pending:
            return self
        fresh = np.asarray(jnp.stack(self.pending), np.float32)
        return self._replace(history=np.concatenate([self.history, fresh]), pending=())

    def state(self, key: np.ndarray) -> ckpt.TrainState:
        return ckpt.TrainState(self.step, self.trainable, self.opt_state, key, self.order, self.history)


@dataclasses.dataclass
class Loop:
    """The fixed parts of a run.

    Attributes:
      step: the jitted step of :func:`gigjax.finetune.train_step.step_fn`.
      data: (inputs, labels, mask) on the device, N images each.
      frozen, rest: the frozen parameters (flat) and the non-parameter variables (BatchNorm statistics).
      total: steps of the whole run.
      batch: images per step.
      seed: PRNG seed of the data order and the flips.
      log_every, checkpoint_every: steps between progress lines and between checkpoints.
      checkpoint: the checkpoint file (None: no checkpoints).
      identity: what a checkpoint must match to be resumed (:func:`gigjax.finetune.checkpoint.load`).
    """

    step: Callable
    data: tuple[jax.Array, jax.Array, jax.Array]
    frozen: dict
    rest: dict
    total: int
    batch: int
    seed: int
    log_every: int
    checkpoint_every: int
    checkpoint: str | None
    identity: dict

    @property
    def per_epoch(self) -> int:
        return self.data[0].shape[0] // self.batch

    @functools.cached_property
    def keys(self) -> tuple[jax.Array, jax.Array]:
        """(data-order key, flip key)."""
        key_order, key_flip = jax.random.split(jax.random.PRNGKey(self.seed))
        return key_order, key_flip

    def order_of(self, epoch: int) -> np.ndarray:
        """The (N,) image order of ``epoch``."""
        return np.asarray(jax.random.permutation(jax.random.fold_in(self.keys[0], epoch), self.data[0].shape[0]))

    def fresh_state(self, trainable: dict, opt_state) -> ckpt.TrainState:
        """The state of a run that has not started."""
        return ckpt.TrainState(0, trainable, opt_state, np.asarray(jax.random.PRNGKey(self.seed)), self.order_of(0),
                               np.zeros((0,), np.float32))

    def run(self, state: ckpt.TrainState, say: Callable[[str], None],
            on_step: Callable[[int, jax.Array], None] | None = None) -> Progress:
        """Steps from ``state`` to :attr:`total`; returns the final (flushed) progress."""
        # All mutable progress lives in one tuple, replaced by a single assignment per step, so a Ctrl-C
        # between two statements never leaves parameters, step and loss history out of step.
        now = Progress(state.step, jax.tree_util.tree_map(jnp.asarray, state.trainable), state.opt_state,
                       state.order, state.losses, ())
        per_epoch, total = self.per_epoch, self.total
        tick, order_on_device = time.perf_counter(), (None, None)
        try:
            while now.step < total:
                if order_on_device[0] is not now.order:  # a new epoch: its order goes to the device once
                    order_on_device = (now.order, jnp.asarray(now.order, jnp.int32))
                start = now.step % per_epoch * self.batch
                trainable, opt_state, loss = self.step(now.trainable, now.opt_state, self.frozen, self.rest, *self.data,
                                                       order_on_device[1], start, self.keys[1], now.step)
                step = now.step + 1
                order = self.order_of(step // per_epoch) if step % per_epoch == 0 and step < total else now.order
                now = Progress(step, trainable, opt_state, order, now.history, now.pending + (loss,))
                if on_step is not None:
                    on_step(step, loss)
                if step % self.log_every == 0 or step == total:
                    rate = self.log_every / max(time.perf_counter() - tick, 1e-9)
                    now = now.flushed()
                    say(f"step {step}/{total} loss {now.history[-1]:.4f} ({rate:.1f} steps/s)")
                    tick = time.perf_counter()
                if self.checkpoint and (step % self.checkpoint_every == 0 or step == total):
                    now = now.flushed()
                    ckpt.save(self.checkpoint, now.state(state.key), self.identity)
        except KeyboardInterrupt:
            if self.checkpoint:
                ckpt.save(self.checkpoint, now.flushed().state(state.key), self.identity)
                say(f"interrupted: saved step {now.step}/{total} to {self.checkpoint}; run again to resume")
            raise
        return now.flushed()
