"""The anchors' metric rows of gigjax/metrics/table.py (ROAD, MPRT, Sparseness, Complexity, Infidelity,
Max-Sensitivity): each runs through a tiny evaluation (stored per image, aggregated, reported), a stored value
equals the metric function applied directly with the image's own key, bad settings are refused, and the names
work through ``gigjax evaluate --metrics`` on the real Lite0 and photo."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax import metrics as M
from gigjax.cli import main
from gigjax.data import open_dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation import Settings, evaluate, stretch
from gigjax.explain import explainer

ANCHORS = ("road_morf", "road_lerf", "randomization", "sparseness", "complexity", "infidelity", "sensitivity_max")


def test_every_anchor_row_runs_through_a_tiny_evaluation(fixtures_dir, tmp_path):
    from evaluation.toy import tiny_model

    tiny, voc = tiny_model(), open_dataset(os.path.join(fixtures_dir, "labelme", "voc"))
    out = str(tmp_path / "run")
    settings = {"road_percentiles": [30, 70], "perturbations": 2, "seed": 5}
    summary = evaluate(tiny, voc, ["gradcam"], out, metrics=list(ANCHORS), batch_size=2, settings=settings,
                       progress=False)
    identity = json.load(open(os.path.join(out, "run.json")))["identity"]
    assert identity["road_percentiles"] == [30.0, 70.0] and identity["perturbations"] == 2
    results = sorted((r for line in open(os.path.join(out, "results.jsonl")) for r in json.loads(line)["results"]),
                     key=lambda r: r["index"])
    assert len(results) == 3
    for r in results:
        assert len(r["road_morf_curve"]) == 2 and len(r["road_lerf_curve"]) == 2
        assert len(r["randomization_curve"]) == 3                      # conv1, features, fc
        assert r["road_morf"] == pytest.approx(np.mean(r["road_morf_curve"]), rel=1e-5)
        for name in ANCHORS:
            assert r[name] is None or np.isfinite(r[name]), name
    first = results[0]
    x = tiny.normalize(stretch(voc[first["index"]].image, (32, 32))[None])
    classes = jnp.asarray([first["pred"]])
    maps = explainer("gradcam")(tiny, x, classes)
    key = jax.random.fold_in(jax.random.PRNGKey(5), first["index"])[None]
    assert first["sparseness"] == pytest.approx(float(M.sparseness(maps)[0]), rel=1e-4)
    road = M.road_curve(tiny, x, maps, classes, key, order="morf", percentiles=(30, 70))
    np.testing.assert_allclose(first["road_morf_curve"], np.asarray(road[0]), rtol=1e-3, atol=1e-5)
    figures = summary["methods"]["gradcam"]
    for name in ANCHORS:
        assert figures[name]["n"] + figures[name]["nan"] == 3, name
    assert len(figures["randomization"]["curve"]) in (0, 3)
    md = open(os.path.join(out, "summary.md")).read()
    assert "ROAD MoRF ↓" in md and "Max-Sensitivity ↓" in md and "Sparseness ↑" in md


@pytest.mark.parametrize("settings, message", [
    ({"road_percentiles": [0, 50]}, "road percentiles must be a non-empty list of numbers in \\(0, 100\\)"),
    ({"road_percentiles": "50"}, "road percentiles must be a list"),
    ({"road_noise": -1}, "road noise must be a finite number ≥ 0"),
    ({"perturbations": 0}, "perturbations must be a positive integer"),
    ({"sensitivity_radius": float("nan")}, "sensitivity radius must be a finite number > 0"),
])
def test_bad_anchor_settings_are_refused(settings, message):
    with pytest.raises(GigjaxError, match=message):
        Settings(metrics=("road_morf",), **settings)


def test_evaluate_cli_takes_the_anchor_metric_names(fixtures_dir, tmp_path, capsys):
    out = str(tmp_path / "quokka")
    assert main(["evaluate", "--dataset", os.path.join(fixtures_dir, "quokka", "annotations.json"),
                 "--metrics", "sparseness,complexity,road_lerf", "--road-percentiles", "50", "--road-noise", "0",
                 "--out", out, "--no-progress"]) == 0
    result = json.load(open(os.path.join(out, "summary.json")))["methods"]["gradcam"]
    assert 0.0 < result["sparseness"]["value"] < 1.0 and result["complexity"]["value"] > 0.0
    assert 0.0 <= result["road_lerf"]["value"] <= 1.0 and len(result["road_lerf"]["curve"]) == 1
    assert "ROAD LeRF" in capsys.readouterr().out
