"""ResNet50 in torchvision's layout (``torchvision.models.resnet50``), as a pure Flax linen module.

ResNet v1.5: the stride of a down-sampling bottleneck sits on its 3×3 convolution. NHWC, explicit
symmetric padding (never 'SAME'), BatchNorm eps 1e-5 on running statistics, ImageNet mean/std input.

Module tree (probe paths mirror torchvision's module names, ``/`` for ``.``; every path below is a
module of its own, so its output can be probed)::

    conv1 (7×7/2, pad 3) → bn1 → relu → maxpool (3×3/2, pad 1)
    layer1 … layer4        stages of 3, 4, 6, 3 Bottleneck blocks, named "0", "1", …
      layer{s}/{b}         one Bottleneck (its output = block output after the final ReLU):
        conv1 (1×1) → bn1 → relu1 → conv2 (3×3/stride, pad 1) → bn2 → relu2 → conv3 (1×1) → bn3
        downsample/0 (1×1/stride conv) → downsample/1 (BN)   only on each stage's first block
        relu3( bn3 + (downsample or the block input) )
    avgpool (global, (B, 1, 1, 2048)) → flatten → fc

torchvision reuses one ``relu`` module three times inside a Bottleneck; here the three calls are
``relu1``, ``relu2``, ``relu3`` so each is probe-able on its own (a layer must run once per pass).
ReLUs have no weights, so torchvision checkpoints load unchanged. Feature maps at 224×224 input:
``layer1`` 56×56×256, ``layer2`` 28×28×512, ``layer3`` 14×14×1024, ``layer4`` 7×7×2048 (the default
CAM layer, pytorch-grad-cam's ``model.layer4[-1]``). Any input size works (``avgpool`` is global).

The stage table :data:`STAGES` is the single source of the structure. Beside the module: its FG-CAM
plan (:func:`relevance_plan`) and its last stage for fine-tuning (:data:`LAST_STAGE`), both carried
by its card.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from gigjax.models import convert
from gigjax.models.layers import AdaptiveAvgPool2d, Conv2d, Dense, MaxPool2d, ReLU, batch_norm
from gigjax.models.relevance_plan import Conv, Pass, Plan, Pool, Residual, numbered

BN_EPS = 1e-5
EXPANSION = 4

# (blocks, width, stride of the first block) per stage layer1..layer4 of ResNet50.
STAGES: tuple[tuple[int, int, int], ...] = ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2))


class Downsample(nn.Module):
    """The shortcut projection ``downsample``: ``0`` a 1×1 strided conv, ``1`` its BatchNorm."""

    features: int
    stride: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = Conv2d(self.features, 1, self.stride, 0, name="0")(x)
        return batch_norm(BN_EPS, "1")(x)


class Bottleneck(nn.Module):
    """torchvision's ``Bottleneck`` (expansion 4, stride on ``conv2``)."""

    width: int
    stride: int = 1
    downsample: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        out = ReLU(name="relu1")(batch_norm(BN_EPS, "bn1")(Conv2d(self.width, 1, name="conv1")(x)))
        out = Conv2d(self.width, 3, self.stride, 1, name="conv2")(out)
        out = ReLU(name="relu2")(batch_norm(BN_EPS, "bn2")(out))
        out = batch_norm(BN_EPS, "bn3")(Conv2d(self.width * EXPANSION, 1, name="conv3")(out))
        shortcut = Downsample(self.width * EXPANSION, self.stride, name="downsample")(x) if self.downsample else x
        return ReLU(name="relu3")(out + shortcut)


class Stage(nn.Module):
    """``layer1`` … ``layer4``: ``blocks`` Bottlenecks named ``"0"``, ``"1"``, …; the first may stride."""

    blocks: int
    width: int
    stride: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for b in range(self.blocks):
            first = b == 0
            downsample = first and (self.stride != 1 or x.shape[-1] != self.width * EXPANSION)
            x = Bottleneck(self.width, self.stride if first else 1, downsample, name=str(b))(x)
        return x


class ResNet50(nn.Module):
    """(B, H, W, 3) ImageNet-normalised input → (B, num_classes) logits."""

    num_classes: int = 1000

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = ReLU(name="relu")(batch_norm(BN_EPS, "bn1")(Conv2d(64, 7, 2, 3, name="conv1")(x)))
        x = MaxPool2d(3, 2, 1, name="maxpool")(x)
        for s, (blocks, width, stride) in enumerate(STAGES):
            x = Stage(blocks, width, stride, name=f"layer{s + 1}")(x)
        x = AdaptiveAvgPool2d((1, 1), name="avgpool")(x)
        return Dense(self.num_classes, name="fc")(x.reshape(x.shape[0], -1))


def torch_name_map(name: str) -> tuple[str, tuple[str, ...]] | None:
    """torchvision name (``layer1.0.downsample.1.running_mean``) → (collection, Flax path)."""
    return convert.dotted_name_map(name, is_batch_norm=lambda module: module[-1].startswith("bn") or
                                   module[-2:-1] == ("downsample",) and module[-1] == "1")


def probe_layers() -> tuple[str, ...]:
    """The layers listed on the card: the stem, every stage, and every block of the last stage."""
    last = STAGES[-1][0]
    return ("relu", "maxpool", "layer1", "layer2", "layer3", "layer4") + tuple(f"layer4/{b}" for b in range(last))


# What --train-last-stage trains besides the head: conv5_x, the last stage (three bottlenecks, 2048 ch).
LAST_STAGE = (f"layer{len(STAGES)}",)


def relevance_plan(model) -> Plan:
    """FG-CAM plan of a torchvision-layout ResNet (gigjax's extension, spec §6), read from the model's
    parameter tree so Bottleneck and BasicBlock stages both work: every BatchNorm folded into its conv,
    each residual add split between its branches, the stem pool under the winner rule; the base is the
    last stage. Blocks ``layerS/B`` have ``convN``/``bnN``/``reluN`` and an optional ``downsample/0``
    conv + ``downsample/1`` BN."""
    params = model.variables["params"]
    steps: list = [Conv("conv1", bn="bn1", first=True), Pass("relu"), Pool("maxpool")]
    stages = numbered(params, r"layer\d+")
    for stage in stages:
        blocks = numbered(params[stage], r"\d+")
        for b, block in enumerate(blocks):
            path = f"{stage}/{block}"
            main: list = []
            for n, conv in enumerate(numbered(params[stage][block], r"conv\d+")):
                if n:
                    main.append(Pass(f"{path}/relu{n}"))
                main.append(Conv(f"{path}/{conv}", bn=f"{path}/bn{conv[4:]}"))
            shortcut = ((Conv(f"{path}/downsample/0", bn=f"{path}/downsample/1"),)
                        if "downsample" in params[stage][block] else ())
            aliases = (stage,) if b == len(blocks) - 1 else ()
            steps.append(Residual(path, tuple(main), shortcut, aliases))
    return Plan(tuple(steps), base=stages[-1])
