import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # tests/: the `fixtures` helpers
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # toy.py, compare.py

from fixtures.real import real_fixtures  # noqa: E402


@pytest.fixture(scope="session")
def fixtures_dir() -> str:
    return real_fixtures()


@pytest.fixture(scope="session")
def labelme_voc(fixtures_dir):
    from gigjax.data import open_dataset
    return open_dataset(os.path.join(fixtures_dir, "labelme", "voc"))


@pytest.fixture(scope="session")
def tiny():
    from toy import tiny_model  # noqa: F401  (tests/evaluation is on sys.path via this conftest)
    return tiny_model()


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, tiny, labelme_voc):
    """An uninterrupted single-device run of the tiny model on the labelme VOC photos, all metrics."""
    from gigjax.evaluation import evaluate
    from toy import SETTINGS

    out = str(tmp_path_factory.mktemp("reference"))
    summary = evaluate(tiny, labelme_voc, ["gradcam"], out, batch_size=2, settings=SETTINGS, progress=False)
    return out, summary
