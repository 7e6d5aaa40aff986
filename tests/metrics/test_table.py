"""gigjax/metrics/table.py: every row is well formed and read by every consumer; a new metric is one
function and one row (a throwaway row goes through a tiny evaluation: stored, aggregated, reported)."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax import metrics as M
from gigjax.data import open_dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation import Settings, evaluate, stretch
from gigjax.explain import explainer


def test_every_row_is_complete_and_the_defaults_are_the_six_paper_metrics():
    assert M.METRICS == ("pointing_game", "energy_pointing_game", "average_drop", "increase_in_confidence",
                         "deletion", "insertion")
    for name, row in M.TABLE.items():
        assert row.name == name and row.title and row.description and row.key
        assert row.family in ("localization", "confidence") and row.better in ("higher", "lower")
        assert issubclass(row.aggregate, M.Accumulator)
        for setting in row.settings:
            assert hasattr(Settings(metrics=(name,)), setting)
    assert M.of_family(M.METRICS, "localization") == ("pointing_game", "energy_pointing_game")


def test_bad_rows_and_names_are_refused():
    with pytest.raises(GigjaxError, match="unknown metric.*pointing; known: pointing_game"):
        M.check_metrics(["pointing"])
    with pytest.raises(GigjaxError, match="family must be one of"):
        M.Metric("x", "causal", lambda b: {}, M.Mean, "X", "higher", "x")
    with pytest.raises(GigjaxError, match="aggregate must be an Accumulator"):
        M.Metric("x", "confidence", lambda b: {}, dict, "X", "higher", "x")
    with pytest.raises(GigjaxError, match="already in the table"):
        M.register_metric(M.TABLE["deletion"])


def _map_mean(batch: M.ImageBatch) -> dict:
    """A throwaway map-only metric: the mean of each map, in percent."""
    return {"map_mean": 100.0 * jnp.mean(batch.maps, axis=(1, 2))}


@pytest.fixture
def map_mean_row():
    row = M.register_metric(M.Metric("map_mean", "confidence", _map_mean, M.Mean, "Map mean %", "lower",
                                     "mean of the map", default=False))
    yield row
    del M.TABLE["map_mean"]


def test_a_registered_row_runs_through_a_tiny_evaluation(map_mean_row, fixtures_dir, tmp_path):
    from evaluation.toy import tiny_model

    tiny, labelme_voc = tiny_model(), open_dataset(os.path.join(fixtures_dir, "labelme", "voc"))
    out = str(tmp_path / "run")
    summary = evaluate(tiny, labelme_voc, ["gradcam"], out, metrics=["map_mean", "average_drop"], batch_size=2,
                       progress=False)
    assert "map_mean" not in M.default_metrics()
    # stored per image: the function applied to the explained map of the image's top-1 class
    results = [r for line in open(os.path.join(out, "results.jsonl")) for r in json.loads(line)["results"]]
    values = []
    for r in sorted(results, key=lambda r: r["index"]):
        x = tiny.normalize(stretch(labelme_voc[r["index"]].image, (32, 32))[None])
        maps = explainer("gradcam")(tiny, x, np.asarray([r["pred"]]))
        assert r["map_mean"] == pytest.approx(float(100.0 * jnp.mean(maps)), rel=1e-4, abs=1e-4)
        values.append(r["map_mean"])
    figure = summary["methods"]["gradcam"]["map_mean"]
    assert figure["n"] == 3 and figure["value"] == pytest.approx(np.mean(values), rel=1e-6)
    md = open(os.path.join(out, "summary.md")).read()
    assert "| Method | Map mean % ↓ | Average Drop % ↓ |" in md
    assert open(os.path.join(out, "summary.csv")).read().splitlines()[0] == "method,map_mean,average_drop"


def _draw(batch: M.ImageBatch) -> dict:
    """A throwaway random metric: one uniform draw per image from its own key."""
    return {"draw": jax.vmap(lambda k: jax.random.uniform(k))(batch.keys)}


def test_random_metrics_draw_per_image_keys_whatever_the_batch(fixtures_dir, tmp_path):
    from evaluation.toy import tiny_model

    row = M.register_metric(M.Metric("draw", "confidence", _draw, M.Mean, "Draw", "higher", "a uniform draw",
                                     settings=("seed",), default=False))
    try:
        tiny, voc = tiny_model(), open_dataset(os.path.join(fixtures_dir, "labelme", "voc"))
        draws = []
        for batch_size, seed in ((1, 0), (3, 0), (3, 1)):
            out = str(tmp_path / f"b{batch_size}s{seed}")
            evaluate(tiny, voc, ["gradcam"], out, metrics=[row.name], batch_size=batch_size,
                     settings={"seed": seed}, progress=False)
            assert json.load(open(os.path.join(out, "run.json")))["identity"]["seed"] == seed
            results = [r for line in open(os.path.join(out, "results.jsonl")) for r in json.loads(line)["results"]]
            draws.append([r["draw"] for r in sorted(results, key=lambda r: r["index"])])
        assert draws[0] == draws[1] and draws[1] != draws[2] and len(set(draws[0])) == 3
    finally:
        del M.TABLE[row.name]


def _map_power(batch: M.ImageBatch) -> dict:
    """A throwaway metric with a knob of its own: the mean of map ** power."""
    return {"map_power": jnp.mean(batch.maps ** batch.settings.power, axis=(1, 2))}


def test_a_row_declares_its_own_setting_once(capsys):
    from gigjax.cli import main
    from gigjax.options import Option
    from gigjax.validation import check_positive_number

    power = Option(2.0, "map_power: exponent of the map", check=check_positive_number)
    row = M.register_metric(M.Metric("map_power", "confidence", _map_power, M.Mean, "Map power", "lower",
                                     "mean of map ** power", settings={"power": power}, default=False))
    try:
        assert M.declared_settings()["power"] is power
        settings = Settings(metrics=("map_power",), power=3)
        assert settings.power == 3.0 and settings.identity() == {"metrics": ["map_power"], "power": 3.0}
        assert Settings(metrics=("map_power",)).power == 2.0                       # the declared default
        maps = jnp.full((2, 4, 4), 0.5)
        out = row.compute(M.ImageBatch(None, None, maps, None, None, None, None, settings))
        np.testing.assert_allclose(out["map_power"], [0.125, 0.125])
        with pytest.raises(GigjaxError, match="power must be a positive number, got 0"):
            Settings(metrics=("map_power",), power=0)
        with pytest.raises(SystemExit):
            main(["evaluate", "--help"])
        assert "--power POWER" in capsys.readouterr().out
    finally:
        del M.TABLE[row.name]
    with pytest.raises(GigjaxError, match="unknown setting.*power"):
        Settings(metrics=("deletion",), power=3)


def test_a_setting_is_declared_by_one_row_only_and_memory_knobs_stay_out_of_the_identity():
    from gigjax.options import Option

    with pytest.raises(GigjaxError, match="setting\\(s\\) seed are already declared by other rows"):
        M.register_metric(M.Metric("x", "confidence", _map_mean, M.Mean, "X", "higher", "x",
                                   settings={"seed": Option(1, "another seed")}))
    with pytest.raises(GigjaxError, match="no row declares setting\\(s\\) nonesuch"):
        M.Metric("x", "confidence", _map_mean, M.Mean, "X", "higher", "x", settings=("nonesuch",))
    with pytest.raises(GigjaxError, match="settings must map each setting's name to its gigjax.options.Option"):
        M.Metric("x", "confidence", _map_mean, M.Mean, "X", "higher", "x", settings={"seed": 3})
    assert "x" not in M.TABLE
    small, large = Settings(metrics=("deletion",), curve_chunk=2), Settings(metrics=("deletion",), curve_chunk=16)
    assert small != large and small.identity() == large.identity() == {"metrics": ["deletion"],
                                                                       "pixels_per_step": 224}
    assert hash(small) == hash(Settings(metrics=("deletion",), curve_chunk=2))
