"""Fixtures of the model-zoo tests: the golden files and the torch-free weight generator."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture(scope="session")
def golden_dir() -> pathlib.Path:
    return GOLDEN


@pytest.fixture(scope="session")
def numpy_weights():
    """``tests/golden/numpy_weights.py``, the generator the golden scripts used (imported by path)."""
    spec = importlib.util.spec_from_file_location("gigjax_tests_numpy_weights", GOLDEN / "numpy_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def torchvision_golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN / "torchvision_random.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="session")
def torchvision_input(numpy_weights, torchvision_golden) -> np.ndarray:
    """The golden input batch, NHWC (2, 224, 224, 3)."""
    return numpy_weights.input_batch(int(torchvision_golden["input_seed"])).transpose(0, 2, 3, 1)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> pathlib.Path:
    """A private ``$GIGJAX_CACHE`` for tests that convert weight files."""
    path = tmp_path / "cache"
    monkeypatch.setenv("GIGJAX_CACHE", str(path))
    return path
