"""gigjax/evaluation/plan.py: everything is validated before anything is written (issue #12.9), so a
typo leaves no --out folder behind and the corrected call runs."""

from __future__ import annotations

import pytest

from gigjax.data.source import Dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation import Evaluation, plan_run


class _Empty(Dataset):
    name, family, class_names = "empty", "voc", ("dog",)

    def __len__(self):
        return 0

    def __getitem__(self, index):
        raise IndexError(index)


@pytest.mark.parametrize("kwargs, message", [
    ({"postprocess": {"layer": "featurs"}}, "unknown layer 'featurs' for tiny_cnn; did you mean features"),
    ({"method_options": {"gradcam": {"layer": ("features", "nope")}}}, "unknown layer 'nope'"),
    ({"settings": {"pixels_per_step": 0}}, "pixels per step"),
    ({"settings": {"step": 224}}, "unknown setting.*step; known: tolerance, masking_space, pixels_per_step"),
    ({"settings": {"tolerance": -1}}, "tolerance must be a non-negative integer"),
    ({"batch_size": 0}, "batch size"),
    ({"on_error": "ignore"}, "on_error"),
])
def test_a_typo_fails_before_the_out_folder_exists(tiny, labelme_voc, tmp_path, kwargs, message):
    out = tmp_path / "run"
    with pytest.raises(GigjaxError, match=message):
        Evaluation(tiny, labelme_voc, ["gradcam"], str(out), **kwargs).run()
    assert not out.exists()


def test_an_empty_dataset_is_an_error(tiny):
    with pytest.raises(GigjaxError, match="empty: the dataset has no images"):
        plan_run(tiny, _Empty(), ["gradcam"])


def test_the_plan_holds_the_validated_run(tiny, labelme_voc):
    plan = plan_run(tiny, labelme_voc, ["gradcam", "gradcam"], postprocess={"layer": "features"}, limit=2,
                    metrics=["deletion", "pointing_game"])
    assert plan.methods == ("gradcam",) and plan.count == 2
    assert plan.options == {"gradcam": {"layer": "features"}}
    assert plan.settings.confidence_metrics == ("deletion",)
    assert plan.settings.localization_metrics == ("pointing_game",)
    assert plan.targets.mode == "native"


def test_a_class_index_method_under_a_score_class_map_is_refused_up_front(tiny, labelme_voc, tmp_path):
    """Score-CAM (``Method.class_index``) cannot explain a class-set score: with a mapped class map whose
    classes are scores the run is refused before anything is written, saying what to do instead;
    ``mapped_target="top"`` (one class index per pair), a native map and a method that takes scores run."""
    import jax

    def score_map(name):  # every dataset class: the log-sum-exp of the model's first two classes
        return lambda logits: jax.nn.logsumexp(logits[:, :2], axis=-1)

    out = tmp_path / "run"
    with pytest.raises(GigjaxError, match=r"scorecam explains one model class per image.*--mapped-target top"):
        Evaluation(tiny, labelme_voc, ["gradcam", "scorecam"], str(out), class_map=score_map).run()
    assert not out.exists()
    assert plan_run(tiny, labelme_voc, ["scorecam"], class_map=score_map, mapped_target="top").targets.mode == "mapped"
    assert plan_run(tiny, labelme_voc, ["gradcam"], class_map=score_map).targets.mapped_target == "logsumexp"
    assert plan_run(tiny, labelme_voc, ["scorecam"]).targets.mode == "native"
    assert plan_run(tiny, labelme_voc, ["scorecam"], class_map=score_map, metrics=["average_drop"]).targets is None
