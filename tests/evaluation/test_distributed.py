"""Multi-process evaluation on JAX's distributed runtime (two CPU processes on 127.0.0.1, two forced
host devices each, gloo collectives): the merged results equal a single-process run's, and a
process killed mid-run resumes with nothing lost or duplicated.

The processes are subprocesses running this file (``python test_distributed.py worker …``):
``XLA_FLAGS`` must be set, and ``jax.distributed.initialize`` called, before JAX starts. They get the
tiny model's weights from the test (no initialisation to compile), share a compilation cache, and
compute the metrics of both families that need no curves (so the test stays well under 2 minutes).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import NamedTuple

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROCESSES, DEVICES_EACH = 2, 2
METRICS = ("pointing_game", "energy_pointing_game", "average_drop", "increase_in_confidence")


class Single(NamedTuple):
    out: str              # the single-process run's folder
    summary: dict         # and its summary
    weights: str          # the tiny model's weights (.npz of its leaves) for the workers
    compile_cache: str    # the workers' shared compilation cache


@pytest.fixture(scope="module")
def single(tmp_path_factory, tiny, labelme_voc):
    """A single-process run (one device) of the same evaluation, and the tiny model's weights file."""
    import jax
    import numpy as np

    from gigjax.evaluation import evaluate
    from evaluation.toy import SETTINGS

    folder = tmp_path_factory.mktemp("distributed")
    weights = str(folder / "tiny.npz")
    np.savez(weights, *[np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tiny)])
    out = str(folder / "single")
    summary = evaluate(tiny, labelme_voc, ["gradcam"], out, metrics=METRICS, batch_size=2, settings=SETTINGS,
                       progress=False)
    return Single(out, summary, weights, str(folder / "compile-cache"))


class _Repeated:
    """The dataset ``times`` over (index i is image i mod n), optionally slow to read."""

    def __init__(self, dataset, times: int, delay: float):
        self.dataset, self.times, self.delay = dataset, times, delay

    def __getattr__(self, name):
        return getattr(self.dataset, name)

    def __len__(self):
        return len(self.dataset) * self.times

    def __getitem__(self, i):
        time.sleep(self.delay)
        return self.dataset[i % len(self.dataset)]

    def image_id(self, i):
        return self.dataset.image_id(i % len(self.dataset))


def _worker(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    for name in ("port", "process"):
        parser.add_argument(name, type=int)
    for name in ("weights", "voc", "out"):
        parser.add_argument(name)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=2)
    args = parser.parse_args(argv)
    sys.path.insert(0, HERE)
    from toy import SETTINGS, tiny_model

    import jax
    import numpy as np

    from gigjax import distributed
    from gigjax.data import open_dataset
    from gigjax.evaluation import evaluate

    distributed.initialize(f"127.0.0.1:{args.port}", PROCESSES, args.process, heartbeat_timeout_seconds=60)
    with np.load(args.weights) as f:
        leaves = [f[f"arr_{i}"] for i in range(len(f.files))]
    model = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(jax.eval_shape(tiny_model)), leaves)
    dataset = _Repeated(open_dataset(args.voc), args.repeat, args.delay)
    summary = evaluate(model, dataset, ["gradcam"], args.out, metrics=METRICS, batch_size=args.batch_size,
                       settings=SETTINGS, progress=False)
    print(f"summary of {summary['images']} images on {summary['devices']} devices in {summary['files']['json']}",
          flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(single, voc: str, out: str, logs: str, *, repeat: int = 1, delays=(0.0, 0.0), batch_size: int = 2) -> list:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": single.compile_cache,
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
           "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={DEVICES_EACH}"}
    port, procs = _free_port(), []
    for i in range(PROCESSES):
        command = [sys.executable, os.path.abspath(__file__), "worker", str(port), str(i), single.weights, voc, out,
                   "--repeat", str(repeat), "--delay", str(delays[i]), "--batch-size", str(batch_size)]
        with open(f"{logs}.p{i}.log", "w") as log:
            procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def _finish(procs: list, logs: str, timeout: float = 300) -> list[str]:
    for proc in procs:
        proc.wait(timeout=timeout)
    outputs = [open(f"{logs}.p{i}.log").read() for i in range(PROCESSES)]
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-3000:]
    return outputs


def _shares(out: str) -> dict[int, list[dict]]:
    """Every successful stored result, by dataset index, across all the processes' files."""
    by_index: dict[int, list[dict]] = {}
    for path in sorted(glob.glob(os.path.join(out, "results.p*.jsonl"))):
        with open(path) as f:
            for line in f:
                for r in json.loads(line)["results"]:
                    if not r.get("error"):
                        by_index.setdefault(r["index"], []).append(r)
    return by_index


