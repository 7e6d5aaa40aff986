"""How dataset classes become explainer targets (gigjax.evaluation.class_targets)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.data import COCO_CLASSES, VOC_CLASSES
from gigjax.errors import GigjaxError
from gigjax.evaluation import resolve_targets
from gigjax.models import imagenet_class_names

from fixtures.standin import stand_in_target_for, use_class_map


def test_native_fine_tuned_head_matches_names_and_aliases():
    head = tuple(n.upper() if i % 2 else n for i, n in enumerate(VOC_CLASSES))   # case differs
    dataset = list(VOC_CLASSES[:15]) + ["potted plant", "sheep", "sofa", "train", "tv/monitor"]
    t = resolve_targets(dataset, "voc", head)
    assert t.mode == "native" and t.unmapped == ()
    ids = jnp.asarray([t.entry[15], t.entry[19], t.entry[0]])
    np.testing.assert_array_equal(np.asarray(t.targets(ids)), [15, 19, 0])


def test_imagenet_model_on_imagenet_is_native():
    t = resolve_targets(imagenet_class_names(), "imagenet", imagenet_class_names())
    assert t.mode == "native" and t.entry[417] == 417


def test_mapped_scores_pick_each_pairs_class_and_report_unmapped():
    t = resolve_targets(VOC_CLASSES, "voc", imagenet_class_names(), stand_in_target_for)
    assert t.mode == "mapped"
    assert set(t.unmapped) == set(range(20)) - {VOC_CLASSES.index("bus"), VOC_CLASSES.index("car")}
    logits = jnp.zeros((2, 1000)).at[0, 779].set(3.0).at[1, 436].set(2.0)
    ids = jnp.asarray([t.entry[VOC_CLASSES.index("bus")], t.entry[VOC_CLASSES.index("car")]])
    scores = np.asarray(t.targets(ids)(logits))
    np.testing.assert_allclose(scores, [np.log(np.exp(3.0) + 2), np.log(np.exp(2.0) + 8)], rtol=1e-5)


def test_auto_uses_the_imagenet_class_map_for_an_imagenet_model(monkeypatch):
    use_class_map(monkeypatch)
    t = resolve_targets(VOC_CLASSES, "voc", imagenet_class_names(), "auto")
    assert t.mode == "mapped" and t.entry[VOC_CLASSES.index("bus")] is not None
    assert t.entry[VOC_CLASSES.index("person")] is None


def test_nothing_explainable_is_an_error():
    with pytest.raises(GigjaxError, match="cannot explain any class"):
        resolve_targets(COCO_CLASSES, "coco", ("a", "b"), "none")
    with pytest.raises(GigjaxError, match="class map must be"):
        resolve_targets(VOC_CLASSES, "voc", VOC_CLASSES, "wordnet")


def test_top_mapped_target_is_the_most_likely_class_of_the_set():
    t = resolve_targets(VOC_CLASSES, "voc", imagenet_class_names(), stand_in_target_for, mapped_target="top")
    logits = jnp.zeros((3, 1000)).at[0, 874].set(3.0).at[0, 779].set(1.0).at[1, 511].set(5.0).at[2, 654].set(0.5)
    bus, car = t.entry[VOC_CLASSES.index("bus")], t.entry[VOC_CLASSES.index("car")]
    classes = np.asarray(t.targets(jnp.asarray([bus, car, bus]))(logits))
    assert classes.dtype == np.int32 and classes.tolist() == [874, 511, 654]
    with pytest.raises(GigjaxError, match="mapped target"):
        resolve_targets(VOC_CLASSES, "voc", imagenet_class_names(), stand_in_target_for, mapped_target="max")
