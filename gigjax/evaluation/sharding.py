"""Data parallelism over all local devices: a 1-D ``jax.sharding.Mesh`` on the batch axis.

Batches are padded on the host to a multiple of the device count (with copies of their first row),
placed with ``NamedSharding(mesh, P("batch"))`` so each device holds a contiguous slice, and the
padding is dropped after the results come back. The model is replicated once. The jitted programs
need no change: XLA partitions the computation to follow its inputs, and images never interact
(BatchNorm runs on running statistics), so results equal the single-device run.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


class BatchSharding:
    """Places batches across ``devices`` (default: every local device)."""

    def __init__(self, devices: Sequence[jax.Device] | None = None):
        self.devices = list(devices) if devices is not None else jax.local_devices()
        self.mesh = Mesh(np.asarray(self.devices), ("batch",))
        self.batch = NamedSharding(self.mesh, PartitionSpec("batch"))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())

    @property
    def count(self) -> int:
        return len(self.devices)

    def round_up(self, n: int) -> int:
        """The smallest multiple of the device count ≥ n."""
        return -(-n // self.count) * self.count

    def replicate(self, tree):
        return jax.device_put(tree, self.replicated)

    def put(self, arrays: dict, size: int) -> dict:
        """Pads each (n, …) host array to ``size`` rows (a multiple of the device count) by repeating
        row 0, and shards it on the leading axis."""
        out = {}
        for name, value in arrays.items():
            value = np.asarray(value)
            if len(value) < size:
                value = np.concatenate([value, np.repeat(value[:1], size - len(value), axis=0)])
            out[name] = jax.device_put(value, self.batch)
        return out


def fetch(tree, n: int):
    """Brings results back to the host, dropping padding rows beyond ``n``."""
    return jax.tree_util.tree_map(lambda a: np.asarray(a)[:n], tree)
