"""The anchors' standard methods (issue 13): gigjax vs each reference library, in ONE run, same model
(EfficientNet-Lite0, the same weights on both sides), same machine, one 224×224 image.

Command (an environment with gigjax and the ``bench`` extra: torch, efficientnet-lite-pytorch, grad-cam,
captum, saliency, scikit-image)::

    python benchmarks/anchors_vs_references.py [--quick] [--runs 2]

Rows (reference time ÷ gigjax time; > 1: gigjax is faster):

* EigenCAM at ``head/bn`` ↔ ``_bn1``: pytorch-grad-cam ``EigenCAM`` (PyTorch Lite0);
* SmoothGrad of the vanilla gradient, ``--samples`` noisy copies: captum ``NoiseTunnel(Saliency)``
  (PyTorch Lite0);
* Occlusion, 32×32 windows, stride 16: captum ``Occlusion`` (PyTorch Lite0), ``--chunk`` windows per call;
* Blur IG, ``--steps`` steps: PAIR ``BlurIG`` given gigjax's jitted Lite0 gradient (so the ratio is the
  cost of PAIR's host-side blur and loop), batches of ``--chunk`` on both sides;
* XRAI (segmentation on the host on both sides; IG base of ``--steps`` steps per baseline): PAIR ``XRAI``
  given the same jitted gradient.

RISE has no reference here (xplique needs TensorFlow); its own time is printed. ``--quick``: fewer
steps and samples.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from timing import seconds_per_call, torch_lite0

LAYER = "head/bn"


def photo() -> np.ndarray:
    from skimage import data

    return (data.chelsea()[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None]


def gigjax_time(model, x, method, runs, **options) -> float:
    import gigjax

    return seconds_per_call(lambda: jax.block_until_ready(gigjax.explain(model, x, method, 0, **options)), runs)


def pair_gradient(model, cls):
    """PAIR's call_model_function over gigjax's jitted, batched Lite0 input gradient."""
    import saliency.core as saliency

    grad = jax.jit(jax.vmap(jax.grad(lambda v: model.logits(v[None].astype(jnp.float32))[0, cls])))

    def call(batch, call_model_args=None, expected_keys=None):
        return {saliency.base.INPUT_OUTPUT_GRADIENTS: np.asarray(grad(jnp.asarray(batch, jnp.float32)))}

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=16)
    parser.add_argument("--masks", type=int, default=500)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.samples, args.masks, args.runs = 4, 2, 64, 1
    import saliency.core as saliency
    import torch
    from captum.attr import NoiseTunnel, Occlusion, Saliency
    from pytorch_grad_cam import EigenCAM

    import gigjax

    model = gigjax.load_model("efficientnet_lite0")
    x = photo()
    cls = 0
    tmodel, tx = torch_lite0(x)
    rows = []

    def row(name, ours, theirs, reference):
        rows.append((name, ours, theirs, reference))
        print(f"{name:34s} gigjax {ours:8.3f} s   {reference:34s} {theirs:8.3f} s   ratio {theirs / ours:6.2f}",
              flush=True)

    ours = gigjax_time(model, x, "eigencam", args.runs, layer=LAYER)
    with EigenCAM(model=tmodel, target_layers=[tmodel._bn1]) as cam:
        theirs = seconds_per_call(lambda: cam(input_tensor=tx, targets=None), args.runs)
    row("EigenCAM", ours, theirs, "pytorch-grad-cam EigenCAM")

    ours = gigjax_time(model, x, "gradient", args.runs, smooth="smoothgrad", smooth_samples=args.samples,
                       channel_reduce="max")
    tunnel = NoiseTunnel(Saliency(tmodel))
    stdev = 0.15 * float(tx.max() - tx.min())
    theirs = seconds_per_call(lambda: tunnel.attribute(tx, nt_type="smoothgrad", nt_samples=args.samples,
                                                       nt_samples_batch_size=1, stdevs=stdev, target=cls), args.runs)
    row(f"SmoothGrad ({args.samples} samples)", ours, theirs, "captum NoiseTunnel(Saliency)")

    ours = gigjax_time(model, x, "occlusion", args.runs, batch_size=args.chunk, baseline="zero")
    occlusion = Occlusion(tmodel)
    with torch.no_grad():
        theirs = seconds_per_call(lambda: occlusion.attribute(tx, sliding_window_shapes=(3, 32, 32),
                                                              strides=(3, 16, 16), baselines=0.0, target=cls,
                                                              perturbations_per_eval=args.chunk), args.runs)
    row("Occlusion (32×32, stride 16)", ours, theirs, "captum Occlusion")

    call = pair_gradient(model, cls)
    ours = gigjax_time(model, x, "blur_ig", args.runs, steps=args.steps, batch_size=args.chunk)
    theirs = seconds_per_call(lambda: saliency.BlurIG().GetMask(x[0], call, steps=args.steps,
                                                                batch_size=args.chunk), args.runs)
    row(f"Blur IG ({args.steps} steps)", ours, theirs, "PAIR BlurIG (same jitted gradient)")

    ours = gigjax_time(model, x, "xrai", 1, steps=args.steps, batch_size=args.chunk)
    params = saliency.XRAIParameters(steps=args.steps)
    theirs = seconds_per_call(lambda: saliency.XRAI().GetMask(x[0], call, batch_size=args.chunk,
                                                              extra_parameters=params), 1)
    row(f"XRAI (IG {args.steps} steps)", ours, theirs, "PAIR XRAI (same jitted gradient)")

    ours = gigjax_time(model, x, "rise", 1, masks=args.masks, batch_size=args.chunk)
    print(f"{'RISE (' + str(args.masks) + ' masks)':34s} gigjax {ours:8.3f} s   (no reference installed)")
    print(f"device: jax {jax.default_backend()}, torch {torch.__version__} with {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
