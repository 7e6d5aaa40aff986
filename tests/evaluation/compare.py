"""Comparing evaluation outputs in tests."""

from __future__ import annotations

import json
import math
import os

import pytest


def assert_same(a, b, path="summary"):
    """Recursive equality with a float tolerance (NaN equals NaN)."""
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            assert a is None and b is None, f"{path}: {a} vs {b}"
        elif math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), f"{path}: {a} vs {b}"
        else:
            assert a == pytest.approx(b, rel=1e-5, abs=1e-6), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a} vs {b}"


def results_of(out):
    """Every stored per-image result of a run folder, by dataset index (last line wins)."""
    by_index = {}
    with open(os.path.join(out, "results.jsonl")) as f:
        for line in f:
            for r in json.loads(line)["results"]:
                by_index[r["index"]] = r
    return [by_index[i] for i in sorted(by_index)]
