"""gigjax: GIG-CAM+M and the CAM family as pure, jit-compiled JAX transforms.

Quick start::

    import gigjax
    model = gigjax.load_model()                        # EfficientNet-Lite0, real ImageNet weights
    x = model.preprocess(photo)                        # uint8 (H, W, 3) → (1, 224, 224, 3)
    maps = gigjax.explain(model, x, method="gradcam")  # (1, 224, 224) jax.Array in [0, 1]
"""

from gigjax.errors import GigjaxError
from gigjax.models import (CheckpointError, Model, ModelCard, WeightMismatchError, available_models,
                           load_model)
from gigjax.probe import ProbeResult, list_layers, probe, resolve_layers
from gigjax.options import Option
from gigjax.registry import Method, available_methods, describe, get_method, register
from gigjax.targets import target_scores
from gigjax.tokens import tokens_to_grid
from gigjax.explain import explain, explainer
from gigjax import methods as _methods  # noqa: F401  (fills the registry)
from gigjax.methods.integrated import (completeness_error, guided_ig_attributions,
                                       integrated_gradients_attributions)

__version__ = "0.1.0"

__all__ = ["completeness_error", "guided_ig_attributions", "integrated_gradients_attributions",
           "GigjaxError", "CheckpointError", "WeightMismatchError", "Model", "ModelCard", "ProbeResult",
           "Method", "Option", "available_methods", "available_models", "describe", "explain", "explainer",
           "get_method", "list_layers", "load_model", "probe", "register", "resolve_layers", "target_scores",
           "tokens_to_grid"]
