"""gigjax/finetune/model_ap.py: a model's VOC mAP on records is the mAP of its logits on their centre crops."""

from __future__ import annotations

import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.finetune import average_precision_of, mean_average_precision
from gigjax.finetune.data import crop
from gigjax.finetune.labels import label_targets
from gigjax.testing import toy_model

from finetune.toys import CLASSES, TINY_NET


@pytest.fixture(scope="module")
def four_way():
    """The tiny fine-tuning net with a random 4-way head over :data:`CLASSES`."""
    return toy_model(TINY_NET, class_names=CLASSES, size=16, init="flax", seed=3)


@pytest.mark.parametrize("method", ["area", "11point"])
def test_average_precision_of_scores_the_models_logits(four_way, val_records, method):
    report = average_precision_of(four_way, val_records, batch_size=5, method=method)
    crops = np.stack([crop(r.image, four_way.card) for r in val_records])
    logits = np.asarray(four_way.logits(four_way.normalize(crops)))
    labels, mask = map(np.stack, zip(*(label_targets(r, CLASSES) for r in val_records)))
    mean, ap, undefined = mean_average_precision(logits, labels, mask, method)
    assert report.images == len(val_records) and report.method == method and report.undefined == int(undefined) == 1
    np.testing.assert_allclose(report.logits, logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(report.ap, ap, rtol=1e-6)
    assert report.map == pytest.approx(float(mean))


def test_unknown_ap_method(four_way, val_records):
    with pytest.raises(GigjaxError, match="method"):
        average_precision_of(four_way, val_records, method="voc")
