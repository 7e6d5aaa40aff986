"""gigjax/methods/ablationcam.py: closed form behind GAP+FC, brute force elsewhere, chunking."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax import surgery


def test_closed_form_at_the_gap_layer(toy, toy_x, probe_np, raw):
    """Zeroing channel k behind GAP+FC lowers y_c by W_kc·mean(A_k): w_k = W_kc·mean(A_k)/y_c."""
    a, _, logits, classes = probe_np(toy, toy_x, None, "features")
    kernel = np.asarray(toy.variables["params"]["fc"]["kernel"], np.float64)
    y = logits[np.arange(3), classes]
    w = kernel[:, classes].T * a.mean(axis=(1, 2)) / y[:, None]
    np.testing.assert_allclose(raw(toy, toy_x, "ablationcam", batch_size=5), np.einsum("bhwk,bk->bhw", a, w),
                               rtol=1e-4, atol=1e-6)


def test_matches_brute_force_at_an_inner_layer(toy, toy_x, probe_np, raw):
    a, _, logits, classes = probe_np(toy, toy_x, 2, "conv2")

    @jax.jit
    def ablated_scores(x):
        def one(k):
            keep = 1.0 - jax.nn.one_hot(k, 8)
            out, _ = surgery.forward(toy, x, edit={"conv2": lambda v: v * keep})
            return out[:, 2]
        return jax.vmap(one)(jnp.arange(8)).T  # (B, K)

    y = logits[:, 2:3]
    w = (y - np.asarray(ablated_scores(toy_x), np.float64)) / y
    np.testing.assert_allclose(raw(toy, toy_x, "ablationcam", 2, layer="conv2", batch_size=3),
                               np.einsum("bhwk,bk->bhw", a, w), rtol=1e-4, atol=1e-6)


def test_errors():
    with pytest.raises(gigjax.GigjaxError, match="batch_size"):
        gigjax.explainer("ablationcam", batch_size=-1)
