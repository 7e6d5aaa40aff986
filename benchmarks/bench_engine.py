"""Benchmarks of the GIG-CAM engine (issue 3): four ratios, each measured in ONE run on ONE machine.

1. GIG-CAM cost at T steps ÷ (T × one probe pass at the same batch)         target ≤ 1.10
2. Guided IG per-image throughput at batch 8 ÷ PAIR-code/saliency GuidedIG  target ≥ 3
   (same Lite0, same jitted gradient function; PAIR walks one image at a time)
3. captum IntegratedGradients (50 steps, PyTorch Lite0) time ÷ our Integrated Grad-CAM (50 steps)
                                                                              target ≥ 1 (no slower)
4. GIG-CAM peak memory (XLA memory_analysis) at T = 256 ÷ at T = 32          target ≤ 1.10

Run (needs the ``bench`` extra: torch, efficientnet-lite-pytorch, captum, saliency)::

    python benchmarks/bench_engine.py            # full sizes (224², batch 8)
    python benchmarks/bench_engine.py --quick    # smoke run: small inputs and step counts

Timings are the best of ``--repeats`` warm runs (compilation excluded). PAIR's ``saliency`` 0.2.1 calls
``np.quantile(..., interpolation=)``, removed in NumPy 2: the script maps it to ``method=``.
"""

from __future__ import annotations

import argparse
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

import gigjax
from gigjax.methods import integrated as I


def best_time(fn, repeats: int) -> float:
    jax.block_until_ready(fn())  # warm-up (compiles)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def photos(model, size: int, batch: int) -> jax.Array:
    from skimage import data

    pool = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    x = model.preprocess([pool[i % len(pool)] for i in range(batch)])
    return x if size == 224 else jax.image.resize(x, (batch, size, size, 3), "bilinear")


def gigcam_vs_probe(model, x, steps: int, repeats: int) -> float:
    cls = jnp.argmax(model.logits(x), axis=-1)
    layers = (model.card.cam_layer,)
    gig = jax.jit(lambda m, x: I.gigcam_maps(m, x, cls, layers=layers, steps=steps))
    one = jax.jit(lambda m, x: gigjax.probe(m, x, cls, layers, input_gradient=True))
    t_gig = best_time(lambda: gig(model, x), repeats)
    t_probe = best_time(lambda: one(model, x), repeats)
    print(f"  GIG-CAM T={steps} batch {x.shape[0]}: {t_gig:.3f} s; one probe pass {t_probe:.4f} s")
    return t_gig / (steps * t_probe)


def guided_ig_vs_pair(model, x, steps: int, repeats: int) -> float:
    import saliency.core as saliency
    import saliency.core.guided_ig as pair_guided_ig

    quantile = np.quantile
    pair_guided_ig.np.quantile = lambda a, q, interpolation="linear", **kw: quantile(a, q, method=interpolation, **kw)
    cls = jnp.argmax(model.logits(x), axis=-1)
    ours = jax.jit(lambda m, x: I.guided_ig_attributions(m, x, cls, steps=steps))
    t_ours = best_time(lambda: ours(model, x), repeats) / x.shape[0]

    grad = jax.jit(lambda v, c: gigjax.probe(model, v, c).input_gradient)  # the same gradient function
    black = np.broadcast_to(np.asarray(model.black()), x.shape[1:])

    def pair_one(i):
        c = cls[i:i + 1]

        def call(batch, call_model_args=None, expected_keys=None):
            return {saliency.base.INPUT_OUTPUT_GRADIENTS: np.asarray(grad(jnp.asarray(batch, jnp.float32), c))}

        return saliency.GuidedIG().GetMask(np.asarray(x[i]), call, x_baseline=black, x_steps=steps)

    pair_one(0)  # warm-up
    start = time.perf_counter()
    for i in range(x.shape[0]):
        pair_one(i)
    t_pair = (time.perf_counter() - start) / x.shape[0]
    print(f"  Guided IG T={steps}: ours {t_ours:.3f} s/image at batch {x.shape[0]}, PAIR {t_pair:.3f} s/image")
    return t_pair / t_ours


def integrated_gradcam_vs_captum(model, x, steps: int, repeats: int) -> float:
    import torch
    from captum.attr import IntegratedGradients
    from timing import torch_lite0_model

    net = torch_lite0_model()
    tx = torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy())
    black = torch.from_numpy(np.broadcast_to(np.asarray(model.black()), x.shape).transpose(0, 3, 1, 2).copy())
    cls = int(jnp.argmax(model.logits(x[:1]), axis=-1)[0])
    ig = IntegratedGradients(net)

    def captum_run():
        return ig.attribute(tx, baselines=black, target=cls, n_steps=steps)

    captum_run()
    t_captum = min(_timed(captum_run) for _ in range(repeats))
    ours = jax.jit(lambda m, x: I.integrated_gradcam_maps(m, x, cls, steps=steps, batch_size=steps))
    t_ours = best_time(lambda: ours(model, x), repeats)
    print(f"  {steps} steps, batch {x.shape[0]}: captum IG {t_captum:.3f} s, our Integrated Grad-CAM {t_ours:.3f} s "
          f"(torch threads {torch.get_num_threads()})")
    return t_captum / t_ours


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def gigcam_memory(model, x, steps_pair=(32, 256)) -> float:
    cls = jnp.zeros((x.shape[0],), jnp.int32)
    peaks = []
    for steps in steps_pair:
        fn = jax.jit(lambda m, x: I.gigcam_maps(m, x, cls, steps=steps))
        stats = fn.lower(model, x).compile().memory_analysis()
        peak = stats.temp_size_in_bytes + stats.argument_size_in_bytes + stats.output_size_in_bytes
        peaks.append(peak)
        print(f"  GIG-CAM T={steps}: peak {peak / 2**20:.1f} MiB (temp {stats.temp_size_in_bytes / 2**20:.1f} MiB)")
    return peaks[1] / peaks[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 64² inputs, few steps")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    quick = args.quick
    repeats = args.repeats or (1 if quick else 3)
    size = 64 if quick else 224
    model = gigjax.load_model("efficientnet_lite0")
    print(f"gigjax engine benchmarks — {platform.node()}, {platform.processor() or platform.machine()}, "
          f"{jax.devices()[0].device_kind}, jax {jax.__version__}, {time.strftime('%Y-%m-%d %H:%M')}"
          f"{' (--quick)' if quick else ''}")
    results = []
    print("1. GIG-CAM cost / (T x probe pass)")
    results.append(("GIG-CAM cost / (T x probe)", gigcam_vs_probe(model, photos(model, size, 2 if quick else 8),
                                                                   8 if quick else 32, repeats), "<= 1.10"))
    print("2. Guided IG throughput vs PAIR GuidedIG")
    results.append(("Guided IG batch-8 speed-up vs PAIR", guided_ig_vs_pair(model, photos(model, size, 8),
                                                                           8 if quick else 32, repeats), ">= 3"))
    print("3. Integrated Grad-CAM vs captum IntegratedGradients")
    results.append(("captum IG time / Integrated Grad-CAM time",
                    integrated_gradcam_vs_captum(model, photos(model, size, 1), 50, repeats), ">= 1"))
    print("4. GIG-CAM peak memory")
    results.append(("GIG-CAM peak memory T=256 / T=32", gigcam_memory(model, photos(model, size, 1)), "<= 1.10"))
    print()
    for name, value, target in results:
        print(f"{name:45s} {value:8.3f}   target {target}")


if __name__ == "__main__":
    main()
