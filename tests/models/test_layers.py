"""models/layers.py against references: XLA's convolution, TensorFlow's 'SAME' rule, and
PyTorch's pooling (tests/golden/torch_ops.npz, written by tests/golden/make_torchvision_golden.py)."""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax.models.layers import (AdaptiveAvgPool2d, Conv2d, MaxPool2d, ReLU, adaptive_pool_matrix, flatten_nchw,
                                  tf_same_padding)

from gradient_checks import assert_same_outputs_and_grads, with_grads


def tf_documented_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's documented rule (tf.nn convolution guide), written independently of ours."""
    total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("kernel", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_tf_same_padding_follows_tensorflow_rule(kernel, stride):
    for size in range(1, 40):
        want = tf_documented_same_padding(size, kernel, stride)
        assert tf_same_padding(size, kernel, stride) == want, (size, kernel, stride)
        # XLA's 'SAME' (what TensorFlow lowers to) agrees too.
        assert tuple(jax.lax.padtype_to_pads((size,), (kernel,), (stride,), "SAME")[0]) == want


def test_tf_same_padding_is_asymmetric_on_even_stride2_inputs():
    assert tf_same_padding(224, 3, 2) == (0, 1)  # why Flax's 'SAME' is never confused with torch's pad=1
    assert tf_same_padding(112, 5, 2) == (1, 2)


def nhwc(x: np.ndarray) -> np.ndarray:
    return np.transpose(x, (0, 2, 3, 1))


@pytest.mark.parametrize("kernel,stride,padding", [(1, 1, 0), (1, 2, 0), (1, 2, "tf_same"), (1, 1, 1), (3, 2, 1),
                                                    (3, 2, "tf_same"), (7, 2, 3)])
def test_conv2d_matches_lax_convolution(kernel, stride, padding):
    """Including the 1×1 convolutions computed as matrix products, forward and backward."""
    rng = np.random.RandomState(kernel + stride)
    x = rng.standard_normal((2, 11, 10, 4)).astype(np.float32)
    w = rng.standard_normal((kernel, kernel, 4, 5)).astype(np.float32)
    if padding == "tf_same":
        pads = tuple(tf_same_padding(n, kernel, stride) for n in x.shape[1:3])
    else:
        pads = ((padding, padding), (padding, padding))
    conv = Conv2d(5, kernel, stride, padding)

    def ours(x, w):
        return conv.apply({"params": {"kernel": w}}, x)

    def reference(x, w):
        return jax.lax.conv_general_dilated(x, w, (stride, stride), pads, dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                            precision=jax.lax.Precision.HIGHEST)

    cotangent = rng.standard_normal(jax.eval_shape(reference, x, w).shape).astype(np.float32)
    got, want = jax.jit(lambda *a: (with_grads(ours)(*a), with_grads(reference)(*a)))(x, w, cotangent)
    assert_same_outputs_and_grads(got, want)


@pytest.mark.parametrize("case", ["adaptive_10x10_to_7x7", "adaptive_13x9_to_7x7", "adaptive_14x14_to_7x7",
                                  "adaptive_5x6_to_3x4"])
def test_adaptive_avg_pool_matches_torch(torch_ops, case):
    x, want = nhwc(torch_ops[case + "_in"]), nhwc(torch_ops[case + "_out"])
    pool = AdaptiveAvgPool2d(want.shape[1:3])
    got = jax.jit(lambda x: pool.apply({}, x))(x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_adaptive_pool_matrix_rows_average():
    m = adaptive_pool_matrix(10, 7)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-6)
    assert (m[:, 0] > 0).sum() == 1 and (m[:, -1] > 0).sum() == 1  # first and last bins touch the edges
    np.testing.assert_array_equal(adaptive_pool_matrix(14, 7) > 0, np.kron(np.eye(7), np.ones((1, 2))) > 0)


@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 1), (2, 2, 0)])
def test_max_pool_matches_torch(torch_ops, kernel, stride, padding):
    x = nhwc(torch_ops["maxpool_in"])  # all negative: a zero-padded pool would return 0 at the border
    want = nhwc(torch_ops[f"maxpool_k{kernel}s{stride}p{padding}_out"])
    got = MaxPool2d(kernel, stride, padding).apply({}, x)
    np.testing.assert_array_equal(got, want)


def test_flatten_nchw_uses_torch_order():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # NCHW
    np.testing.assert_array_equal(flatten_nchw(nhwc(x)), x.reshape(2, -1))


def test_relu_module():
    np.testing.assert_array_equal(ReLU().apply({}, jnp.array([-1.0, 0.0, 2.5])), [0.0, 0.0, 2.5])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_dense_and_batch_norm_equal_flax_with_the_same_variables(dtype):
    """The zoo's Dense and inference BatchNorm are Flax's nn.Dense / nn.BatchNorm(use_running_average=True):
    the same variable tree from init, and the same outputs and gradients on the same variables (float32
    weights; float32 or bfloat16 input, promoted as Flax promotes it)."""
    from gigjax.models.layers import BatchNorm, Dense

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 5, 5, 6)), dtype)
    pairs = ((Dense(4), nn.Dense(4)), (BatchNorm(1e-3), nn.BatchNorm(use_running_average=True, epsilon=1e-3)))
    for ours, flax_module in pairs:
        want_tree = jax.eval_shape(flax_module.init, jax.random.PRNGKey(0), x)
        assert jax.tree_util.tree_structure(jax.eval_shape(ours.init, jax.random.PRNGKey(0), x)) == \
            jax.tree_util.tree_structure(want_tree)
        variables = jax.tree_util.tree_map(lambda s: jnp.asarray(rng.uniform(0.5, 1.5, s.shape), s.dtype), want_tree)
        got, want = ours.apply(variables, x), flax_module.apply(variables, x)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))
        grads = [jax.grad(lambda v, m=m: jnp.sum(m.apply(v, x.astype(jnp.float32)) ** 2))(variables)
                 for m in (ours, flax_module)]
        chex.assert_trees_all_close(grads[0], grads[1], rtol=1e-6)


def test_a_parameter_of_the_wrong_shape_is_named():
    from gigjax.errors import GigjaxError

    module = Conv2d(4, 3, padding=1)
    x = jnp.zeros((1, 8, 8, 3))
    variables = module.init(jax.random.PRNGKey(0), x)
    bad = {"params": {"kernel": jnp.zeros((3, 3, 2, 4))}}
    with pytest.raises(GigjaxError, match=r"parameter kernel has shape \(3, 3, 2, 4\); the layer needs \(3, 3, 3, 4\)"):
        module.apply(bad, x)
    assert module.apply(variables, x).shape == (1, 8, 8, 4)
