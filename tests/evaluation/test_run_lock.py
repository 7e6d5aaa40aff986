"""gigjax/evaluation/lock.py: one evaluation per --out folder (issue #12.10): a second process is
refused naming the holder; the lock of a process killed with SIGKILL is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from gigjax.errors import GigjaxError
from gigjax.evaluation import evaluate
from gigjax.evaluation.lock import LOCK, RunLock

HOLD = textwrap.dedent("""
    import sys, time
    from gigjax.evaluation.lock import RunLock
    RunLock(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock of tmp_path/run."""
    out = str(tmp_path / "run")
    proc = subprocess.Popen([sys.executable, "-c", HOLD, out], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield out, proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_process_is_refused_naming_the_holder(holder, tiny, labelme_voc):
    out, proc = holder
    message = rf"in use by another evaluation \(pid {proc.pid} on host {socket.gethostname()}"
    with pytest.raises(GigjaxError, match=message):
        RunLock(out).acquire()
    with pytest.raises(GigjaxError, match=message):
        evaluate(tiny, labelme_voc, ["gradcam"], out, metrics=["average_drop"], progress=False)
    assert not os.path.exists(os.path.join(out, "run.json"))


def test_the_lock_of_a_killed_process_is_taken_over(holder):
    out, proc = holder
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.isfile(os.path.join(out, LOCK))          # left behind
    with RunLock(out):
        assert json.load(open(os.path.join(out, LOCK)))["pid"] == os.getpid()
    assert not os.path.exists(os.path.join(out, LOCK))      # released


def test_a_lock_from_another_host_is_refused(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere.example"}))
    with pytest.raises(GigjaxError, match="pid 1 on host elsewhere.example"):
        RunLock(str(out)).acquire()


def test_a_finished_run_leaves_no_lock(reference_run):
    assert not os.path.exists(os.path.join(reference_run[0], LOCK))
