"""The fine-tuned weight file: meta round trip, loading back a real architecture, malformed files."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.finetune import META_KEY, load_finetuned, read_meta, write_weights
from gigjax.finetune.backbone import with_new_head
from gigjax.models import CheckpointError
from gigjax.models.convert import flatten_variables

VOC = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
       "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")


@pytest.fixture(scope="module")
def voc_lite0(lite0):
    model = with_new_head(lite0, VOC)
    # give the head non-trivial weights so the round trip is tested on real numbers
    head = model.variables["params"]["fc"]
    head = {"kernel": jax.random.normal(jax.random.PRNGKey(0), head["kernel"].shape), "bias": head["bias"] + 1}
    return model.replace(variables={**model.variables, "params": {**model.variables["params"], "fc": head}})


def test_meta_and_variables_round_trip(tmp_path, voc_lite0):
    path = str(tmp_path / "voc.npz")
    write_weights(path, voc_lite0, val_map=0.5)
    meta = read_meta(path)
    assert meta == {"arch": "efficientnet_lite0", "num_classes": 20, "class_names": list(VOC), "val_map": 0.5}
    with np.load(path) as data:  # the documented layout: flattened variables + the meta string
        assert set(data.files) == set(flatten_variables(voc_lite0.variables)) | {META_KEY}
        assert json.loads(str(data[META_KEY]))["arch"] == "efficientnet_lite0"
    loaded = load_finetuned(path)
    assert loaded.card.class_names == VOC and loaded.card.num_classes == 20
    for a, b in zip(jax.tree_util.tree_leaves(loaded.variables), jax.tree_util.tree_leaves(voc_lite0.variables)):
        np.testing.assert_array_equal(a, b)


def test_malformed_files(tmp_path, voc_lite0):
    with pytest.raises(GigjaxError, match="end in .npz"):
        write_weights(str(tmp_path / "x.bin"), voc_lite0)
    with pytest.raises(CheckpointError, match="no such weight file"):
        read_meta(str(tmp_path / "missing.npz"))
    plain = str(tmp_path / "plain.npz")
    np.savez(plain, **{"params/fc/bias": np.zeros(3)})
    with pytest.raises(CheckpointError, match="no __gigjax_meta__"):
        read_meta(plain)
    for bad, message in [({"arch": "efficientnet_lite0", "num_classes": 2, "class_names": ["a"]}, "must list 2"),
                         ({"num_classes": 1, "class_names": ["a"]}, "'arch' string"),
                         ({"arch": "x", "num_classes": 0, "class_names": []}, "positive integer")]:
        path = str(tmp_path / "bad.npz")
        np.savez(path, **{META_KEY: np.array(json.dumps(bad))})
        with pytest.raises(CheckpointError, match=message):
            read_meta(path)
    broken = str(tmp_path / "broken.npz")
    np.savez(broken, **{META_KEY: np.array("{not json")})
    with pytest.raises(CheckpointError, match="damaged"):
        read_meta(broken)
    unknown = str(tmp_path / "unknown.npz")
    np.savez(unknown, **{META_KEY: np.array(json.dumps({"arch": "alexnet", "num_classes": 1, "class_names": ["a"]}))})
    with pytest.raises(CheckpointError, match="unknown model 'alexnet'"):
        load_finetuned(unknown)


def test_load_model_reads_the_meta(tmp_path, voc_lite0):
    import gigjax
    from gigjax.models import WeightMismatchError

    path = str(tmp_path / "voc.npz")
    write_weights(path, voc_lite0)
    model = gigjax.load_model("efficientnet_lite0", weights=path)
    assert model.card.class_names == VOC and model.card.num_classes == 20
    with pytest.raises(WeightMismatchError, match="holds efficientnet_lite0 weights, not resnet50"):
        gigjax.load_model("resnet50", weights=path)
    with pytest.raises(GigjaxError, match="20-class head"):
        gigjax.load_model("efficientnet_lite0", weights=path, num_classes=10)
