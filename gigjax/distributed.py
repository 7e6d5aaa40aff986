"""Several processes, one job: JAX's own distributed runtime (:mod:`jax.distributed`).

:func:`initialize` joins the processes of a multi-host job (a TPU pod slice, several GPU nodes, or
several processes on one machine) before any JAX computation; afterwards ``jax.devices()`` lists
every device of every process and ``jax.local_devices()`` those of this one. The helpers below are
how the processes of such a job agree on host-side decisions — each is a collective that every
process calls at the same point of the program (``jax.experimental.multihost_utils``), and with a
single process each returns its input without any communication:

* :func:`agreed_max` — the element-wise maximum of an integer array over the processes (padded
  sizes, loop counts);
* :func:`agreed_any` — the element-wise OR of a boolean array (e.g. "done" masks);
* :func:`barrier` — waits until every process reaches it;
* :func:`from_process_0` — process 0's JSON-able value, on every process;
* :func:`together` — runs a step that may raise :class:`GigjaxError` on some processes and raises
  on all of them, so one process's bad input never leaves the others waiting.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Iterator

import jax
import numpy as np

from gigjax.errors import GigjaxError

_ADDRESS = re.compile(r"^\[?[\w.:-]+\]?:\d{1,5}$")


def initialize(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None,
               *, auto: bool = False, heartbeat_timeout_seconds: int | None = None) -> None:
    """Joins this process to a distributed JAX job; call it before any JAX computation.

    Args:
      coordinator: ``HOST:PORT`` of process 0 (it runs the coordination service there).
      num_processes: processes in the job (N ≥ 1).
      process_id: this process's rank, 0 ≤ I < N.
      auto: let :func:`jax.distributed.initialize` find all three itself (Cloud TPU, SLURM, Open MPI,
        …); then the other arguments must be None.
      heartbeat_timeout_seconds: how long a silent process may go before the job is stopped
        (JAX's default: 100 s).

    Raises:
      GigjaxError: missing or inconsistent arguments, JAX already started, or the runtime refused.
    """
    given = {"coordinator": coordinator, "num_processes": num_processes, "process_id": process_id}
    if auto:
        if any(v is not None for v in given.values()):
            raise GigjaxError("--distributed auto finds the coordinator, process count and process id itself; "
                              "drop --coordinator/--num-processes/--process-id (or drop --distributed auto)")
    else:
        missing = [k for k, v in given.items() if v is None]
        if missing:
            raise GigjaxError(f"a distributed run needs --coordinator, --num-processes and --process-id "
                              f"(missing {', '.join('--' + m.replace('_', '-') for m in missing)}), or "
                              f"--distributed auto")
        if not _ADDRESS.match(coordinator):
            raise GigjaxError(f"--coordinator must be HOST:PORT (e.g. node0:1234), got {coordinator!r}")
        if isinstance(num_processes, bool) or not isinstance(num_processes, int) or num_processes < 1:
            raise GigjaxError(f"--num-processes must be a positive integer, got {num_processes!r}")
        if isinstance(process_id, bool) or not isinstance(process_id, int) or not 0 <= process_id < num_processes:
            raise GigjaxError(f"--process-id must be in 0..{num_processes - 1}, got {process_id!r}")
    if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU devices talk over TCP
    kwargs = {} if heartbeat_timeout_seconds is None else {"heartbeat_timeout_seconds": heartbeat_timeout_seconds}
    try:
        jax.distributed.initialize(coordinator, num_processes, process_id, **kwargs)
    except (RuntimeError, ValueError) as exc:
        raise GigjaxError(f"could not join the distributed job: {exc}") from None


def agreed_max(values) -> np.ndarray:
    """The element-wise maximum over every process of an integer array of the same shape everywhere."""
    values = np.asarray(values, np.int64)
    if jax.process_count() == 1:
        return values
    from jax.experimental import multihost_utils

    with _peers():
        gathered = np.asarray(multihost_utils.process_allgather(values.astype(np.int32)))
    return gathered.max(axis=0).astype(np.int64)


def agreed_any(mask) -> np.ndarray:
    """The element-wise OR over every process of a boolean array of the same shape everywhere."""
    return agreed_max(np.asarray(mask, bool).astype(np.int64)).astype(bool)


def barrier(name: str) -> None:
    """Returns once every process has called ``barrier(name)`` (no-op with one process)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        with _peers():
            multihost_utils.sync_global_devices(name)


@contextlib.contextmanager
def _peers() -> Iterator[None]:
    """A collective that fails because another process died becomes a one-line GigjaxError."""
    try:
        yield
    except jax.errors.JaxRuntimeError as exc:
        raise GigjaxError(f"another process of the distributed job stopped ({str(exc).splitlines()[0][:200]}); "
                          f"run the whole job again to resume") from None


def from_process_0(value):
    """Process 0's ``value`` (JSON-able: a summary, a list of names) on every process; what the
    other processes pass is ignored."""
    if jax.process_count() == 1:
        return value
    data = np.frombuffer(json.dumps(value).encode(), np.uint8) if jax.process_index() == 0 else np.zeros(0, np.uint8)
    sent = np.zeros(int(agreed_max([len(data)])[0]), np.int64)
    sent[:len(data)] = data
    return json.loads(agreed_max(sent).astype(np.uint8).tobytes())


@contextlib.contextmanager
def together(what: str) -> Iterator[None]:
    """``with together("opening the results"):`` — a :class:`GigjaxError` raised inside on any
    process is raised on every process once all have finished the block (others name the failing
    processes), so no process waits forever for one that stopped."""
    error = None
    try:
        yield
    except GigjaxError as exc:
        error = exc
    failed = agreed_max(np.eye(jax.process_count(), dtype=np.int64)[jax.process_index()] * (error is not None))
    if error is not None:
        raise error
    if failed.any():
        ranks = ", ".join(str(i) for i in np.flatnonzero(failed))
        raise GigjaxError(f"{what} failed on process {ranks} (see its output)")
