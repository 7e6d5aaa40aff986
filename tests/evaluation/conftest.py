import os

import pytest


@pytest.fixture(scope="session")
def labelme_voc(fixtures_dir):
    from gigjax.data import open_dataset
    return open_dataset(os.path.join(fixtures_dir, "labelme", "voc"))


@pytest.fixture(scope="session")
def tiny():
    from evaluation.toy import tiny_model
    return tiny_model()


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, tiny, labelme_voc):
    """An uninterrupted single-device run of the tiny model on the labelme VOC photos, all metrics."""
    from gigjax.evaluation import evaluate
    from evaluation.toy import SETTINGS

    out = str(tmp_path_factory.mktemp("reference"))
    summary = evaluate(tiny, labelme_voc, ["gradcam"], out, batch_size=2, settings=SETTINGS, progress=False)
    return out, summary
