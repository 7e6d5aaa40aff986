"""``gigjax finetune`` end to end on Lite0: a VOCdevkit-style folder of synthetic photos (read by the
dataset readers when this build has them, else handed over as records), the weight file and its
meta, and one-line errors for bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from gigjax import cli
from gigjax.commands import finetune as command
from gigjax.data.records import Record
from gigjax.finetune import read_meta

VOC = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
       "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")


class Records(list):
    """A list of records with the reader interface the command uses (``class_names``, ``len``)."""

    class_names = VOC


def _xml(image_id, boxes):
    objects = "".join(
        f"<object><name>{VOC[c]}</name><difficult>{int(d)}</difficult><bndbox><xmin>{x0 + 1}</xmin>"
        f"<ymin>{y0 + 1}</ymin><xmax>{x1 + 1}</xmax><ymax>{y1 + 1}</ymax></bndbox></object>"
        for c, (x0, y0, x1, y1), d in boxes)
    return f"<annotation><filename>{image_id}.jpg</filename>{objects}</annotation>"


def _voc_folder(root, rng):
    """Writes VOC2012/{JPEGImages,Annotations,ImageSets/Main} with 6 train and 4 val photos; returns the
    records per split as the readers would give them (0-based boxes)."""
    base = os.path.join(root, "VOC2012")
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(base, sub))
    splits = {}
    for split, n in (("train", 6), ("val", 4)):
        records = []
        for i in range(n):
            image_id = f"2012_{split}_{i}"
            image = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
            boxes = [(7 if i % 2 else 11, (5, 5, 40, 50), False), (14, (45, 10, 70, 55), i == 0)]
            Image.fromarray(image).save(os.path.join(base, "JPEGImages", image_id + ".jpg"), quality=95)
            with open(os.path.join(base, "Annotations", image_id + ".xml"), "w") as f:
                f.write(_xml(image_id, boxes))
            decoded = np.asarray(Image.open(os.path.join(base, "JPEGImages", image_id + ".jpg")).convert("RGB"))
            records.append(Record(image_id, decoded, np.array([b for _, b, _ in boxes], np.float32),
                                  np.array([c for c, _, _ in boxes], np.int32), np.array([d for _, _, d in boxes]),
                                  tuple(sorted({c for c, _, _ in boxes})), VOC))
        with open(os.path.join(base, "ImageSets", "Main", f"{split}.txt"), "w") as f:
            f.write("\n".join(r.image_id for r in records) + "\n")
        splits[split] = Records(records)
    return base, splits


def _has_readers() -> bool:
    try:
        from gigjax.data import open_dataset  # noqa: F401  (the evaluation readers)
    except ImportError:
        return False
    return True


def test_finetune_writes_weights_with_meta_and_reports_map(tmp_path, monkeypatch, capsys):
    folder, splits = _voc_folder(str(tmp_path), np.random.default_rng(0))
    if not _has_readers():  # this build has no VOCdevkit reader: hand the same photos over as records
        monkeypatch.setattr(command, "_open_dataset", lambda spec, split, data_dir: splits[split])
    out = str(tmp_path / "voc_lite0.npz")
    rc = cli.main(["finetune", "--dataset", folder, "--steps", "2", "--batch-size", "3", "--out", out,
                   "--checkpoint-every", "1", "--log-every", "1"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    meta = read_meta(out)
    assert meta["arch"] == "efficientnet_lite0" and meta["num_classes"] == 20 and tuple(meta["class_names"]) == VOC
    assert meta["steps"] == 2 and meta["ap_method"] == "area" and meta["val_split"] == "val"
    assert 0 <= meta["val_map"] <= 1
    assert os.path.isfile(str(tmp_path / "voc_lite0.ckpt"))
    assert "validation mAP (area)" in printed and "no positive image" in printed  # 17 classes never appear
    assert "step 2/2" in printed


@pytest.mark.parametrize("argv, message", [
    (["--out", "x.bin"], "--out must name a .npz file"),
    (["--model", "alexnet"], "unknown model 'alexnet'"),
    (["--steps", "0"], "steps must be a positive integer"),
    (["--lr", "-1"], "lr must be a positive number"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    base = ["finetune", "--dataset", str(tmp_path), "--out", str(tmp_path / "o.npz")]
    assert cli.main(base + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gigjax: error: ") and message in err and len(err.strip().splitlines()) == 1


def test_missing_dataset_is_a_clear_error(capsys, tmp_path):
    assert cli.main(["finetune", "--dataset", str(tmp_path / "nope"), "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gigjax: error: ") and len(err.strip().splitlines()) == 1


def test_checkpoint_path_and_last_stage_flags():
    assert command.checkpoint_path("runs/voc.npz") == "runs/voc.ckpt"
    parser = cli.build_parser()
    args = parser.parse_args(["finetune", "--dataset", "d", "--out", "o.npz", "--train-last-stage"])
    config = command._config(args)
    assert config.train_layers == ("blocks_15", "head") and config.lr == 1e-4
    args = parser.parse_args(["finetune", "--dataset", "d", "--out", "o.npz", "--train-layers", "head,blocks_14"])
    assert command._config(args).train_layers == ("head", "blocks_14") and command._config(args).lr == 1e-4
    args = parser.parse_args(["finetune", "--dataset", "d", "--out", "o.npz"])
    assert command._config(args).train_layers == () and command._config(args).lr == 1e-3
    with pytest.raises(SystemExit):
        parser.parse_args(["finetune", "--dataset", "d", "--out", "o.npz", "--epochs", "1", "--steps", "2"])
