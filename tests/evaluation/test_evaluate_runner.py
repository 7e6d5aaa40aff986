"""The evaluation runner: results equal the metric functions applied directly, resume after a kill
or a crash gives the uninterrupted summary, clear errors lose no finished results."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from gigjax import metrics as M
from gigjax.data import VOC_CLASSES, open_dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation import Evaluation, evaluate, stretch
from gigjax.explain import explainer

from evaluation.compare import assert_same, results_of as _results
from evaluation.toy import SETTINGS

HERE = os.path.dirname(os.path.abspath(__file__))


def test_reference_run_layout_and_counts(reference_run):
    out, summary = reference_run
    result = summary["methods"]["gradcam"]
    assert summary["images"] == 3 and result["images"] == 3 and result["failed"] == 0
    assert set(M.METRICS) <= set(result)
    pg = result["pointing_game"]
    # labelme VOC: 2011_000003 person; 2011_000006 person (chair, sofa in the COCO file only); bus + car
    assert pg["n"] + pg["nan"] == 4 and pg["unmapped"] == {} and set(pg["classes"]) <= {"person", "bus", "car"}
    assert len(result["deletion"]["curve"]) == M.num_steps(32 * 32, SETTINGS["pixels_per_step"])
    for name in ("summary.json", "summary.md", "summary.csv", "figures/curves.png", "figures/examples.png"):
        assert os.path.isfile(os.path.join(out, name)), name
    md = open(os.path.join(out, "summary.md")).read()
    assert "| Method | Pointing Game % ↑ | Energy PG % ↑ | Average Drop % ↓" in md and "| gradcam |" in md
    rows = open(os.path.join(out, "summary.csv")).read().splitlines()
    assert rows[0] == "method," + ",".join(M.METRICS) and rows[1].startswith("gradcam,")


def test_stored_results_equal_the_metric_functions_applied_directly(reference_run, tiny, labelme_voc):
    out, _ = reference_run
    stored = _results(out)[2]                                   # the bus photo
    rec = labelme_voc[2]
    photo = stretch(rec.image, (32, 32))
    x = tiny.normalize(photo[None])
    explain = explainer("gradcam")
    probs = jax.nn.softmax(tiny.logits(x))
    pred = int(np.argmax(probs))
    maps = explain(tiny, x, np.asarray([pred]))
    y, o = float(probs[0, pred]), float(M.masked_confidence(tiny, x, maps, np.asarray([pred]))[0])
    assert stored["pred"] == pred and stored["pred_name"] == VOC_CLASSES[pred]
    expected_drop = float(M.average_drop(np.float32(y), np.float32(o)))
    assert stored["average_drop"] == pytest.approx(expected_drop, rel=1e-4, abs=1e-4)
    curve = M.causal_curve(tiny, x, maps, np.asarray([pred]), mode="deletion",
                           pixels_per_step=SETTINGS["pixels_per_step"])
    np.testing.assert_allclose(stored["deletion_curve"], np.asarray(curve[0]), atol=1e-5)
    # pointing game of the bus class in the original 500×375 grid
    bus = VOC_CLASSES.index("bus")
    bus_map = explain(tiny, x, np.asarray([bus]))
    big = M.to_image_size(bus_map, np.asarray([[375, 500]]), (375, 500))
    boxes = rec.boxes[rec.box_labels == bus][None]
    hit, point = M.pointing_game(big, np.asarray([[375, 500]]), boxes, np.ones(boxes.shape[:2], bool))
    entry = next(e for e in stored["pointing"] if e["class"] == "bus")
    assert entry["hit"] == float(hit[0]) and entry["point"] == [int(v) for v in point[0]]


def _copy_voc(fixtures_dir, tmp_path):
    target = tmp_path / "voc"
    shutil.copytree(os.path.join(fixtures_dir, "labelme", "voc"), target)
    return str(target)


def test_resume_after_sigkill_equals_uninterrupted(reference_run, fixtures_dir, tmp_path):
    voc, out = _copy_voc(fixtures_dir, tmp_path), str(tmp_path / "killed")
    results = os.path.join(out, "results.jsonl")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "run_tiny.py"), voc, out, "--batch-size", "1",
                             "--delay", "1.0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.isfile(results) and open(results).read().count("\n") >= 1:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    lines = open(results).read().count("\n")
    assert 1 <= lines < 3, "the run must be killed mid-way"
    summary = evaluate(_tiny(), open_dataset(voc), ["gradcam"], out, batch_size=2, settings=SETTINGS, progress=False)
    assert open(results).read().count("\n") == lines + 1          # only the missing images were computed
    assert_same(summary["methods"], reference_run[1]["methods"])
    assert_same(_results(out), _results(reference_run[0]), "results")


def _tiny():
    from evaluation.toy import tiny_model
    return tiny_model()


def test_resume_after_a_torn_line_equals_uninterrupted(reference_run, tiny, labelme_voc, tmp_path):
    out = str(tmp_path / "torn")
    evaluate(tiny, labelme_voc, ["gradcam"], out, batch_size=2, settings=SETTINGS, progress=False, limit=2)
    with open(os.path.join(out, "results.jsonl"), "a") as f:
        f.write('{"method":"gradcam","results":[{"index":2,"image_id":"2011_0')   # a crash mid-write
    summary = evaluate(tiny, labelme_voc, ["gradcam"], out, batch_size=2, settings=SETTINGS, progress=False)
    assert_same(summary["methods"], reference_run[1]["methods"])


def test_missing_image_stops_with_a_clear_error_and_keeps_finished_results(reference_run, tiny, fixtures_dir,
                                                                          tmp_path):
    voc = _copy_voc(fixtures_dir, tmp_path)
    bus = os.path.join(voc, "JPEGImages", "2011_000025.jpg")
    shutil.move(bus, bus + ".away")
    out = str(tmp_path / "out")
    with pytest.raises(GigjaxError, match="2011_000025.jpg: no such image file"):
        evaluate(tiny, open_dataset(voc), ["gradcam"], out, batch_size=1, settings=SETTINGS, progress=False)
    assert [r["index"] for r in _results(out)] == [0, 1]
    skipped = evaluate(tiny, open_dataset(voc), ["gradcam"], out, batch_size=1, settings=SETTINGS,
                       progress=False, on_error="skip")
    assert skipped["methods"]["gradcam"]["failed"] == 1
    shutil.move(bus + ".away", bus)
    summary = evaluate(tiny, open_dataset(voc), ["gradcam"], out, batch_size=1, settings=SETTINGS, progress=False)
    assert_same(summary["methods"], reference_run[1]["methods"])


def test_bad_arguments_fail_before_any_work(tiny, labelme_voc, tmp_path):
    out = tmp_path / "never"
    with pytest.raises(GigjaxError, match="unknown metric.*pointing"):
        Evaluation(tiny, labelme_voc, ["gradcam"], str(out), metrics=["pointing"])
    with pytest.raises(GigjaxError, match="unknown method 'gradcan'"):
        Evaluation(tiny, labelme_voc, ["gradcan"], str(out))
    with pytest.raises(GigjaxError, match="masking space"):
        Evaluation(tiny, labelme_voc, ["gradcam"], str(out), settings={"masking_space": "rgb"})
    with pytest.raises(GigjaxError, match="has no option"):
        Evaluation(tiny, labelme_voc, ["gradcam"], str(out), method_options={"gradcam": {"steps": 3}})
    with pytest.raises(GigjaxError, match="fixed by the evaluation protocol"):
        Evaluation(tiny, labelme_voc, ["gradcam"], str(out), postprocess={"normalize": False})
    assert not out.exists()


def test_a_different_run_in_the_same_folder_is_refused(reference_run, tiny, labelme_voc):
    with pytest.raises(GigjaxError, match="different"):
        evaluate(tiny, labelme_voc, ["gradcam"], reference_run[0], metrics=["pointing_game"], progress=False)


def test_imagenet_without_box_files_cannot_play_the_pointing_game(tiny, tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    examples = [{"image": np.zeros((8, 8, 3), np.uint8), "label": 1, "file_name": "ILSVRC2012_val_00000001.JPEG"}]
    class Source(list):
        dataset_info = None

    def as_data_source(builder, split, **kwargs):
        source = Source(examples)
        source.dataset_info = builder.info
        return source

    with tfds.testing.mock_data(as_data_source_fn=as_data_source):
        dataset = open_dataset("imagenet2012")
    with pytest.raises(GigjaxError, match="no boxes in TFDS: give the ILSVRC validation box XML folder"):
        Evaluation(tiny, dataset, ["gradcam"], str(tmp_path / "x"), metrics=["pointing_game"])
