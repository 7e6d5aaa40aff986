"""The append-only results store: commit, resume, crash repair, identity checks."""

from __future__ import annotations

import json
import math

import pytest

from gigjax.errors import GigjaxError
from gigjax.evaluation import ResultStore

IDENTITY = {"dataset": "d", "model": "m", "metrics": ["average_drop"]}


def test_append_resume_and_nan_as_null(tmp_path):
    store = ResultStore(str(tmp_path))
    store.open(IDENTITY, {"gradcam": {"layer": "head"}})
    store.append("gradcam", [{"index": 0, "average_drop": 1.5}, {"index": 1, "average_drop": float("nan")}])
    again = ResultStore(str(tmp_path))
    again.open(IDENTITY, {"gradcam": {"layer": "head"}, "layercam": {}})   # a new method may join
    assert again.done("gradcam") == {0, 1} and again.done("layercam") == set()
    results = again.results("gradcam")
    assert results[0]["average_drop"] == 1.5 and results[1]["average_drop"] is None
    assert json.load(open(tmp_path / "run.json"))["methods"] == {"gradcam": {"layer": "head"}, "layercam": {}}


def test_a_line_cut_short_by_a_crash_is_dropped(tmp_path):
    store = ResultStore(str(tmp_path))
    store.open(IDENTITY, {"gradcam": {}})
    store.append("gradcam", [{"index": 0, "average_drop": 2.0}])
    with open(tmp_path / "results.jsonl", "a") as f:
        f.write('{"method":"gradcam","results":[{"index":1,"aver')
    again = ResultStore(str(tmp_path))
    again.open(IDENTITY, {"gradcam": {}})
    assert again.done("gradcam") == {0}
    again.append("gradcam", [{"index": 1, "average_drop": 3.0}])
    assert [r["index"] for r in ResultStore(str(tmp_path)).results("gradcam")] == [0, 1]


def test_damage_in_the_middle_is_an_error(tmp_path):
    store = ResultStore(str(tmp_path))
    store.open(IDENTITY, {"gradcam": {}})
    store.append("gradcam", [{"index": 0}])
    store.append("gradcam", [{"index": 1}])
    text = (tmp_path / "results.jsonl").read_text().splitlines()
    (tmp_path / "results.jsonl").write_text("garbage\n" + text[1] + "\n")
    with pytest.raises(GigjaxError, match="damaged at line 1"):
        ResultStore(str(tmp_path)).open(IDENTITY, {"gradcam": {}})


def test_a_different_run_is_refused(tmp_path):
    ResultStore(str(tmp_path)).open(IDENTITY, {"gradcam": {"fuse": "mean"}})
    with pytest.raises(GigjaxError, match="different metrics"):
        ResultStore(str(tmp_path)).open({**IDENTITY, "metrics": ["deletion"]}, {"gradcam": {"fuse": "mean"}})
    with pytest.raises(GigjaxError, match="gradcam results with options"):
        ResultStore(str(tmp_path)).open(IDENTITY, {"gradcam": {"fuse": "max"}})


def test_failed_images_are_retried_and_success_wins(tmp_path):
    store = ResultStore(str(tmp_path))
    store.open(IDENTITY, {"gradcam": {}})
    store.append("gradcam", [{"index": 0, "error": "unreadable"}, {"index": 1, "average_drop": 1.0}])
    assert store.done("gradcam") == {1}
    store.append("gradcam", [{"index": 0, "average_drop": 4.0}])
    results = store.results("gradcam")
    assert results[0] == {"index": 0, "average_drop": 4.0}
    assert not math.isnan(results[1]["average_drop"])
