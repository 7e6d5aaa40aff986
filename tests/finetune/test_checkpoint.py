"""Checkpoint files: round trip, atomic replacement, damaged files and mismatched runs."""

from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gigjax.errors import GigjaxError
from gigjax.finetune import checkpoint as ckpt


def _state(scale=1.0, step=3):
    trainable = {"fc/kernel": jnp.full((4, 2), scale), "fc/bias": jnp.arange(2.0)}
    opt = optax.adamw(1e-3)
    opt_state = opt.init(trainable)
    _, opt_state = opt.update(trainable, opt_state, trainable)
    return ckpt.TrainState(step, trainable, opt_state, np.array([0, 7], np.uint32), np.arange(5)[::-1],
                           np.linspace(1, 0, step).astype(np.float32))


CONFIG = {"lr": 0.1, "data": "abc", "classes": ["a", "b"]}


def test_round_trip(tmp_path):
    path = str(tmp_path / "sub" / "run.ckpt")
    saved = _state()
    ckpt.save(path, saved, CONFIG)
    assert os.path.isfile(path) and not os.path.exists(path + ".tmp")
    loaded = ckpt.load(path, _state(scale=0.0, step=0), CONFIG)
    assert loaded.step == 3
    np.testing.assert_array_equal(loaded.trainable["fc/kernel"], saved.trainable["fc/kernel"])
    np.testing.assert_array_equal(loaded.order, saved.order)
    np.testing.assert_array_equal(loaded.key, saved.key)
    np.testing.assert_array_equal(loaded.losses, saved.losses)
    assert int(loaded.opt_state[0].count) == 1
    np.testing.assert_array_equal(loaded.opt_state[0].mu["fc/bias"], saved.opt_state[0].mu["fc/bias"])


def test_other_run_damaged_or_misfit_files_are_refused(tmp_path):
    path = str(tmp_path / "run.ckpt")
    ckpt.save(path, _state(), CONFIG)
    with pytest.raises(GigjaxError, match=r"different run \(lr: checkpoint 0.1 vs now 0.2\)"):
        ckpt.load(path, _state(), {**CONFIG, "lr": 0.2})
    other = _state()
    other.trainable = {"head/kernel": jnp.zeros((4, 2))}
    with pytest.raises(GigjaxError, match="do not fit"):
        ckpt.load(path, other, CONFIG)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(GigjaxError, match="damaged checkpoint"):
        ckpt.load(path, _state(), CONFIG)
