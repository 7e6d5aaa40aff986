"""ROAD speed: gigjax ``road_curve`` vs pytorch-grad-cam 1.5.7 ``ROADMostRelevantFirstAverage`` on
EfficientNet-Lite0 (same weights), in ONE run.

Command (gigjax's environment; the torch side runs in-process when torch, efficientnet-lite-pytorch and
grad-cam are importable, else under ``--reference-python``, an interpreter that has them)::

    cd benchmarks
    python metrics_vs_references.py [--quick] [--batch 2] [--runs 1] [--reference-python /path/to/python]

Both score the same ``--batch`` random 224×224 inputs and the same CAM-like maps (a 7×7 uniform grid
upsampled bilinearly, plus 1e-4 noise against ties) for class 0's softmax probability, removing the most
relevant q % for q in {10, …, 90} (``--quick``: {30, 70}) with noisy linear imputation (noise 0.01): gigjax
jit-compiles the whole batch (conjugate gradient on the device, one model call per percentile), pytorch-grad-
cam solves one sparse system per image and percentile with SciPy's ``spsolve`` and calls the model per
percentile. Times are per image after one untimed warm-up call (it compiles gigjax's); the ratio is
pytorch-grad-cam / gigjax (> 1: gigjax is faster).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

from timing import seconds_per_call, torch_lite0_model


def inputs(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(x (B, 224, 224, 3) float32 in [−1, 1], maps (B, 224, 224) float32 in [0, 1])."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch, 224, 224, 3)).astype(np.float32)
    grid = rng.uniform(0, 1, (batch, 7, 7))
    t = np.clip((np.arange(224) + 0.5) / 32.0 - 0.5, 0, 6)
    i0 = np.minimum(t.astype(int), 5)
    f = t - i0
    rows = grid[:, i0] * (1 - f)[None, :, None] + grid[:, i0 + 1] * f[None, :, None]
    maps = rows[:, :, i0] * (1 - f)[None, None, :] + rows[:, :, i0 + 1] * f[None, None, :]
    maps = maps + 1e-4 * rng.uniform(0, 1, maps.shape)
    return x, ((maps - maps.min()) / (maps.max() - maps.min())).astype(np.float32)


def ours(batch: int, percentiles, runs: int) -> float:
    import jax
    import jax.numpy as jnp

    import gigjax
    from gigjax.metrics import road_curve

    model = gigjax.load_model("efficientnet_lite0")
    x, maps = (jax.device_put(a) for a in inputs(batch))
    classes = jnp.zeros(batch, jnp.int32)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(0), i))(jnp.arange(batch))
    run = jax.jit(lambda m, x, maps: road_curve(m, x, maps, classes, keys, order="morf", percentiles=percentiles))
    return seconds_per_call(lambda: jax.block_until_ready(run(model, x, maps)), runs)


def theirs(batch: int, percentiles, runs: int) -> float:
    import torch
    from pytorch_grad_cam.metrics.road import ROADMostRelevantFirstAverage
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    x, maps = inputs(batch)
    model = torch_lite0_model()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    metric = ROADMostRelevantFirstAverage(percentiles=[100 - q for q in percentiles])  # removes q %
    targets = [ClassifierOutputSoftmaxTarget(0)] * batch
    return seconds_per_call(lambda: metric(xt, maps, targets, model), runs)


def reference_seconds(args, percentiles) -> float:
    try:
        import pytorch_grad_cam  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        command = [args.reference_python, __file__, "--side", "torch", "--batch", str(args.batch),
                   "--runs", str(args.runs)] + (["--quick"] if args.quick else [])
        return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["seconds"]
    return theirs(args.batch, percentiles, args.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 percentiles")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--reference-python", default=sys.executable,
                        help="interpreter with torch + grad-cam + efficientnet-lite-pytorch (default: this one)")
    parser.add_argument("--side", choices=("both", "torch"), default="both", help=argparse.SUPPRESS)
    args = parser.parse_args()
    percentiles = (30, 70) if args.quick else (10, 20, 30, 40, 50, 60, 70, 80, 90)
    if args.side == "torch":
        print(json.dumps({"seconds": theirs(args.batch, percentiles, args.runs)}))
        return
    import jax

    t_ours = ours(args.batch, percentiles, args.runs) / args.batch
    t_theirs = reference_seconds(args, percentiles) / args.batch
    print(f"device: jax {jax.default_backend()}; batch {args.batch}; {len(percentiles)} percentiles; "
          f"{args.runs} timed run(s) after warm-up")
    print(f"gigjax road_curve (MoRF)                    {t_ours:8.3f} s/image")
    print(f"pytorch-grad-cam ROADMostRelevantFirstAverage {t_theirs:8.3f} s/image")
    print(f"ratio pytorch-grad-cam / gigjax = {t_theirs / t_ours:.2f}  (> 1: gigjax is faster)")


if __name__ == "__main__":
    main()
