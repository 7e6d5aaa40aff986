"""The streaming aggregator: hand-computed means, NaN exclusion and counting, TorchRay's class mean."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.metrics import METRICS, Aggregator


def _entry(cls, hit, energy=0.5, status="ok"):
    return {"class": cls, "status": status, "hit": hit, "energy": energy}


def test_pointing_game_is_the_mean_over_classes_and_per_image_is_labelled():
    agg = Aggregator(["pointing_game", "energy_pointing_game"])
    agg.add({"pointing": [_entry("bus", 1.0, 0.8), _entry("car", 0.0, 0.2)]})
    agg.add({"pointing": [_entry("bus", 1.0, 0.6)]})
    agg.add({"pointing": [_entry("bus", 0.0, 0.4), _entry("person", None, status="unmapped")]})
    agg.add({"pointing": [_entry("car", None, None), _entry("dog", None, status="difficult")]})
    s = agg.summary()
    pg = s["pointing_game"]
    # bus 2/3, car 0/1 → class mean (66.67 + 0) / 2; per image: (0.5 + 1 + 0) / 3
    assert pg["value"] == pytest.approx(100 * (2 / 3 + 0) / 2)
    assert pg["per_image"] == pytest.approx(100 * 1.5 / 3)
    assert pg["n"] == 4 and pg["nan"] == 1 and pg["skipped_difficult"] == 1
    assert pg["unmapped"] == {"person": 1}
    assert pg["classes"]["bus"] == {"hits": 2, "misses": 1, "accuracy": pytest.approx(200 / 3)}
    ebpg = s["energy_pointing_game"]
    assert ebpg["value"] == pytest.approx(100 * (0.8 + 0.2 + 0.6 + 0.4) / 4)
    assert ebpg["n"] == 4 and ebpg["nan"] == 1


def test_scalar_means_exclude_and_count_nan_and_failures():
    agg = Aggregator(["average_drop", "increase_in_confidence", "deletion"])
    agg.add({"average_drop": 10.0, "increase_in_confidence": 100.0, "deletion": 0.2, "deletion_curve": [1.0, 0.5, 0.0]})
    agg.add({"average_drop": None, "increase_in_confidence": 0.0, "deletion": 0.4, "deletion_curve": [0.8, 0.3, 0.2]})
    agg.add({"average_drop": float("nan"), "increase_in_confidence": 0.0, "deletion": None})
    agg.add({"error": "unreadable image"})
    s = agg.summary()
    assert s["images"] == 4 and s["failed"] == 1
    assert s["average_drop"] == {"value": 10.0, "n": 1, "nan": 2}
    assert s["increase_in_confidence"]["value"] == pytest.approx(100 / 3)
    assert s["deletion"]["value"] == pytest.approx(0.3) and s["deletion"]["nan"] == 1
    np.testing.assert_allclose(s["deletion"]["curve"], [0.9, 0.4, 0.1])


def test_empty_aggregator_gives_nan_not_zero():
    s = Aggregator(METRICS).summary()
    assert math.isnan(s["pointing_game"]["value"]) and math.isnan(s["average_drop"]["value"])


def test_unknown_metric():
    with pytest.raises(GigjaxError, match="unknown metric"):
        Aggregator(["pointing"])