@pytest.mark.slow
def test_two_processes_give_the_single_process_results(single, fixtures_dir, tmp_path, tiny, labelme_voc):
    from gigjax.errors import GigjaxError
    from gigjax.evaluation import evaluate
    from evaluation.compare import assert_same, results_of
    from evaluation.toy import SETTINGS

    out, logs = str(tmp_path / "out"), str(tmp_path / "log")
    outputs = _finish(_launch(single, os.path.join(fixtures_dir, "labelme", "voc"), out, logs), logs)
    for output in outputs:  # every process returns the summary
        assert f"summary of 3 images on 4 devices in {os.path.join(out, 'summary.json')}" in output
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["devices"] == PROCESSES * DEVICES_EACH
    reference_out, reference = single.out, single.summary
    assert_same(summary["methods"], reference["methods"])
    shares = _shares(out)
    assert sorted(shares) == [0, 1, 2] and all(len(v) == 1 for v in shares.values())
    assert_same([shares[i][0] for i in range(3)], results_of(reference_out), "results")
    # a global batch of 4 rows: process 0 holds images 0 and 1, process 1 image 2 (and padding)
    assert [json.loads(l)["results"][0]["index"] for l in open(os.path.join(out, "results.p1.jsonl"))] == [2]
    assert json.load(open(os.path.join(out, "run.json")))["identity"]["processes"] == PROCESSES
    assert not glob.glob(os.path.join(out, "*.lock")) and not os.path.exists(os.path.join(out, "results.jsonl"))
    with pytest.raises(GigjaxError, match="processes was 2"):   # another process count: refused
        evaluate(tiny, labelme_voc, ["gradcam"], out, metrics=METRICS, batch_size=2, settings=SETTINGS,
                 progress=False)


@pytest.mark.slow
def test_a_killed_process_resumes_with_nothing_lost_or_duplicated(single, fixtures_dir, tmp_path):
    from evaluation.compare import assert_same, results_of

    voc, out, logs = os.path.join(fixtures_dir, "labelme", "voc"), str(tmp_path / "out"), str(tmp_path / "log")
    share = os.path.join(out, "results.p1.jsonl")
    # 12 images, global batches of 4: each process reads 2 images of each of the 3 batches
    procs = _launch(single, voc, out, logs + "-killed", repeat=4, delays=(0.0, 0.5), batch_size=4)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and procs[1].poll() is None:
            if os.path.isfile(share) and open(share).read().count("\n") >= 1:
                break
            time.sleep(0.02)
        procs[1].send_signal(signal.SIGKILL)
        procs[1].wait()
        procs[0].wait(timeout=120)   # its peer gone, process 0 stops by itself
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert procs[0].returncode != 0
    stopped = open(logs + "-killed.p0.log").read()  # at its next collective, or by the runtime's heartbeat check
    assert "another process of the distributed job stopped" in stopped or "detected fatal errors" in stopped
    lines = open(share).read().count("\n")
    assert 1 <= lines < 3, "process 1 must be killed mid-way"
    outputs = _finish(_launch(single, voc, out, logs, repeat=4, batch_size=4), logs)
    assert all("summary of 12 images on 4 devices" in output for output in outputs)
    shares = _shares(out)
    assert sorted(shares) == list(range(12))
    assert all(len(shares[i]) == 1 for i in range(12)), {i: len(v) for i, v in shares.items() if len(v) != 1}
    reference = results_of(single.out)
    for i in range(12):
        assert_same({**shares[i][0], "index": i % 3}, reference[i % 3], f"results[{i}]")
    assert json.load(open(os.path.join(out, "summary.json")))["methods"]["gradcam"]["images"] == 12


def test_initialize_checks_its_arguments_before_starting_anything():
    from gigjax import distributed
    from gigjax.errors import GigjaxError

    with pytest.raises(GigjaxError, match="missing --coordinator"):
        distributed.initialize(None, 2, 0)
    with pytest.raises(GigjaxError, match="HOST:PORT"):
        distributed.initialize("node0", 2, 0)
    with pytest.raises(GigjaxError, match=r"--process-id must be in 0\.\.1"):
        distributed.initialize("node0:1234", 2, 2)
    with pytest.raises(GigjaxError, match="--num-processes must be a positive"):
        distributed.initialize("node0:1234", 0, 0)
    with pytest.raises(GigjaxError, match="drop --coordinator"):
        distributed.initialize("node0:1234", None, None, auto=True)


def test_the_scale_flags_join_the_job(monkeypatch):
    from gigjax import cli, distributed
    from gigjax.commands import evaluate as command

    calls = []
    monkeypatch.setattr(distributed, "initialize", lambda *a, **k: calls.append((a, k)))
    parse = cli.build_parser().parse_args
    command.join_job(parse(["evaluate", "--dataset", "d"]))
    assert calls == []                                       # no flag: a single process, as always
    command.join_job(parse(["evaluate", "--dataset", "d", "--coordinator", "node0:1234", "--num-processes", "2",
                            "--process-id", "1"]))
    command.join_job(parse(["evaluate", "--dataset", "d", "--distributed", "auto"]))
    assert calls == [(("node0:1234", 2, 1), {"auto": False}), ((None, None, None), {"auto": True})]


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    _worker(sys.argv[2:])
