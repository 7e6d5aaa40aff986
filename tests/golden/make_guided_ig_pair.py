"""Golden for the Guided IG parity test: PAIR-code/saliency's ``GuidedIG`` on our JAX Lite0.

Two goldens, produced ONCE with the reference implementation (PyPI ``saliency`` 0.2.1, float64 path) walking one
image, given a gradient function built from gigjax's EfficientNet-Lite0 (real weights, jitted, in
**float64**: a float32 gradient's last bits depend on the XLA version, and the chaotic path amplifies
them — XLA 0.10 broke a float32 golden) on scikit-image's ``chelsea()`` photo resized to 64×64 (small, so the golden stays small). The photo
is not stored: the test rebuilds the same input from scikit-image. Stored in ``guided_ig_pair.npz``:
the class, a checksum of the input, the attribution (64, 64, 3) and the settings. T = 16 steps: the
path is chaotic on a ReLU6 network (see the test), so a short path keeps the comparison meaningful.

``guided_ig_pair_ties.npz``: PAIR's ``guided_ig_impl`` on a 40-feature toy function whose gradient
a_i (1 + [x_i > 0.3]), a_i ∈ {1, 2, 3}, has many exact ties (exercises ties at group thresholds).

Command (from the repository root, in an environment with gigjax, saliency and scikit-image)::

    python tests/golden/make_guided_ig_pair.py

``saliency`` 0.2.1 calls ``np.quantile(..., interpolation=...)``, a keyword NumPy 2 removed; the
script maps it to the identical ``method=`` keyword (nothing else of PAIR is touched).
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

SIZE = 64
STEPS = 16
FRACTION = 0.25
MAX_DIST = 0.02
OUT = pathlib.Path(__file__).with_name("guided_ig_pair.npz")
OUT_TIES = pathlib.Path(__file__).with_name("guided_ig_pair_ties.npz")


def golden_input(model, photo) -> jax.Array:
    """(1, 64, 64, 3): the photo preprocessed for the model at 224², then resized to 64² (antialiased)."""
    x = model.preprocess(photo)
    return jax.image.resize(x, (1, SIZE, SIZE, 3), method="bilinear", antialias=True)


def float64_model(model):
    """The same model with float64 variables (run under ``jax_enable_x64``)."""
    return model.replace(variables=jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), model.variables))


def make_ties_golden(pair_guided_ig) -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(1, 4, size=40).astype(np.float64)
    x, baseline, kink = rng.normal(size=40), np.zeros(40), 0.3
    steps, fraction, max_dist = 40, 0.25, 0.1
    attribution = pair_guided_ig.guided_ig_impl(x, baseline, lambda v: a * (1 + (v > kink)), steps=steps,
                                                fraction=fraction, max_dist=max_dist)
    np.savez_compressed(OUT_TIES, a=a, x=x, baseline=baseline, kink=kink, steps=steps, fraction=fraction,
                        max_dist=max_dist, attribution=attribution)
    print(f"wrote {OUT_TIES}")


def main() -> None:
    import saliency.core as saliency
    import saliency.core.guided_ig as pair_guided_ig
    from skimage import data

    import gigjax

    quantile = np.quantile
    pair_guided_ig.np.quantile = lambda a, q, interpolation="linear", **kw: quantile(a, q, method=interpolation, **kw)
    make_ties_golden(pair_guided_ig)

    model = gigjax.load_model("efficientnet_lite0")
    x = golden_input(model, data.chelsea())
    cls = int(jnp.argmax(model.logits(x)[0]))
    jax.config.update("jax_enable_x64", True)
    model = float64_model(model)
    grad = jax.jit(jax.grad(lambda v: model.logits(v[None])[0, cls]))

    def call_model_function(batch, call_model_args=None, expected_keys=None):
        return {saliency.base.INPUT_OUTPUT_GRADIENTS: np.asarray(grad(batch[0]))[None]}

    baseline = np.broadcast_to(np.asarray(model.black()), x.shape[1:])
    attribution = saliency.GuidedIG().GetMask(np.asarray(x[0], np.float64), call_model_function,
                                              x_baseline=np.asarray(baseline, np.float64), x_steps=STEPS,
                                              fraction=FRACTION, max_dist=MAX_DIST)
    np.savez_compressed(OUT, attribution=attribution, target=cls,
                        input_sum=float(jnp.sum(x)), steps=STEPS, fraction=FRACTION, max_dist=MAX_DIST)
    print(f"wrote {OUT}: class {cls}, sum of attribution {attribution.sum():.6f}")


if __name__ == "__main__":
    main()
