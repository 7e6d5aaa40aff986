"""Batches sharded over 8 forced CPU devices give the single-device results.

``XLA_FLAGS=--xla_force_host_platform_device_count=8`` must be set before jax is imported, so the
sharded run happens in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from gigjax.evaluation import BatchSharding

from evaluation.compare import assert_same, results_of as _results

HERE = os.path.dirname(os.path.abspath(__file__))


def test_sharded_run_equals_single_device(reference_run, fixtures_dir, tmp_path):
    out = str(tmp_path / "sharded")
    env = {**os.environ, "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") +
                                       " --xla_force_host_platform_device_count=8").strip(),
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, os.path.join(HERE, "run_tiny.py"),
                           os.path.join(fixtures_dir, "labelme", "voc"), out, "--batch-size", "3"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "devices 8" in proc.stdout
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["devices"] == 8
    reference = json.load(open(os.path.join(reference_run[0], "summary.json")))
    assert_same(summary["methods"], reference["methods"])
    assert_same(_results(out), _results(reference_run[0]), "results")


def test_padding_to_the_device_count():
    sharding = BatchSharding()
    assert sharding.round_up(1) == sharding.count and sharding.round_up(sharding.count + 1) == 2 * sharding.count
    placed = sharding.put({"x": np.arange(3)[:, None]}, sharding.round_up(3))
    values = np.asarray(placed["x"])[:, 0]
    assert values[:3].tolist() == [0, 1, 2] and (values[3:] == 0).all()
