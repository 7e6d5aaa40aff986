"""Grad-CAM speed: gigjax vs pytorch-grad-cam 1.5.7 on EfficientNet-Lite0 (same weights), in ONE run.

Command (an environment with gigjax and the ``bench`` extra: torch, efficientnet-lite-pytorch, grad-cam)::

    python benchmarks/gradcam_vs_pytorch_grad_cam.py [--quick] [--batch 8] [--runs 10]

Both explain a batch of ``--batch`` random 224×224 inputs at the same layer (``head/bn`` ↔ ``_bn1``, the
7×7×1280 head before its ReLU6), for the predicted classes, and return maps at 224×224:
gigjax's ``explain`` (one jit-compiled forward+backward, maps stay on the device) and
``pytorch_grad_cam.GradCAM`` (forward+backward hooks, numpy post-processing, cv2 resize). Times are
per image after warm-up; the ratio is torch / gigjax (> 1: gigjax is faster). Both run on the CPU
(JAX's default device is reported; torch runs on CUDA when available and JAX on a GPU).
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from timing import seconds_per_call, torch_layer, torch_lite0

LAYER = "head/bn"


def ours(x: np.ndarray, runs: int) -> float:
    import gigjax

    model = gigjax.load_model("efficientnet_lite0")
    xj = jax.device_put(x)
    return seconds_per_call(lambda: jax.block_until_ready(gigjax.explain(model, xj, "gradcam", layer=LAYER)), runs)


def theirs(x: np.ndarray, runs: int) -> float:
    from pytorch_grad_cam import GradCAM

    model, xt = torch_lite0(x)
    with GradCAM(model=model, target_layers=[torch_layer(model, LAYER)]) as cam:
        return seconds_per_call(lambda: cam(input_tensor=xt, targets=None), runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 timed runs")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    x = np.random.default_rng(0).uniform(-1, 1, (args.batch, 224, 224, 3)).astype(np.float32)
    t_ours = ours(x, runs) / args.batch
    t_theirs = theirs(x, runs) / args.batch
    print(f"device: jax {jax.default_backend()}; batch {args.batch}; {runs} timed runs after warm-up")
    print(f"gigjax Grad-CAM            {1e3 * t_ours:8.2f} ms/image")
    print(f"pytorch-grad-cam GradCAM   {1e3 * t_theirs:8.2f} ms/image")
    print(f"ratio pytorch-grad-cam / gigjax = {t_theirs / t_ours:.2f}  (> 1: gigjax is faster)")


if __name__ == "__main__":
    main()
