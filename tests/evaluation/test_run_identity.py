"""gigjax/evaluation/identity.py: a resume after a weight or dataset change is refused, saying what
changed (issue #12.3); nothing is written by the refused run."""

from __future__ import annotations

import hashlib
import os
import shutil

import jax
import pytest

from gigjax.data import open_dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation import evaluate
from gigjax.evaluation.identity import file_sha256, variables_sha256

CHEAP = dict(metrics=["average_drop"], batch_size=3, progress=False)


def _folder_state(out):
    return {name: open(os.path.join(out, name), "rb").read() for name in ("run.json", "results.jsonl")}


def test_file_hash_is_the_streamed_sha256(tmp_path):
    path = tmp_path / "w.bin"
    data = os.urandom(3 * (1 << 20) + 17)       # several read chunks
    path.write_bytes(data)
    assert file_sha256(str(path)) == hashlib.sha256(data).hexdigest()
    with pytest.raises(GigjaxError, match="cannot read the weight file"):
        file_sha256(str(tmp_path / "missing.pth"))


def test_new_weights_in_the_same_file_are_refused(tiny, labelme_voc, tmp_path):
    weights, out = tmp_path / "model.pth", str(tmp_path / "run")
    weights.write_bytes(b"first weights")
    evaluate(tiny, labelme_voc, ["gradcam"], out, weights_file=str(weights), **CHEAP)
    before = _folder_state(out)
    weights.write_bytes(b"other weights")
    with pytest.raises(GigjaxError, match=r"holds a run with different weights \(weights was .*now"):
        evaluate(tiny, labelme_voc, ["gradcam"], out, weights_file=str(weights), **CHEAP)
    assert _folder_state(out) == before


def test_changed_parameters_are_refused_without_a_weight_file(tiny, labelme_voc, tmp_path):
    out = str(tmp_path / "run")
    evaluate(tiny, labelme_voc, ["gradcam"], out, **CHEAP)
    other = tiny.replace(variables=jax.tree_util.tree_map(lambda v: v * 1.5, tiny.variables))
    assert variables_sha256(other.variables) != variables_sha256(tiny.variables)
    with pytest.raises(GigjaxError, match="different weights"):
        evaluate(other, labelme_voc, ["gradcam"], out, **CHEAP)


def test_a_swapped_image_is_refused_naming_the_index_and_both_images(tiny, fixtures_dir, tmp_path):
    voc = tmp_path / "voc"
    shutil.copytree(os.path.join(fixtures_dir, "labelme", "voc"), voc)
    out = str(tmp_path / "run")
    evaluate(tiny, open_dataset(str(voc)), ["gradcam"], out, **CHEAP)
    before = _folder_state(out)
    # replace the bus photo by another one under a new name: same dataset name and image count
    for folder, ext in (("Annotations", "xml"), ("JPEGImages", "jpg")):
        os.rename(voc / folder / f"2011_000025.{ext}", voc / folder / f"2011_000099.{ext}")
    with pytest.raises(GigjaxError, match=r"index 2 is of image '2011_000025', but the dataset now has "
                                          r"'2011_000099' there: the dataset changed"):
        evaluate(tiny, open_dataset(str(voc)), ["gradcam"], out, **CHEAP)
    assert _folder_state(out) == before
