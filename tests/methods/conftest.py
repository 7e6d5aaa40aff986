"""Fixtures for the method tests: the tiny GAP+FC CNN of gigjax.testing, a jitted probe, and small
VGG-like and ResNet-like models for FG-CAM.

The FG-CAM models are gigjax.testing toys built from the zoo's own VGG ``Sequential`` and ResNet ``Stage``
modules, so their paths are those of VGG16/ResNet50 (``features/0`` …; ``conv1 bn1 relu maxpool layerS/B/{convN, bnN,
reluN, downsample/0, downsample/1}``) and the same plan builders apply.
BatchNorm statistics and scales are randomised (negative scales included) so that folding matters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.models import Model
from gigjax.models.vgg import features_plan
from gigjax.testing import ResNetBody, VGGBody, lecun_variables as numpy_init, tiny_cnn, toy_model

VGG_CONFIG = (8, "M", 16, 16, "M")


def vgg_kinds(config=VGG_CONFIG) -> tuple[str, ...]:
    return tuple(spec.kind for spec in features_plan(config))


def _randomise_batch_norm(variables, seed: int, zero_shift: bool):
    """Random BN scale (±), variance and, unless ``zero_shift``, mean and bias (numpy RNG: no per-shape
    XLA compilations)."""
    rng = np.random.default_rng(seed)

    def change(path, leaf):
        names = [getattr(p, "key", "") for p in path]
        if not any(n.startswith("bn") or n == "1" for n in names[1:-1]):
            return leaf
        if names[-1] == "scale":
            return rng.uniform(0.5, 1.5, leaf.shape) * np.where(rng.random(leaf.shape) < 0.2, -1.0, 1.0)
        if names[-1] == "var":
            return rng.uniform(0.5, 2.0, leaf.shape)
        if names[-1] in ("mean", "bias") and not zero_shift:
            return 0.2 * rng.standard_normal(leaf.shape)
        return leaf

    changed = jax.tree_util.tree_map_with_path(change, jax.device_get(variables))
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v, jnp.float32), changed)


def toy_vgg(use_bias: bool = True, seed: int = 0, size: int = 16) -> Model:
    """The toy VGG (the zoo's ``features`` Sequential on :data:`VGG_CONFIG`, then a small MLP classifier);
    ``use_bias=False`` leaves every bias at 0 (no bias in effect), else 0.05."""
    model = toy_model(VGGBody(VGG_CONFIG), head="mlp", class_names=tuple(f"c{i}" for i in range(4)), size=size,
                      init="lecun", seed=seed, name="toy_vgg")
    if use_bias:
        model = model.replace(variables=jax.tree_util.tree_map_with_path(
            lambda p, v: v + 0.05 if getattr(p[-1], "key", "") == "bias" else v, model.variables))
    return model


def toy_resnet(zero_shift: bool = False, seed: int = 0, size: int = 32) -> Model:
    """The zoo's ResNet stem and Bottleneck stages (``layer1``: 2 blocks of width 4, ``layer2``: 1 block of
    width 8, stride 2), GAP + ``fc``; random BatchNorm statistics."""
    model = toy_model(ResNetBody(8, ((2, 4, 1), (1, 8, 2))), class_names=tuple(f"c{i}" for i in range(4)),
                      size=size, init="lecun", seed=seed, name="toy_resnet")
    return model.replace(variables=_randomise_batch_norm(model.variables, seed + 1, zero_shift))


@pytest.fixture(scope="session")
def toy():
    """:func:`gigjax.testing.tiny_cnn` (5 classes, 32×32 input, GAP+FC head), numpy-initialised."""
    return tiny_cnn(init="lecun")


@pytest.fixture(scope="session")
def toy_x():
    """(3, 32, 32, 3) random input for ``toy``."""
    return jax.random.normal(jax.random.PRNGKey(11), (3, 32, 32, 3))


@pytest.fixture(scope="session")
def probe_np():
    """``probe_np(model, x, targets, layer) → (A, g, logits, classes)`` as float64 numpy arrays."""

    def probe_np(model, x, targets, layer):
        r = jax.jit(lambda m, x: gigjax.probe(m, x, targets, (layer,), input_gradient=False))(model, x)
        return (np.asarray(r.activations[layer], np.float64), np.asarray(r.gradients[layer], np.float64),
                np.asarray(r.logits, np.float64), np.asarray(r.classes))

    return probe_np


def raw_map(model, x, method, targets=None, **options):
    """The method's raw map through ``gigjax.explain`` (jitted)."""
    return np.asarray(gigjax.explain(model, x, method, targets, raw=True, **options), np.float64)


@pytest.fixture(scope="session")
def raw():
    return raw_map


@pytest.fixture(scope="session")
def fgcam_nets():
    """Factories and plans of the FG-CAM test models: ``toy_vgg``, ``toy_resnet``, ``vgg_kinds``."""
    return dict(toy_vgg=toy_vgg, toy_resnet=toy_resnet, vgg_kinds=vgg_kinds)


@pytest.fixture(scope="session")
def zoo_model():
    """``(name, numpy_weights=False) → Model`` of a zoo architecture (VGG16, ResNet50) with shape-only
    variables, or with numpy-drawn random weights (He-scaled kernels, random BN statistics)."""
    from gigjax.models import zoo

    def make(name: str, numpy_weights: bool = False, seed: int = 0):
        arch = zoo.architecture(name)
        module = arch.build(1000)
        shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.zeros((1, *arch.input_shape)))
        variables = shapes
        if numpy_weights:
            variables = _randomise_batch_norm(numpy_init(shapes, seed), seed + 1, zero_shift=False)
        return Model(module=module, variables=variables, card=arch.card(1000))

    return make
