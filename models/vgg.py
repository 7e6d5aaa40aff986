"""VGG16 in torchvision's layout (``torchvision.models.vgg16``, no BatchNorm), as a pure Flax linen module.

NHWC, explicit symmetric padding (never 'SAME'), ImageNet mean/std input.

Module tree (probe paths mirror torchvision's module names, ``/`` for ``.``). Every entry of
torchvision's ``features`` Sequential is a module of its own, so each index can be probed and code
that walks the network layer by layer (e.g. FG-CAM) reads the plan from :data:`FEATURES`::

    features/0 … features/30   3×3 convs (pad 1, with bias), ReLUs and 2×2/2 max-pools, in
                               torchvision's order (configuration "D": 64 64 M 128 128 M 256×3 M 512×3 M
                               512×3 M). At 224×224 input: features/29 is the last ReLU (14×14×512,
                               the default CAM layer), features/30 the last pool (7×7×512, "pool5").
    avgpool                    AdaptiveAvgPool2d(7, 7) (the identity at 224×224)
    flatten                    in torch's NCHW order, so torch's Linear weights apply unchanged
    classifier/0 … classifier/6  Linear 25088→4096, ReLU, Dropout, Linear 4096→4096, ReLU, Dropout,
                               Linear 4096→num_classes (Dropout is the identity at inference)

VGG16 has no global-average-pool head, so the card's ``classifier`` is ``None`` (CAM does not apply).
Beside the module: its FG-CAM plan (:func:`relevance_plan`, the official FG-CAM rules) and its last
stage for fine-tuning (:data:`LAST_STAGE`), both carried by its card.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax

from gigjax.models import convert
from gigjax.models.layers import AdaptiveAvgPool2d, Conv2d, Dense, Dropout, MaxPool2d, ReLU, flatten_nchw
from gigjax.models.relevance_plan import Plan, sequential_plan

# torchvision's configuration "D": output channels of each 3×3 conv, "M" for a 2×2 max-pool.
CONFIG_D: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                                   512, 512, 512, "M", 512, 512, 512, "M")


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One entry of a torchvision ``Sequential``.

    Attributes:
      kind: ``"conv"`` (with bias), ``"relu"``, ``"maxpool"``, ``"linear"`` or ``"dropout"``.
      features: output channels of a conv / linear (0 otherwise).
      kernel_size, stride, padding: of a conv or max-pool (symmetric padding, torch semantics).
    """

    kind: str
    features: int = 0
    kernel_size: int = 0
    stride: int = 1
    padding: int = 0

    def build(self, name: str) -> nn.Module:
        if self.kind == "conv":
            return Conv2d(self.features, self.kernel_size, self.stride, self.padding, use_bias=True, name=name)
        if self.kind == "maxpool":
            return MaxPool2d(self.kernel_size, self.stride, self.padding, name=name)
        if self.kind == "linear":
            return Dense(self.features, name=name)
        return {"relu": ReLU, "dropout": Dropout}[self.kind](name=name)


def features_plan(config: tuple[int | str, ...] = CONFIG_D) -> tuple[LayerSpec, ...]:
    """torchvision's ``make_layers(config, batch_norm=False)`` as a tuple of :class:`LayerSpec`."""
    plan: list[LayerSpec] = []
    for entry in config:
        if entry == "M":
            plan.append(LayerSpec("maxpool", kernel_size=2, stride=2))
        else:
            plan += [LayerSpec("conv", int(entry), 3, 1, 1), LayerSpec("relu")]
    return tuple(plan)


def classifier_plan(num_classes: int) -> tuple[LayerSpec, ...]:
    """torchvision's VGG ``classifier`` Sequential."""
    return (LayerSpec("linear", 4096), LayerSpec("relu"), LayerSpec("dropout"),
            LayerSpec("linear", 4096), LayerSpec("relu"), LayerSpec("dropout"),
            LayerSpec("linear", num_classes))


FEATURES: tuple[LayerSpec, ...] = features_plan()


class Sequential(nn.Module):
    """torch's ``nn.Sequential``: the layers of ``plan`` applied in order, named ``"0"``, ``"1"``, …"""

    plan: tuple[LayerSpec, ...]

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, spec in enumerate(self.plan):
            x = spec.build(str(i))(x)
        return x


class VGG16(nn.Module):
    """(B, H, W, 3) ImageNet-normalised input → (B, num_classes) logits."""

    num_classes: int = 1000

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = Sequential(FEATURES, name="features")(x)
        x = AdaptiveAvgPool2d((7, 7), name="avgpool")(x)
        return Sequential(classifier_plan(self.num_classes), name="classifier")(flatten_nchw(x))


def torch_name_map(name: str) -> tuple[str, tuple[str, ...]] | None:
    """torchvision name (``features.28.weight``, ``classifier.6.bias``) → (collection, Flax path)."""
    return convert.dotted_name_map(name, is_batch_norm=lambda module: False)


def probe_layers() -> tuple[str, ...]:
    """The layers listed on the card: every ReLU and max-pool output of ``features``."""
    return tuple(f"features/{i}" for i, spec in enumerate(FEATURES) if spec.kind in ("relu", "maxpool"))


# What --train-last-stage trains besides the head: conv5_1..3 and fc6, fc7.
LAST_STAGE = ("features/24", "features/26", "features/28", "classifier/0", "classifier/3")


def relevance_plan(model, prefix: str = "features") -> Plan:
    """FG-CAM plan of a torchvision-layout VGG, read off the model (so any configuration works): each
    ``features/i`` with a conv kernel is a conv, one that changes the spatial size is a max-pool, any
    other (ReLU, BatchNorm) passes through (the official FG-CAM rules: BatchNorm not folded). The
    base is the last entry (VGG16: ``features/30``, pool5)."""
    from gigjax.probe import list_layers  # local: gigjax.probe imports this package

    params, shapes = model.variables["params"][prefix], list_layers(model)
    kinds, size = [], None
    while f"{prefix}/{len(kinds)}" in shapes:
        i = len(kinds)
        shape = tuple(shapes[f"{prefix}/{i}"][1:3])
        if "kernel" in params.get(str(i), {}):
            kinds.append("conv")
        else:
            kinds.append("maxpool" if size is not None and shape != size else "relu")
        size = shape
    return sequential_plan(kinds, prefix)
