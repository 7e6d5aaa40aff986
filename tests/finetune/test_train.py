"""The fine-tuning loop on a tiny model and synthetic records: it learns, it resumes exactly, and it
refuses what it cannot do."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.finetune import FinetuneConfig, average_precision_of, finetune
from gigjax.finetune.backbone import split_params

from finetune.toys import CLASSES


def _params(result):
    return jax.tree_util.tree_leaves(result.model.variables["params"])


@pytest.fixture(scope="module")
def head_run(tiny, train_records, val_records):
    config = FinetuneConfig(steps=60, batch_size=8, lr=0.2, log_every=10)
    return finetune(tiny, train_records, val_records, config)


def test_head_only_learns_the_colours(head_run):
    losses = head_run.losses
    assert losses.shape == (60,) and np.all(np.isfinite(losses))
    assert losses[-10:].mean() < 0.6 * losses[:5].mean()
    val = head_run.val
    assert val.images == 16 and val.method == "area"
    assert val.undefined == 1 and np.isnan(val.ap[3])    # "never" has no positive
    assert val.map > 0.9
    assert head_run.model.card.class_names == CLASSES and head_run.model.card.num_classes == 4


def test_head_only_changes_only_the_head(tiny, head_run):
    before, _ = split_params(tiny.variables["params"], ("stem", "stage", "bn"))
    after, _ = split_params(head_run.model.variables["params"], ("stem", "stage", "bn"))
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    assert head_run.model.variables["params"]["fc"]["kernel"].shape == (16, 4)


def test_average_precision_of_matches_the_runs_validation(head_run, val_records):
    again = average_precision_of(head_run.model, val_records, batch_size=5)
    np.testing.assert_allclose(again.ap, head_run.val.ap, rtol=1e-5)
    np.testing.assert_allclose(again.logits, head_run.val.logits, rtol=1e-5, atol=1e-5)


def test_last_stage_training_learns_and_moves_that_stage(tiny, train_records):
    config = FinetuneConfig(train_layers=("stage",), steps=40, batch_size=8, lr=0.02)
    result = finetune(tiny, train_records, None, config)
    assert result.val is None
    assert result.losses[-8:].mean() < 0.8 * result.losses[:4].mean()
    p = result.model.variables["params"]
    assert not np.allclose(p["stage"]["kernel"], tiny.variables["params"]["stage"]["kernel"])
    np.testing.assert_array_equal(p["stem"]["kernel"], tiny.variables["params"]["stem"]["kernel"])


class Stop(Exception):
    pass


def _interrupt_at(step, exc):
    def hook(s, loss):
        if s == step:
            raise exc
    return hook


@pytest.mark.parametrize("train_layers", [(), ("stage",)], ids=["head", "last_stage"])
def test_resume_after_ctrl_c_equals_an_uninterrupted_run(tiny, train_records, tmp_path, train_layers):
    # 24 images / batch 8 = 3 steps an epoch: the interruption (step 7) falls inside epoch 2
    config = FinetuneConfig(train_layers=train_layers, steps=12, batch_size=8, lr=0.02, checkpoint_every=5)
    straight = finetune(tiny, train_records, None, config)
    path = str(tmp_path / "run.ckpt")
    with pytest.raises(KeyboardInterrupt):
        finetune(tiny, train_records, None, config, checkpoint=path, on_step=_interrupt_at(7, KeyboardInterrupt()))
    assert os.path.isfile(path) and not os.path.exists(path + ".tmp")
    resumed = finetune(tiny, train_records, None, config, checkpoint=path)
    assert resumed.resumed_from == 7
    np.testing.assert_array_equal(resumed.losses, straight.losses)
    for a, b in zip(_params(resumed), _params(straight)):
        np.testing.assert_array_equal(a, b)


def test_crash_resumes_from_the_last_periodic_checkpoint(tiny, train_records, tmp_path):
    config = FinetuneConfig(steps=9, batch_size=8, lr=0.02, checkpoint_every=4)
    straight = finetune(tiny, train_records, None, config)
    path = str(tmp_path / "run.ckpt")
    with pytest.raises(Stop):  # a crash after step 6: steps 5 and 6 are lost, 1-4 are kept
        finetune(tiny, train_records, None, config, checkpoint=path, on_step=_interrupt_at(6, Stop()))
    resumed = finetune(tiny, train_records, None, config, checkpoint=path, resume=True)
    assert resumed.resumed_from == 4
    np.testing.assert_array_equal(resumed.losses, straight.losses)
    for a, b in zip(_params(resumed), _params(straight)):
        np.testing.assert_array_equal(a, b)
    # a finished run resumes to the same model without training again
    again = finetune(tiny, train_records, None, config, checkpoint=path)
    assert again.resumed_from == 9
    for a, b in zip(_params(again), _params(straight)):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_of_another_run_is_refused(tiny, train_records, tmp_path):
    path = str(tmp_path / "run.ckpt")
    finetune(tiny, train_records, None, FinetuneConfig(steps=2, batch_size=8), checkpoint=path)
    with pytest.raises(GigjaxError, match="different run.*lr"):
        finetune(tiny, train_records, None, FinetuneConfig(steps=2, batch_size=8, lr=0.5), checkpoint=path)
    with pytest.raises(GigjaxError, match="different run.*data"):
        finetune(tiny, train_records[:-1], None, FinetuneConfig(steps=2, batch_size=8), checkpoint=path)
    # resume=False starts over and overwrites it
    fresh = finetune(tiny, train_records, None, FinetuneConfig(steps=2, batch_size=8, lr=0.5), checkpoint=path,
                     resume=False)
    assert fresh.resumed_from == 0


def test_bad_settings(tiny, train_records):
    with pytest.raises(GigjaxError, match="epochs or steps"):
        FinetuneConfig(epochs=1, steps=1)
    with pytest.raises(GigjaxError, match="batch_size"):
        FinetuneConfig(batch_size=0)
    with pytest.raises(GigjaxError, match="lr"):
        FinetuneConfig(lr=-1.0)
    with pytest.raises(GigjaxError, match="ap_method"):
        FinetuneConfig(ap_method="voc")
    with pytest.raises(GigjaxError, match="no parameters under 'layer4'"):
        finetune(tiny, train_records, None, FinetuneConfig(train_layers=("layer4",), steps=1))
    with pytest.raises(GigjaxError, match="nothing to resume"):
        finetune(tiny, train_records, None, FinetuneConfig(steps=1), checkpoint="/nonexistent/x.ckpt", resume=True)
    with pytest.raises(GigjaxError, match="no images"):
        finetune(tiny, [], None, FinetuneConfig(steps=1))
