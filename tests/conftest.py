"""Shared fixtures. Real photos come from scikit-image (installed by the `test` extra), never committed."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Tests call gigjax.cli.main in-process: keep the CLI's persistent XLA cache (gigjax/compile_cache.py)
# out of the test process and the user's ~/.cache; tests/test_compile_cache.py tests it explicitly.
os.environ.setdefault("GIGJAX_COMPILE_CACHE", "0")


@pytest.fixture(scope="session")
def lite0():
    """EfficientNet-Lite0 with its real embedded ImageNet weights."""
    import gigjax

    return gigjax.load_model("efficientnet_lite0")


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    from skimage import data

    return data.chelsea()


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    from skimage import data

    return data.coffee()


@pytest.fixture(scope="session")
def lite0_batch(lite0, chelsea, coffee):
    """(2, 224, 224, 3) normalised batch: chelsea (a cat) and coffee (espresso)."""
    return lite0.preprocess([chelsea, coffee])


@pytest.fixture(scope="session")
def fixtures_dir() -> str:
    """The fetched real photos with boxes (labelme VOC/COCO, imgaug quokka): see tests/fixtures/fetch.py."""
    from fixtures.real import real_fixtures

    return real_fixtures()
