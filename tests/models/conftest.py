"""Fixtures of the model-zoo tests: the golden files and the torch-free weight generator."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

from golden_files import GOLDEN, load_golden


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
    return load_golden("torchvision_random.npz")


@pytest.fixture(scope="session")
def torch_ops() -> dict[str, np.ndarray]:
    """PyTorch pooling outputs (NCHW) for the layer tests."""
    return load_golden("torch_ops.npz")


@pytest.fixture(scope="session")
def lite0_golden() -> dict[str, np.ndarray]:
    return load_golden("lite0_chelsea.npz")


@pytest.fixture(scope="session")
def shape_model():
    """``name → Model`` of a zoo architecture whose variables are ``ShapeDtypeStruct``s: enough for
    layer listings and shape checks, with no weights drawn or read."""
    import gigjax
    from gigjax.models import zoo

    def make(name: str):
        arch = zoo.architecture(name)
        module = arch.build(1000)
        return gigjax.Model(module=module, variables=zoo._expected_shapes(arch, module), card=arch.card(1000))

    return make


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
