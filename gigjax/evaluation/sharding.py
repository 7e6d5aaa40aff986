"""Data parallelism over every device: a 1-D ``jax.sharding.Mesh`` on the batch axis.

With one process the mesh holds the local devices; in a distributed job (:mod:`gigjax.distributed`)
it holds every device of every process, ordered by process, so each process owns one contiguous
block of rows of a global batch (:meth:`BatchSharding.local_rows`). Each process reads and feeds
only its block (``jax.make_array_from_process_local_data``); padding rows (copies of the block's
first row, zeros for a block with no real row) fill it to the block size, and results come back
only from the process's addressable shards (:meth:`BatchSharding.fetch`). The model is replicated
once. The jitted programs need no change — XLA partitions the computation to follow its inputs and
every process runs the same program; images never interact (BatchNorm runs on running statistics),
so results equal the single-device run.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def _all_devices() -> list:
    if jax.process_count() == 1:
        return jax.local_devices()
    return sorted(jax.devices(), key=lambda d: (d.process_index, d.id))


class BatchSharding:
    """Places batches across ``devices`` (default: every device of every process)."""

    def __init__(self, devices: Sequence[jax.Device] | None = None):
        self.devices = list(devices) if devices is not None else _all_devices()
        self.mesh = Mesh(np.asarray(self.devices), ("batch",))
        self.batch = NamedSharding(self.mesh, PartitionSpec("batch"))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.multiprocess = len({d.process_index for d in self.devices}) > 1
        self._rows: dict[int, slice] = {}

    @property
    def count(self) -> int:
        """Devices in the mesh (all processes)."""
        return len(self.devices)

    def round_up(self, n: int) -> int:
        """The smallest multiple of the device count ≥ n."""
        return -(-n // self.count) * self.count

    def local_rows(self, size: int) -> slice:
        """The rows of a global batch of ``size`` rows (a multiple of the device count) that this
        process feeds and gets back: all of them with one process."""
        if not self.multiprocess:
            return slice(0, size)
        if size not in self._rows:
            spans = sorted((s.start, s.stop) for (s,) in self.batch.addressable_devices_indices_map((size,)).values())
            if any(a[1] != b[0] for a, b in zip(spans, spans[1:])):
                raise ValueError(f"this process's devices are not contiguous in the mesh: rows {spans}")
            self._rows[size] = slice(spans[0][0], spans[-1][1])
        return self._rows[size]

    def replicate(self, tree):
        return jax.device_put(tree, self.replicated)

    def put(self, arrays: dict, size: int) -> dict:
        """Shards each ``(n, …)`` host array on its leading axis as this process's block of a global
        batch of ``size`` rows: padded to the block's length by repeating row 0 (zeros when n = 0)."""
        rows = self.local_rows(size)
        block = rows.stop - rows.start
        out = {}
        for name, value in arrays.items():
            value = np.asarray(value)
            if len(value) < block:
                pad = np.repeat(value[:1], block - len(value), axis=0) if len(value) else \
                    np.zeros((block,) + value.shape[1:], value.dtype)
                value = np.concatenate([value, pad])
            if self.multiprocess:
                out[name] = jax.make_array_from_process_local_data(self.batch, value, (size,) + value.shape[1:])
            else:
                out[name] = jax.device_put(value, self.batch)
        return out

    def fetch(self, tree, n: int):
        """This process's rows of batch-major results, back on the host, without padding: the
        first ``n`` rows of its block (read from its addressable shards only)."""
        return jax.tree_util.tree_map(lambda a: _block(a, self.local_rows(a.shape[0]))[:n], tree)


def _block(array: jax.Array, rows: slice) -> np.ndarray:
    """Rows ``rows`` of ``array`` from the shards this process holds."""
    if array.is_fully_addressable:
        return np.asarray(array)[rows]
    out = np.empty((rows.stop - rows.start,) + array.shape[1:], array.dtype)
    for shard in array.addressable_shards:
        start, stop, _ = shard.index[0].indices(array.shape[0])
        lo, hi = max(start, rows.start), min(stop, rows.stop)
        if lo < hi:
            out[lo - rows.start:hi - rows.start] = np.asarray(shard.data)[lo - start:hi - start]
    return out
