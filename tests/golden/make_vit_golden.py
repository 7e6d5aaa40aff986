"""Generates the ViT goldens once, with PyTorch: torchvision logits, tiny checkpoints, pytorch-grad-cam maps.

Run from the repository root with the reference environment (torch 2.14.1, torchvision 0.29.1,
grad-cam 1.5.7)::

    /work/refvenv/bin/python tests/golden/make_vit_golden.py

Writes (all small, committed):

* ``tests/golden/vit_random.npz``:
  - ``vit_b_16_logits`` (2, 1000): torchvision's ``vit_b_16()`` filled with
    :func:`numpy_weights.random_state_dict` ("vit_b_16", seed 0) on :func:`numpy_weights.input_batch`
    (seed 1, 2×3×224×224), ``eval()`` mode, float32;
  - ``tiny_logits`` (2, 5) and ``tiny_ln_1`` (2, 17, 16, the last block's ``ln_1`` output): the same
    for a ``VisionTransformer(**numpy_weights.VIT_TINY, num_classes=5)`` on a seed-1 2×3×32×32 batch;
  - ``tiny_64_logits`` (2, 5): the tiny ViT at twice its size, torchvision's way: a
    ``VisionTransformer(image_size=64, ...)`` loaded with ``interpolate_embeddings(64, 8, state)``
    (bicubic position embedding 4×4 → 8×8) on a seed-1 2×3×64×64 batch;
  - ``tiny_class`` (2,): image 0's top-1 class and image 1's lowest-scoring class (two different
    targets), and ``tiny_<method>`` (2, 32, 32): pytorch-grad-cam's
    GradCAM, GradCAM++, XGradCAM, LayerCAM and HiResCAM of that class at
    ``encoder.layers[-1].ln_1`` with the ViT ``reshape_transform`` of its tutorial (drop the class
    token, fold 16 patches into 4×4, channels first);
* ``tests/golden/checkpoints/vit_tiny.pth`` and ``vit_tiny_legacy.pth``: the tiny model's
  ``state_dict()`` saved by ``torch.save`` (zip format; legacy format), a real torchvision ViT pickle
  (with its MLPBlock version metadata) for the importer tests.

ViT-B/16's weights themselves (330 MB) are not stored: the tests regenerate them from the same seed
without torch.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
import torchvision
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torchvision.models.vision_transformer import interpolate_embeddings

import numpy_weights  # the torch-free generator next to this script

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHT_SEED, INPUT_SEED = 0, 1
TINY_CLASSES = 5
CAMS = {"gradcam": GradCAM, "gradcam_pp": GradCAMPlusPlus, "xgradcam": XGradCAM, "layercam": LayerCAM,
        "hirescam": HiResCAM}


def filled(config: dict, num_classes: int) -> torch.nn.Module:
    """A torchvision ViT of ``config`` filled with the seeded numpy weights (names checked first)."""
    model = torchvision.models.VisionTransformer(**config, num_classes=num_classes).eval()
    entries = numpy_weights.vit_entries(**config, num_classes=num_classes)
    if [(k, tuple(v.shape)) for k, v in model.state_dict().items()] != [(n, s) for n, s, _ in entries]:
        sys.exit(f"numpy_weights.vit_entries({config}) does not match torchvision's state dict")
    state = numpy_weights.state_dict_of(entries, WEIGHT_SEED)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()}, strict=True)
    return model


def report(name: str, logits: np.ndarray) -> None:
    print(f"{name}: logits std {logits.std():.3f}, max |logit| {np.abs(logits).max():.3f}, "
          f"top-1 {logits.argmax(1).tolist()}")


def vit_b_16_logits() -> np.ndarray:
    reference = torchvision.models.vit_b_16(weights=None)
    ours = numpy_weights.VIT_B_16
    assert (reference.image_size, reference.patch_size, reference.hidden_dim, reference.mlp_dim,
            len(reference.encoder.layers)) == (ours["image_size"], ours["patch_size"], ours["hidden_dim"],
                                                ours["mlp_dim"], ours["num_layers"])
    assert reference.encoder.layers[0].num_heads == ours["num_heads"]
    model = filled(ours, 1000)
    with torch.no_grad():
        logits = model(torch.from_numpy(numpy_weights.input_batch(INPUT_SEED))).numpy()
    report("vit_b_16", logits)
    return logits


def reshape_transform(tensor: torch.Tensor) -> torch.Tensor:
    """pytorch-grad-cam's ViT tutorial transform: (B, 1 + g², D) → (B, D, g, g), class token dropped."""
    g = int(round((tensor.shape[1] - 1) ** 0.5))
    return tensor[:, 1:, :].reshape(tensor.shape[0], g, g, tensor.shape[2]).permute(0, 3, 1, 2)


def tiny() -> dict[str, np.ndarray]:
    config = numpy_weights.VIT_TINY
    model = filled(config, TINY_CLASSES)
    x = torch.from_numpy(numpy_weights.input_batch(INPUT_SEED, size=config["image_size"]))
    recorded = {}
    layer = model.encoder.layers[-1].ln_1
    hook = layer.register_forward_hook(lambda module, args, out: recorded.__setitem__("ln_1", out.detach()))
    with torch.no_grad():
        logits = model(x).numpy()
    hook.remove()
    report("tiny", logits)
    classes = np.array([logits[0].argmax(), logits[1].argmin()])
    out = {"tiny_logits": logits, "tiny_ln_1": recorded["ln_1"].numpy(), "tiny_class": classes.astype(np.int64)}
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    for name, method in CAMS.items():
        with method(model=model, target_layers=[layer], reshape_transform=reshape_transform) as cam:
            out[f"tiny_{name}"] = cam(input_tensor=x, targets=targets).astype(np.float32)
    out["tiny_64_logits"] = twice_the_size(model, config)
    directory = os.path.join(HERE, "checkpoints")
    os.makedirs(directory, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(directory, "vit_tiny.pth"))
    torch.save(model.state_dict(), os.path.join(directory, "vit_tiny_legacy.pth"),
               _use_new_zipfile_serialization=False)
    return out


def twice_the_size(model: torch.nn.Module, config: dict) -> np.ndarray:
    size = 2 * config["image_size"]
    state = interpolate_embeddings(size, config["patch_size"], model.state_dict())
    bigger = torchvision.models.VisionTransformer(**{**config, "image_size": size}, num_classes=TINY_CLASSES).eval()
    bigger.load_state_dict(state, strict=True)
    with torch.no_grad():
        logits = bigger(torch.from_numpy(numpy_weights.input_batch(INPUT_SEED, size=size))).numpy()
    report("tiny at 2x", logits)
    return logits


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    out = {"vit_b_16_logits": vit_b_16_logits(), **tiny()}
    np.savez_compressed(os.path.join(HERE, "vit_random.npz"), weight_seed=WEIGHT_SEED, input_seed=INPUT_SEED,
                        torch_version=torch.__version__, torchvision_version=torchvision.__version__,
                        tiny_classes=TINY_CLASSES, **out)
    print("written to", HERE)


if __name__ == "__main__":
    main()
