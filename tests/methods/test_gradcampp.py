"""gigjax/methods/gradcampp.py against the formula of spec §2 written in numpy."""

import numpy as np


def gradcampp_reference(a, g):
    g2, g3 = g ** 2, g ** 3
    s = a.sum(axis=(1, 2), keepdims=True)
    alpha = np.where(g != 0, g2 / (2 * g2 + s * g3 + 1e-6), 0.0)
    w = (alpha * np.maximum(g, 0)).sum(axis=(1, 2))
    return np.einsum("bhwk,bk->bhw", a, w)


def test_matches_the_formula(toy, toy_x, probe_np, raw):
    for layer in ("features", "conv2"):
        a, g, _, _ = probe_np(toy, toy_x, 2, layer)
        np.testing.assert_allclose(raw(toy, toy_x, "gradcam_pp", 2, layer=layer), gradcampp_reference(a, g),
                                   rtol=1e-4, atol=1e-6)


def test_zero_gradient_gives_zero_weight():
    import jax.numpy as jnp
    from gigjax.methods.gradcampp import gradcampp_weights

    a = jnp.ones((1, 2, 2, 2))
    g = jnp.zeros((1, 2, 2, 2)).at[0, 0, 0, 1].set(0.5)
    w = gradcampp_weights(a, g)
    assert float(w[0, 0]) == 0.0 and float(w[0, 1]) > 0 and bool(jnp.all(jnp.isfinite(w)))
