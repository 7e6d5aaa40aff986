"""Toy classifiers for tests and examples: one factory, :func:`toy_model`, for the module, its weights
and its card. Fast to compile, with closed-form gradients where it matters.

The knobs:

* ``body``: a tuple of :class:`ConvLayer` (a plain conv stack, each layer optionally a block with its
  activation inside, optionally followed by a BatchNorm), :class:`VGGBody` (the zoo's own VGG
  ``features`` Sequential on a small configuration) or :class:`ResNetBody` (the zoo's ResNet stem and
  Bottleneck stages), so FG-CAM's plans of the real architectures apply unchanged.
* ``head``: ``"gap_fc"`` (global average pool + Dense ``fc``: CAM applies and ∂S/∂A at the last
  feature map is W[:, c] / (h·w) in closed form), ``"mlp"`` (flatten → Dense ``hidden`` (12) → ReLU →
  Dense ``classifier``: no GAP, like VGG) or ``"sum"`` (logits ``[Σ x, 0, …]``, no weights at all).
* ``num_classes`` / ``class_names``, ``size`` (the input), ``mean`` / ``std``, and the card's name,
  layers, CAM layer, classifier and description (each with a default read off the body and head).
* ``init`` and ``seed``: ``"he"`` (:func:`gigjax.models.zoo.random_variables`: He-normal kernels drawn
  with numpy), ``"lecun"`` (:func:`lecun_variables`: N(0, 1/fan_in) kernels drawn with numpy) or
  ``"flax"`` (``module.init(PRNGKey(seed), zeros)``: Flax's LeCun-normal initialisers). The numpy ones
  compile nothing.

The card carries an FG-CAM relevance plan when one applies (a ReLU conv stack, the VGG and ResNet
bodies). :func:`tiny_cnn` is the 3-layer GAP+FC configuration most tests use.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.models import Model, ModelCard
from gigjax.models import resnet, vgg
from gigjax.models.layers import Conv2d, MaxPool2d, ReLU, batch_norm, global_average_pool
from gigjax.models.relevance_plan import Conv, Plan
from gigjax.models.zoo import random_variables
from gigjax.validation import check_choice

ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "softplus": jax.nn.softplus, "none": lambda x: x}
HEADS = ("gap_fc", "mlp", "sum")
INITS = ("he", "lecun", "flax")


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    """One layer of a toy conv stack: a 3×3 convolution with bias named ``name``.

    Attributes:
      features: output channels.
      stride, padding: of the convolution (``padding``: an int, symmetric, or ``"tf_same"``).
      activation: ``"relu"``, ``"tanh"``, ``"softplus"`` or ``"none"``, applied after the layer.
      batch_norm: the name of an inference-mode BatchNorm (a sibling module) between the conv and the
        activation, or None.
      block: the layer is a module ``name`` holding the conv ``name/conv`` and the activation, so the
        output at ``name`` is the activated one (otherwise ``name`` is the conv and the activation
        follows outside it).
    """

    name: str
    features: int
    stride: int = 1
    padding: int | str = 1
    activation: str = "relu"
    batch_norm: str | None = None
    block: bool = False


@dataclasses.dataclass(frozen=True)
class VGGBody:
    """The zoo's VGG ``features`` Sequential (``features/0`` …) on ``config`` (channels, ``"M"`` = pool)."""

    config: tuple[int | str, ...] = (8, "M", 16, 16, "M")


@dataclasses.dataclass(frozen=True)
class ResNetBody:
    """The zoo's ResNet stem (``conv1`` 7×7/2 → ``bn1`` → ``relu`` → ``maxpool``) with ``stem`` channels,
    then Bottleneck stages ``layer1`` … given as (blocks, width, stride)."""

    stem: int = 8
    stages: tuple[tuple[int, int, int], ...] = ((2, 4, 1), (1, 8, 2))


class _Block(nn.Module):
    layer: ConvLayer

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return ACTIVATIONS[self.layer.activation](_conv(self.layer, "conv")(x))


def _conv(layer: ConvLayer, name: str) -> Conv2d:
    return Conv2d(layer.features, 3, layer.stride, layer.padding, use_bias=True, name=name)


class ToyClassifier(nn.Module):
    """(B, H, W, 3) → (B, num_classes): ``body`` then ``head`` (see the module docstring)."""

    body: tuple[ConvLayer, ...] | VGGBody | ResNetBody = ()
    head: str = "gap_fc"
    num_classes: int = 5

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if isinstance(self.body, VGGBody):
            x = vgg.Sequential(vgg.features_plan(self.body.config), name="features")(x)
        elif isinstance(self.body, ResNetBody):
            x = ReLU(name="relu")(batch_norm(1e-5, "bn1")(Conv2d(self.body.stem, 7, 2, 3, name="conv1")(x)))
            x = MaxPool2d(3, 2, 1, name="maxpool")(x)
            for s, (blocks, width, stride) in enumerate(self.body.stages):
                x = resnet.Stage(blocks, width, stride, name=f"layer{s + 1}")(x)
        else:
            for layer in self.body:
                if layer.block:
                    x = _Block(layer, name=layer.name)(x)
                    continue
                x = _conv(layer, layer.name)(x)
                if layer.batch_norm:
                    x = nn.BatchNorm(use_running_average=True, name=layer.batch_norm)(x)
                x = ACTIVATIONS[layer.activation](x)
        if self.head == "gap_fc":
            return nn.Dense(self.num_classes, name="fc")(global_average_pool(x))
        if self.head == "mlp":
            x = jax.nn.relu(nn.Dense(12, name="hidden")(x.reshape(x.shape[0], -1)))
            return nn.Dense(self.num_classes, name="classifier")(x)
        s = jnp.sum(x, axis=(1, 2, 3))[:, None]
        return jnp.concatenate([s, jnp.zeros((s.shape[0], self.num_classes - 1), s.dtype)], axis=-1)


