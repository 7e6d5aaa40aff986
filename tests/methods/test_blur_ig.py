"""Blur IG against PAIR-code/saliency's ``BlurIG`` on the real Lite0 (golden made once by
tests/golden/make_blur_ig_pair.py with the same gradient function: gigjax's jitted Lite0 gradient),
≤ 1e-3 relative (measured 2e-8 with a float64 path; a float32 path gives 1.6e-3, not from the method:
the ReLU6 network's gradient jumps by up to 4 % when a blurred image moves by its float32 rounding,
2e-7); completeness on the toy CNN; errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.gaussian import gaussian_blur
from gigjax.methods.blur_ig import blur_ig_attributions

from golden_files import load_golden


def test_matches_pair_blur_ig_on_lite0(lite0, chelsea):
    golden = load_golden("blur_ig_pair.npz")
    size = golden["attribution"].shape[0]
    x = jax.image.resize(lite0.preprocess(chelsea), (1, size, size, 3), method="bilinear", antialias=True)
    assert abs(float(jnp.sum(x)) - float(golden["input_sum"])) < 1e-2
    with jax.enable_x64(True):  # the blur path in float64, as PAIR's scipy blur; the model sees float32
        ours = jax.jit(lambda m, v: blur_ig_attributions(
            m, v, int(golden["target"]), steps=int(golden["steps"]), max_sigma=float(golden["max_sigma"]),
            grad_step=float(golden["grad_step"]), batch_size=10))(lite0, jnp.asarray(x, jnp.float64))
        ours = np.asarray(ours[0], np.float64)
    reference = golden["attribution"].astype(np.float64)
    error = np.linalg.norm(ours - reference) / np.linalg.norm(reference)
    assert error <= 1e-3, error


def test_completeness_on_the_toy(toy, toy_x):
    attributions = jax.jit(lambda m, v: blur_ig_attributions(m, v, 2, steps=200, max_sigma=20.0))(toy, toy_x)
    score = lambda v: toy.logits(v)[:, 2]
    gap = score(toy_x) - score(gaussian_blur(toy_x, 20.0))
    np.testing.assert_allclose(attributions.sum(axis=(1, 2, 3)), gap, rtol=0.03, atol=0.01)


@pytest.mark.parametrize("options, message", [(dict(max_sigma=0), "max_sigma must be a positive number"),
                                              (dict(grad_step=-1), "grad_step"), (dict(steps=0), "steps")])
def test_bad_options(options, message):
    with pytest.raises(gigjax.GigjaxError, match=message):
        gigjax.explainer("blur_ig", **options)
