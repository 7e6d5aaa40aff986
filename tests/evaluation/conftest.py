import os

import jax
import jax.numpy as jnp
import pytest

from fixtures.real import real_fixtures

# ImageNet classes standing in for the VOC → ImageNet class map until gigjax.data.classmap lands.
STAND_IN = {"bus": (654, 779, 874), "car": (436, 468, 511, 609, 627, 656, 705, 751, 817)}


def _lse(indices):
    def score(logits):
        return jax.nn.logsumexp(logits[:, jnp.asarray(indices)], axis=-1)
    return score


_SCORERS = {name: _lse(idx) for name, idx in STAND_IN.items()}


def stand_in_target_for(name):
    return _SCORERS.get(name.lower())


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