def conv_stack_plan(model: Model) -> Plan:
    """FG-CAM plan of a ReLU :class:`ConvLayer` stack (BatchNorms folded); the base is its last layer."""
    layers = model.module.body
    steps = tuple(Conv(f"{layer.name}/conv" if layer.block else layer.name, bn=layer.batch_norm, first=i == 0,
                       aliases=(layer.name,) if layer.block else ()) for i, layer in enumerate(layers))
    return Plan(steps, base=layers[-1].name)


def _default_layers(body) -> tuple[str, ...]:
    if isinstance(body, VGGBody):
        return tuple(f"features/{i}" for i in range(len(vgg.features_plan(body.config))))
    if isinstance(body, ResNetBody):
        return ("maxpool",) + tuple(f"layer{s + 1}" for s in range(len(body.stages)))
    return tuple(layer.name for layer in body)


def _relevance_plan(body, head: str):
    if isinstance(body, VGGBody):
        return vgg.relevance_plan
    if isinstance(body, ResNetBody):
        return resnet.relevance_plan
    if body and head != "sum" and all(layer.activation in ("relu", "none") for layer in body):
        return conv_stack_plan
    return None


def lecun_variables(shapes, seed: int):
    """Variables for a pytree of ``ShapeDtypeStruct`` filled by numpy (Flax's ``init`` compiles threefry
    RNG for many seconds on CPU): kernels ~ N(0, 1/fan_in) (float64 draws), biases 0, BN scale 1 / var 1."""
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = getattr(path[-1], "key", "")
        if name == "kernel":
            fan_in = int(np.prod(leaf.shape[:-1]))
            return jnp.asarray(rng.standard_normal(leaf.shape) / np.sqrt(fan_in), jnp.float32)
        return jnp.full(leaf.shape, 1.0 if name in ("scale", "var") else 0.0, jnp.float32)

    return jax.tree_util.tree_map_with_path(fill, shapes)


def toy_model(body: tuple[ConvLayer, ...] | VGGBody | ResNetBody = (), *, head: str = "gap_fc",
              num_classes: int | None = None, class_names: Sequence[str] | None = None,
              size: int | tuple[int, int] = 32, init: str = "he", seed: int = 0, name: str = "toy",
              layers: Sequence[str] | None = None, cam_layer: str | None = None, classifier: str | None = "auto",
              mean: tuple[float, float, float] = (0.5, 0.5, 0.5), std: tuple[float, float, float] = (0.25, 0.25, 0.25),
              description: str = "", last_stage: tuple[str, ...] = ()) -> Model:
    """A toy classifier as a :class:`Model` (see the module docstring for the knobs).

    Defaults: ``class_names`` ``class_0 …`` (``num_classes`` of them, 5 unless given), ``layers`` every
    named layer of the body, ``cam_layer`` the last of them, ``classifier`` ``"fc"`` for the GAP+FC
    head (None otherwise), ``resize_short`` the input height.
    """
    check_choice(head, "head", HEADS)
    check_choice(init, "init", INITS)
    if class_names is None:
        class_names = tuple(f"class_{i}" for i in range(5 if num_classes is None else num_classes))
    module = ToyClassifier(body=body if isinstance(body, (VGGBody, ResNetBody)) else tuple(body), head=head,
                           num_classes=len(class_names))
    h, w = (size, size) if isinstance(size, int) else size
    if init == "flax":
        variables = module.init(jax.random.PRNGKey(seed), jnp.zeros((1, h, w, 3)))
    else:
        shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, h, w, 3), jnp.float32))
        if init == "he":
            variables = jax.tree_util.tree_map(jnp.asarray, random_variables(shapes, seed))
        else:
            variables = lecun_variables(shapes, seed)
    layers = _default_layers(module.body) if layers is None else tuple(layers)
    card = ModelCard(
        name=name, input_size=(h, w), resize_short=h, mean=tuple(mean), std=tuple(std),
        class_names=tuple(class_names), layers=layers, cam_layer=(layers[-1] if layers else "") if cam_layer is None
        else cam_layer, classifier=("fc" if head == "gap_fc" else None) if classifier == "auto" else classifier,
        description=description, last_stage=tuple(last_stage), relevance_plan=_relevance_plan(module.body, head))
    return Model(module=module, variables=variables, card=card)


TINY_CNN = (ConvLayer("conv1", 8, stride=2), ConvLayer("conv2", 8),
            ConvLayer("features", 16, stride=2, block=True))
"""The tiny CNN's body: ``conv1`` (stride 2), ``conv2``, ``features`` (the ReLU'd last conv, the CAM layer)."""


def tiny_cnn(num_classes: int = 5, size: int = 32, seed: int = 0, init: str = "he") -> Model:
    """The 3-layer CNN with a GAP + Dense head (:data:`TINY_CNN`), He-normal kernels drawn with numpy,
    zero biases; input ``size``×``size``, mean 0.5, std 0.25, classes ``class_<i>``."""
    return toy_model(TINY_CNN, num_classes=num_classes, size=size, seed=seed, init=init, name="tiny_cnn",
                     description="a tiny random CNN for tests")
