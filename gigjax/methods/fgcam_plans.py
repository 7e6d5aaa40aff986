"""FG-CAM relevance plans (:class:`gigjax.methods.fgcam.Plan`) for the zoo's architectures.

* :func:`vgg_plan` / :func:`sequential_plan`: a torchvision-style ``Sequential`` of convs, ReLUs,
  BatchNorms and max-pools (VGG; the official FG-CAM rules: BatchNorm passed through, not folded).
* :func:`resnet_plan`: torchvision ResNets (gigjax's extension, spec §6): every BatchNorm folded into
  its conv, each residual add split between its branches, the stem pool under the winner rule.
  Read from the model's parameter tree, so Bottleneck and BasicBlock stages both work.
* :func:`lite0_plan`: EfficientNet-Lite0 (gigjax's extension): the ResNet rules, ReLU6 passed through,
  depthwise convs under the conv rule; the base is the 7×7×1280 ``head``. Not conservative in practice:
  a depthwise unit sees only 9 inputs of one channel, and where all its positive contributions vanish
  but the folded BN bias still activates it, its relevance has no input to go to and is dropped (on
  ``chelsea`` about two thirds of Σ I is lost in ``blocks_15``). VGG16 and ResNet50 keep Σ I.
"""

from __future__ import annotations

import re
from typing import Sequence

from gigjax.errors import GigjaxError
from gigjax.methods.fgcam import Conv, Pass, Plan, Pool, Residual, register_plan
from gigjax.models import Model
from gigjax.probe import list_layers

PASS_KINDS = ("relu", "relu6", "bn", "batchnorm", "dropout")


def sequential_plan(kinds: Sequence[str], prefix: str = "features") -> Plan:
    """Plan for ``prefix/0 … prefix/N`` with ``kinds[i]`` one of ``"conv"``, ``"maxpool"`` or a
    pass-through kind (``"relu"``, ``"bn"``, ``"dropout"``); the base is the last entry (VGG: pool5)."""
    steps, seen_conv = [], False
    for i, kind in enumerate(kinds):
        path = f"{prefix}/{i}"
        if kind == "conv":
            steps.append(Conv(path, first=not seen_conv))
            seen_conv = True
        elif kind == "maxpool":
            steps.append(Pool(path))
        elif kind in PASS_KINDS:
            steps.append(Pass(path))
        else:
            raise GigjaxError(f"unknown layer kind {kind!r} at {path}")
    return Plan(tuple(steps), base=f"{prefix}/{len(kinds) - 1}")


def vgg_plan(model: Model, prefix: str = "features") -> Plan:
    """Plan for a torchvision-layout VGG read off the model: each ``features/i`` with a conv kernel is a
    conv, one that changes the spatial size is a max-pool, any other (ReLU, BatchNorm) passes through."""
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


def _numbered(tree, pattern: str) -> list[str]:
    names = [k for k in tree if re.fullmatch(pattern, k)]
    return sorted(names, key=lambda k: int(re.sub(r"\D", "", k) or 0))


def resnet_plan(model: Model) -> Plan:
    """Plan for a torchvision-layout ResNet (``conv1 bn1 relu maxpool layer1..4``; blocks ``layerS/B`` with
    ``convN``/``bnN``/``reluN`` and an optional ``downsample/0`` conv + ``downsample/1`` BN)."""
    params = model.variables["params"]
    steps: list = [Conv("conv1", bn="bn1", first=True), Pass("relu"), Pool("maxpool")]
    stages = _numbered(params, r"layer\d+")
    for stage in stages:
        blocks = _numbered(params[stage], r"\d+")
        for b, block in enumerate(blocks):
            path = f"{stage}/{block}"
            convs = _numbered(params[stage][block], r"conv\d+")
            main: list = []
            for n, conv in enumerate(convs):
                if n:
                    main.append(Pass(f"{path}/relu{n}"))
                main.append(Conv(f"{path}/{conv}", bn=f"{path}/bn{conv[4:]}"))
            shortcut = ((Conv(f"{path}/downsample/0", bn=f"{path}/downsample/1"),)
                        if "downsample" in params[stage][block] else ())
            aliases = (stage,) if b == len(blocks) - 1 else ()
            steps.append(Residual(path, tuple(main), shortcut, aliases))
    return Plan(tuple(steps), base=stages[-1])


def lite0_plan(model: Model) -> Plan:
    """Plan for :class:`gigjax.models.efficientnet_lite.EfficientNetLite0`, base ``head``."""
    from gigjax.models.efficientnet_lite import block_configs

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


register_plan("vgg16", vgg_plan)
register_plan("resnet50", resnet_plan)
register_plan("efficientnet_lite0", lite0_plan)
