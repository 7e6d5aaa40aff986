"""gradient and input_x_gradient against jax.grad of the model's logit taken directly (not through the
probe) on the toy CNN."""

import jax
import numpy as np
import pytest

import gigjax


@pytest.fixture(scope="module")
def grad_x(toy, toy_x):
    return np.asarray(jax.grad(lambda v: toy.logits(v)[:, 2].sum())(toy_x), np.float64)


@pytest.mark.parametrize("reduce, expected", [("max", lambda g, x: np.abs(g).max(-1)),
                                              ("sum", lambda g, x: np.abs(g).sum(-1))])
def test_gradient(toy, toy_x, raw, grad_x, reduce, expected):
    np.testing.assert_allclose(raw(toy, toy_x, "gradient", 2, channel_reduce=reduce),
                               expected(grad_x, toy_x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduce, expected", [("sum", lambda p: p.sum(-1)), ("abs_sum", lambda p: np.abs(p).sum(-1))])
def test_input_x_gradient(toy, toy_x, raw, grad_x, reduce, expected):
    np.testing.assert_allclose(raw(toy, toy_x, "input_x_gradient", 2, channel_reduce=reduce),
                               expected(np.asarray(toy_x, np.float64) * grad_x), rtol=1e-5, atol=1e-7)


def test_bad_reduction():
    with pytest.raises(gigjax.GigjaxError, match="channel_reduce"):
        gigjax.explainer("gradient", channel_reduce="abs_sum")
