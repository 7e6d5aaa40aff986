"""Reference Infidelity and Max-Sensitivity from captum 0.9, produced ONCE and stored in ``captum_metrics.npz``.

Command (from the repository root, with the shared reference environment)::

    /work/refvenv/bin/python tests/golden/make_captum_metric_golden.py

Both sides get the SAME perturbations, drawn here with ``numpy.random.RandomState(7)`` and stored, so the
test checks the formulas, not the random draws. The case is small and closed form, so the test can rebuild
it in jax without torch:

* input ``x`` (2, 6, 6, 3) NHWC; model: ``softmax(x.reshape(B, −1) @ w + b)`` with ``w`` (108, 4), ``b`` (4,);
  explained classes ``classes`` (2,);
* Infidelity: attributions ``maps`` (2, 6, 6) broadcast over the channels (captum gets them expanded to
  (2, 6, 6, 3)); perturbations ``infidelity_noise`` (5, 2, 6, 6, 3) (sample-major; captum's perturb_func
  returns them in its ``repeat_interleave`` order, image-major), perturbed input ``x − I``;
  ``captum.metrics.infidelity(..., normalize=True)`` → ``infidelity`` (2,);
* Max-Sensitivity: explanation ``E(x)[b, h, w] = (Σ_c x[b, h, w, c] · v[c])²`` with ``v`` (3,);
  perturbations ``sensitivity_noise`` (5, 2, 6, 6, 3) uniform in [−0.02, 0.02], perturbed input ``x + δ``;
  ``captum.metrics.sensitivity_max(..., norm_ord="fro")`` → ``sensitivity`` (2,).
"""

from __future__ import annotations

import os

import numpy as np
import torch
from captum.metrics import infidelity, sensitivity_max

HERE = os.path.dirname(os.path.abspath(__file__))
B, N, SHAPE = 2, 5, (6, 6, 3)


def image_major(noise: np.ndarray) -> torch.Tensor:
    """(N, B, …) sample-major → (B·N, …) in captum's repeat_interleave order."""
    return torch.from_numpy(np.swapaxes(noise, 0, 1).reshape(B * N, *SHAPE).copy())


def main() -> None:
    rng = np.random.RandomState(7)
    x = rng.normal(0, 1, (B, *SHAPE)).astype(np.float32)
    w = (0.2 * rng.normal(0, 1, (int(np.prod(SHAPE)), 4))).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    v = rng.normal(0, 1, 3).astype(np.float32)
    classes = np.asarray([1, 3])
    maps = rng.uniform(0, 1, (B, *SHAPE[:2])).astype(np.float32)
    infidelity_noise = rng.normal(0, 0.1, (N, B, *SHAPE)).astype(np.float32)
    sensitivity_noise = rng.uniform(-0.02, 0.02, (N, B, *SHAPE)).astype(np.float32)

    tw, tb, tv = torch.from_numpy(w), torch.from_numpy(b), torch.from_numpy(v)

    def forward(inputs):
        return torch.softmax(inputs.reshape(inputs.shape[0], -1) @ tw + tb, dim=-1)

    def perturb_infidelity(inputs):
        noise = image_major(infidelity_noise)
        return noise, inputs - noise

    def perturb_sensitivity(inputs, radius):
        return inputs + image_major(sensitivity_noise)

    def explanation(inputs):
        if isinstance(inputs, tuple):   # captum's first call passes (x,) and iterates over what comes back
            return ((inputs[0] * tv).sum(dim=-1) ** 2,)
        return (inputs * tv).sum(dim=-1) ** 2

    tx = torch.from_numpy(x)
    attributions = torch.from_numpy(np.repeat(maps[..., None], SHAPE[2], axis=-1))
    infid = infidelity(forward, perturb_infidelity, tx, attributions, target=torch.from_numpy(classes),
                       n_perturb_samples=N, normalize=True)
    sens = sensitivity_max(explanation, tx, perturb_func=perturb_sensitivity, perturb_radius=0.02,
                           n_perturb_samples=N, norm_ord="fro")
    out = dict(x=x, w=w, b=b, v=v, classes=classes, maps=maps, infidelity_noise=infidelity_noise,
               sensitivity_noise=sensitivity_noise, infidelity=infid.numpy().astype(np.float32),
               sensitivity=sens.numpy().astype(np.float32))
    np.savez_compressed(os.path.join(HERE, "captum_metrics.npz"), **out)
    print("infidelity", out["infidelity"], "sensitivity", out["sensitivity"])


if __name__ == "__main__":
    main()
