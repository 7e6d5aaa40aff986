"""A tiny seeded CNN over the 20 VOC classes (32×32 input), so runner tests compile and run in
seconds; also imported by the subprocess scripts of the kill and sharding tests."""

from __future__ import annotations

from gigjax.data import VOC_CLASSES
from gigjax.models import Model
from gigjax.testing import ConvLayer, toy_model

SETTINGS = {"pixels_per_step": 64, "curve_chunk": 8}   # 32×32 = 1024 px → 17 curve points


def tiny_model() -> Model:
    """conv1 (8, stride 2) → ReLU → features (16) → ReLU → GAP → Dense(20), Flax-initialised (seed 0)."""
    return toy_model((ConvLayer("conv1", 8, stride=2), ConvLayer("features", 16)), class_names=VOC_CLASSES,
                     size=32, init="flax", seed=0, name="tiny_cnn")
