"""Fixtures of the fine-tuning tests (the helpers live in toys.py)."""

import pytest

from finetune.toys import CLASSES, synthetic_records, tiny_model  # noqa: F401


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


@pytest.fixture(scope="module")
def train_records():
    return synthetic_records(24, seed=1)


@pytest.fixture(scope="module")
def val_records():
    return synthetic_records(16, seed=2)
