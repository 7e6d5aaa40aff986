"""Score-CAM speed and memory: gigjax vs pytorch-grad-cam 1.5.7 on EfficientNet-Lite0, in ONE run.

Command (an environment with gigjax and the ``bench`` extra: torch, efficientnet-lite-pytorch, grad-cam)::

    python benchmarks/scorecam_vs_pytorch_grad_cam.py [--quick] [--batch-size 64]

One 224×224 image, explained at Lite0's 1280-channel head (``head/bn`` ↔ ``_bn1``): 1280 masked forward
passes, ``--batch-size`` at a time on both sides (gigjax: one jit-compiled ``lax.map`` over chunks, the
``pytorch_grad_cam`` variant so the work is identical; pytorch-grad-cam: ``ScoreCAM`` with
``cam.batch_size``). ``--quick`` uses ``blocks_15/project/bn`` (320 channels) instead.

Memory: XLA's ``compile().memory_analysis()`` of the compiled explainer at two chunk sizes shows that
the temporary memory follows the chunk size, not the channel count (K·H·W·C masked copies of the input
would take 1280·224·224·3·4 B = 770 MB).
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from timing import seconds_per_call, torch_layer, torch_lite0


def ours(x: np.ndarray, layer: str, batch_size: int, runs: int) -> float:
    import gigjax

    model = gigjax.load_model("efficientnet_lite0")
    xj = jax.device_put(x)
    fn = lambda: jax.block_until_ready(gigjax.explain(model, xj, "scorecam", layer=layer, batch_size=batch_size,
                                                      variant="pytorch_grad_cam"))
    return seconds_per_call(fn, runs)


def temp_bytes(x: np.ndarray, layer: str, batch_size: int) -> int:
    import gigjax

    model = gigjax.load_model("efficientnet_lite0")
    fn = jax.jit(gigjax.explainer("scorecam", layer=layer, batch_size=batch_size, variant="pytorch_grad_cam"))
    return fn.lower(model, x).compile().memory_analysis().temp_size_in_bytes


def theirs(x: np.ndarray, layer: str, batch_size: int, runs: int) -> float:
    from pytorch_grad_cam import ScoreCAM

    model, xt = torch_lite0(x)
    with ScoreCAM(model=model, target_layers=[torch_layer(model, layer)]) as cam:
        cam.batch_size = batch_size
        return seconds_per_call(lambda: cam(input_tensor=xt, targets=None), runs, warmup=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on a 320-channel layer")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    layer = "blocks_15/project/bn" if args.quick else "head/bn"
    runs = 1 if args.quick else args.runs
    x = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    t_ours = ours(x, layer, args.batch_size, runs)
    t_theirs = theirs(x, layer, args.batch_size, 1)
    small = max(1, args.batch_size // 4)
    mem = {bs: temp_bytes(x, layer, bs) for bs in (small, args.batch_size)}
    print(f"device: jax {jax.default_backend()}; layer {layer}; chunks of {args.batch_size} masked inputs")
    print(f"gigjax Score-CAM             {t_ours:8.2f} s/image ({runs} runs after warm-up)")
    print(f"pytorch-grad-cam ScoreCAM    {t_theirs:8.2f} s/image (1 run)")
    print(f"ratio pytorch-grad-cam / gigjax = {t_theirs / t_ours:.2f}  (> 1: gigjax is faster)")
    for bs, b in mem.items():
        print(f"XLA temporary memory, batch_size {bs:4d}: {b / 2**20:8.1f} MiB")
    channels = 320 if args.quick else 1280
    print(f"temporary memory ratio {args.batch_size}/{small}: {mem[args.batch_size] / mem[small]:.2f} "
          f"(all {channels} masked copies at once would need {x[0].size * 4 * channels / 2**20:.0f} MiB of inputs alone)")


if __name__ == "__main__":
    main()
