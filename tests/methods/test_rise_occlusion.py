"""RISE and occlusion against straightforward numpy loops on the toy CNN (one model call per mask or
window), the RISE masks' construction, chunking invariance and errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.methods.occlusion import window_masks
from gigjax.methods.rise import mask_fn


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_rise_masks_are_shifted_crops_of_the_upsampled_grid():
    masks = np.stack([np.asarray(mask_fn(3, 4, 0.5, (10, 10))(jnp.int32(i))) for i in range(200)])
    assert masks.shape == (200, 10, 10) and masks.min() >= 0 and masks.max() <= 1
    assert abs(masks.mean() - 0.5) < 0.03  # Bernoulli(0.5) cells, bilinear interpolation keeps the mean
    one = jax.random.fold_in(jax.random.PRNGKey(3), 0)
    k_grid, k_dy, k_dx = jax.random.split(one, 3)
    cells = np.asarray(jax.random.bernoulli(k_grid, 0.5, (4, 4)), np.float64)
    dy, dx = int(jax.random.randint(k_dy, (), 0, 3)), int(jax.random.randint(k_dx, (), 0, 3))
    # 4 cells → (4 + 1)·3 = 15 pixels, bilinear with half-pixel centres: np.interp (edges clamped) per axis
    centres = (np.arange(15) + 0.5) * 4 / 15 - 0.5
    up = np.stack([np.interp(centres, np.arange(4), row) for row in cells])
    up = np.stack([np.interp(centres, np.arange(4), col) for col in up.T]).T
    np.testing.assert_allclose(masks[0], up[dy:dy + 10, dx:dx + 10], atol=1e-6)


def test_rise_matches_a_numpy_loop(toy, toy_x, raw):
    n, p = 40, 0.5
    ours = raw(toy, toy_x, "rise", 3, masks=n, grid=4, p=p, batch_size=7)
    make = mask_fn(0, 4, p, (32, 32))
    x = np.asarray(toy_x)
    total = np.zeros((3, 32, 32))
    for i in range(n):
        m = np.asarray(make(jnp.int32(i)), np.float64)
        probs = softmax(np.asarray(toy.logits(jnp.asarray(x * m[None, :, :, None], jnp.float32)), np.float64))
        total += probs[:, 3, None, None] * m[None]
    np.testing.assert_allclose(ours, total / (n * p), rtol=1e-4, atol=1e-6)


def test_occlusion_matches_a_numpy_loop(toy, toy_x, raw):
    window, stride = 12, 7  # 32 = 0, 7, 14 + 12 ... leaves the last columns uncovered
    ours = raw(toy, toy_x, "occlusion", 1, window=window, stride=stride, batch_size=4)
    x = np.asarray(toy_x)
    black = np.asarray(toy.black())
    clean = np.asarray(toy.logits(toy_x))[:, 1]
    drop, count = np.zeros((3, 32, 32)), np.zeros((32, 32))
    for r in range(0, 32 - window + 1, stride):
        for c in range(0, 32 - window + 1, stride):
            occluded = x.copy()
            occluded[:, r:r + window, c:c + window] = black
            s = np.asarray(toy.logits(jnp.asarray(occluded)))[:, 1]
            drop[:, r:r + window, c:c + window] += (clean - s)[:, None, None]
            count[r:r + window, c:c + window] += 1
    expected = np.where(count > 0, drop / np.maximum(count, 1), 0.0)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)
    assert np.all(ours[:, :, 30:] == 0)  # columns 30, 31: no window covers them


def test_occlusion_windows_and_chunking(toy, toy_x, raw):
    count, _, coverage = window_masks((32, 32), 32, 16)
    assert count == 1 and coverage.min() == 1
    np.testing.assert_allclose(raw(toy, toy_x, "occlusion", window=8, stride=8, batch_size=3),
                               raw(toy, toy_x, "occlusion", window=8, stride=8, batch_size=16), rtol=1e-5, atol=1e-6)
    with pytest.raises(gigjax.GigjaxError, match="larger than the image"):
        gigjax.explain(toy, toy_x, "occlusion", window=40)


def test_rise_errors():
    with pytest.raises(gigjax.GigjaxError, match="p must lie"):
        gigjax.explainer("rise", p=0.0)
    with pytest.raises(gigjax.GigjaxError, match="score must be one of"):
        gigjax.explainer("rise", score="prob")
