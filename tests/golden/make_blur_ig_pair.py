"""Golden for the Blur IG parity test: PAIR-code/saliency's ``BlurIG`` given a gradient function built
from gigjax's EfficientNet-Lite0 (real weights, float32, jitted), produced ONCE.

Input as ``make_guided_ig_pair.py``: scikit-image's ``chelsea()`` preprocessed for the model at 224²,
then resized to 64×64 (the photo is not stored; the test rebuilds it). PAIR blurs in float64 with
``scipy.ndimage.gaussian_filter(mode="constant")`` and calls the gradient function on every blurred
image (cast to float32). Settings: max_sigma 50, grad_step 0.01 (PAIR's defaults), steps 20 (few, to
keep the golden quick), batch_size 1 (PAIR's default; its batched path weights a whole batch by the
last step's Δσ). Stored in ``blur_ig_pair.npz``: the class, a checksum of the input, the (64, 64, 3)
attribution and the settings.

Command (from the repository root, in an environment with gigjax, saliency and scikit-image)::

    pip install --target /tmp/sal saliency==0.2.1 --no-deps
    PYTHONPATH=/tmp/sal python tests/golden/make_blur_ig_pair.py
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

SIZE, STEPS, MAX_SIGMA, GRAD_STEP = 64, 20, 50.0, 0.01
OUT = pathlib.Path(__file__).with_name("blur_ig_pair.npz")


def golden_input(model, photo) -> jax.Array:
    """(1, 64, 64, 3): the photo preprocessed for the model at 224², then resized to 64² (antialiased)."""
    return jax.image.resize(model.preprocess(photo), (1, SIZE, SIZE, 3), method="bilinear", antialias=True)


def main() -> None:
    import saliency.core as saliency
    from skimage import data

    import gigjax

    model = gigjax.load_model("efficientnet_lite0")
    x = golden_input(model, data.chelsea())
    cls = int(jnp.argmax(model.logits(x)[0]))
    grad = jax.jit(jax.vmap(jax.grad(lambda v: model.logits(v[None].astype(jnp.float32))[0, cls])))

    def call_model_function(batch, call_model_args=None, expected_keys=None):
        return {saliency.base.INPUT_OUTPUT_GRADIENTS: np.asarray(grad(jnp.asarray(batch, jnp.float32)))}

    attribution = saliency.BlurIG().GetMask(np.asarray(x[0], np.float64), call_model_function, max_sigma=MAX_SIGMA,
                                            steps=STEPS, grad_step=GRAD_STEP, batch_size=1)
    np.savez_compressed(OUT, attribution=attribution.astype(np.float32), target=cls, input_sum=float(jnp.sum(x)),
                        steps=STEPS, max_sigma=MAX_SIGMA, grad_step=GRAD_STEP)
    print(f"wrote {OUT}: class {cls}, sum of attribution {attribution.sum():.6f}")


if __name__ == "__main__":
    main()
