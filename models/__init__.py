"""gigjax's model zoo (installed as ``gigjax.models``): pure Flax classifiers with real weights.

``load_model(name, weights=None)`` returns a :class:`Model` (module + variables + card). Architectures:
``efficientnet_lite0`` (real ImageNet-1k weights embedded, the default), ``resnet50``, ``vgg16`` and
``vit_b_16`` (torchvision layout; pass a torchvision checkpoint).
"""

from gigjax.models.card import ModelCard, imagenet_class_names
from gigjax.models.convert import WeightMismatchError
from gigjax.models.model import Model
from gigjax.models.torch_checkpoint import CheckpointError, load_state_dict
from gigjax.models.zoo import available_models, load_model, load_variables, register_architecture
from gigjax.models import architectures as _architectures  # noqa: F401  (fills the architecture table)

__all__ = ["Model", "ModelCard", "CheckpointError", "WeightMismatchError", "available_models", "load_model",
           "load_variables", "load_state_dict", "imagenet_class_names", "register_architecture"]
