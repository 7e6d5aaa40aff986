"""The committed golden files (``tests/golden/``: made once by the reference frameworks with the
scripts beside them), and the one loader every test reads them with."""

from __future__ import annotations

import pathlib

import numpy as np

GOLDEN = pathlib.Path(__file__).resolve().parent / "golden"


def load_golden(name: str) -> dict[str, np.ndarray]:
    """Every array of ``tests/golden/<name>`` (an ``.npz``), read whole so the file is closed again."""
    with np.load(GOLDEN / name) as data:
        return {k: data[k] for k in data.files}
