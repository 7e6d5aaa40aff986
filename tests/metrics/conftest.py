"""Toy models with closed-form outputs for the metric tests."""

from __future__ import annotations

import pytest

from gigjax.models import Model
from gigjax.testing import toy_model as toy_classifier


def toy_model(size=(2, 2), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)) -> Model:
    """logits = [Σ x, 0]: the probability of class 0 is sigmoid(Σ x)."""
    return toy_classifier(head="sum", class_names=("sum", "zero"), size=size, mean=mean, std=std, name="pixel_sum")


@pytest.fixture
def pixel_sum():
    return toy_model()
