"""The VOC/COCO → ImageNet class map: documented spot checks, policy invariants, the target callables
on the real Lite0 with a real photo, and (where WordNet 3.0 is installed) that the committed JSON is
what the committed generator builds."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.data import classmap
from gigjax.data.tools import build_classmap
from gigjax.errors import GigjaxError
from gigjax.models import imagenet_class_names


def _names(dataset, cls):
    return {imagenet_class_names()[i] for i in classmap.imagenet_classes(dataset, cls)}


def test_class_lists_are_the_standard_ones():
    voc = classmap.class_names("voc")
    assert len(voc) == 20 and voc[0] == "aeroplane" and voc[-1] == "tvmonitor" and voc[14] == "person"
    coco = classmap.class_names("coco/2014")
    assert len(coco) == 80 and coco[0] == "person" and coco[-1] == "toothbrush" and coco[62] == "tv"


def test_spot_checks_from_the_docs():
    assert _names("voc", "bus") == {"minibus", "school bus", "trolleybus"}
    assert classmap.imagenet_classes("voc", "cat") == (281, 282, 283, 284, 285)  # domestic cats, no cougar/lynx
    assert classmap.imagenet_classes("voc", "dog") == tuple(range(151, 269))     # the 118 breeds
    assert _names("voc", "tvmonitor") == {"television", "monitor", "screen"}
    assert _names("voc", "motorbike") == {"moped", "motor scooter"}
    assert _names("voc", "pottedplant") == {"pot"}
    assert _names("voc", "horse") == {"sorrel"} and _names("voc", "cow") == {"ox"} and _names("voc", "sheep") == {"ram"}
    assert len(classmap.imagenet_classes("voc", "bird")) == 59
    assert "kite" in _names("voc", "bird")                        # ImageNet's kite is a bird of prey ...
    assert classmap.imagenet_classes("coco", "kite") == ()        # ... so COCO's toy kite is unmapped
    assert "minivan" in _names("coco", "car") and "minivan" not in _names("coco", "truck")
    assert "giant panda" in _names("coco", "bear") and "cup" in _names("coco", "cup")


def test_bottle_excludes_jugs_and_records_why():
    record = classmap.class_record("voc", "bottle")
    assert {e["name"] for e in record["excluded"]} == {"water jug", "whiskey jug"}
    assert all(e["reason"] for e in record["excluded"])
    assert "wine bottle" in _names("voc", "bottle")


def test_unmapped_classes_are_reported_with_a_reason():
    assert classmap.unmapped("voc") == ("person",)
    coco = classmap.unmapped("coco")
    assert coco[0] == "person" and {"giraffe", "kite", "fork", "scissors", "toothbrush"} <= set(coco)
    assert len(coco) == 17
    for dataset in ("voc", "coco"):
        for name in classmap.unmapped(dataset):
            record = classmap.class_record(dataset, name)
            assert record["unmapped"] and record["imagenet"] == []
            assert classmap.target_for(dataset, name) is None
    assert "scuba diver" in classmap.class_record("voc", "person")["unmapped"]


@pytest.mark.parametrize("dataset", ["voc", "coco"])
def test_each_imagenet_class_belongs_to_at_most_one_dataset_class(dataset):
    mask = classmap.class_mask(dataset)
    assert mask.shape == (len(classmap.class_names(dataset)), 1000)
    assert mask.sum(0).max() == 1
    mapped = [c for c in classmap.class_names(dataset) if c not in classmap.unmapped(dataset)]
    assert all(mask[classmap.class_names(dataset).index(c)].any() for c in mapped)


def test_every_entry_names_its_imagenet_class_and_wnid():
    names, wnids = imagenet_class_names(), classmap.imagenet_wnids()
    assert len(wnids) == 1000 and list(wnids) == sorted(wnids)
    # spot checks of the order against WordNet 3.0 offsets: tench, tabby, toilet tissue
    assert (wnids[0], wnids[281], wnids[999]) == ("n01440764", "n02123045", "n15075141")
    assert (names[0], names[281], names[999]) == ("tench", "tabby", "toilet tissue")
    for dataset in ("voc", "coco"):
        for cls in classmap.class_names(dataset):
            for e in classmap.class_record(dataset, cls)["imagenet"]:
                assert names[e["index"]] == e["name"] and wnids[e["index"]] == e["wnid"] and e["via"]


def test_names_match_loosely_and_bad_names_fail():
    assert classmap.imagenet_classes("voc/2012", "Dining Table") == classmap.imagenet_classes("voc", "diningtable")
    assert classmap.imagenet_classes("coco", "teddy_bear") == (850,)
    with pytest.raises(GigjaxError, match="unknown VOC class 'motorcycle'"):
        classmap.imagenet_classes("voc", "motorcycle")
    with pytest.raises(GigjaxError, match="no class map for dataset 'imagenet'"):
        classmap.unmapped("imagenet")


def test_target_is_logsumexp_of_mapped_logits():
    logits = jax.random.normal(jax.random.PRNGKey(0), (3, 1000)) * 4
    target = classmap.target_for("voc", "bus")
    expected = jax.nn.logsumexp(logits[:, jnp.array([654, 779, 874])], axis=-1)
    np.testing.assert_allclose(target(logits), expected, rtol=1e-6)
    # single ImageNet class: the target is that logit
    np.testing.assert_allclose(classmap.target_for("voc", "horse")(logits), logits[:, 339], rtol=1e-6)
    # a model that is not an ImageNet-1k classifier is a clear error, not a silently clamped gather
    with pytest.raises(GigjaxError, match="ImageNet-1k"):
        target(logits[:, :20])
    with pytest.raises(GigjaxError, match="does not fit"):
        classmap.targets_for("voc", np.array([7, 11]))(logits)
    # equal by value, so explain's compile cache is reused
    assert classmap.target_for("voc", "bus") == target and hash(classmap.target_for("voc", "bus")) == hash(target)


def test_per_image_targets_match_single_class_targets():
    logits = jax.random.normal(jax.random.PRNGKey(1), (3, 1000)) * 4
    classes = np.array([7, 11, 5])  # cat, dog, bus
    names = classmap.class_names("voc")
    batch = classmap.targets_for("voc", classes)(logits)
    one_by_one = [classmap.target_for("voc", names[c])(logits[i:i + 1])[0] for i, c in enumerate(classes)]
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-6)
    jitted = jax.jit(lambda lg, c: classmap.targets_for("voc", c)(lg))(logits, jnp.asarray(classes))
    np.testing.assert_allclose(jitted, batch, rtol=1e-6)
    with pytest.raises(GigjaxError, match="person has no ImageNet counterpart"):
        classmap.targets_for("voc", np.array([7, 14]))
    with pytest.raises(GigjaxError, match="out of range"):
        classmap.targets_for("voc", np.array([20]))


def test_cat_target_explains_chelsea_on_lite0(lite0, chelsea):
    x = lite0.preprocess(chelsea)
    target = classmap.target_for("voc", "cat")
    result = jax.jit(lambda m, x: gigjax.probe(m, x, target, ["head"], input_gradient=False))(lite0, x)
    np.testing.assert_allclose(result.scores, jax.nn.logsumexp(result.logits[:, 281:286], axis=-1), rtol=1e-5)
    # the cat set's score is above each of its members' logits (log-sum-exp ≥ max)
    assert float(result.scores[0]) >= float(result.logits[0, 281:286].max())
    maps = gigjax.explain(lite0, x, "gradcam", targets=target)
    assert maps.shape == (1, 224, 224) and bool(jnp.all(jnp.isfinite(maps)))
    assert float(maps.min()) >= 0.0 and float(maps.max()) > 0.9  # normalised at 7×7, then upsampled


def test_generator_reproduces_the_committed_files():
    folder = build_classmap.DEFAULT_DIR
    if not os.path.isfile(os.path.join(folder, "data.noun")):
        pytest.skip("WordNet 3.0 not installed (apt-get install wordnet-base)")
    assert build_classmap.main(["--check"]) == 0


def test_generator_rejects_shifted_or_unsorted_wnids(tmp_path):
    wnids = list(classmap.imagenet_wnids())
    path = tmp_path / "wnids.txt"
    path.write_text("\n".join(wnids[::-1]))
    with pytest.raises(GigjaxError, match="sorted"):
        build_classmap.read_wnids(str(path))
    path.write_text("\n".join(wnids[:999]))
    with pytest.raises(GigjaxError, match="1000 distinct"):
        build_classmap.read_wnids(str(path))
