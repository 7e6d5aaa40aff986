"""gigjax/methods/scorecam.py: both variants against a plain per-channel loop, chunking, memory."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gigjax
from gigjax.methods.scorecam import channel_masks, resize_aligned


def _aligned_reference(m, size):
    """numpy bilinear resize with aligned corners (torch ``align_corners=True``)."""
    h, w = m.shape[-2:]
    ys = np.linspace(0, h - 1, size[0])
    xs = np.linspace(0, w - 1, size[1])
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = m[..., y0, :][..., x0] * (1 - fx) + m[..., y0, :][..., x1] * fx
    bottom = m[..., y1, :][..., x0] * (1 - fx) + m[..., y1, :][..., x1] * fx
    return top * (1 - fy) + bottom * fy


def test_resize_aligned_matches_numpy():
    m = np.random.default_rng(0).standard_normal((2, 5, 7)).astype(np.float32)
    np.testing.assert_allclose(resize_aligned(jnp.asarray(m), (17, 11)), _aligned_reference(m, (17, 11)),
                               rtol=1e-5, atol=1e-6)


def test_constant_channels():
    channels = jnp.stack([jnp.zeros((4, 4)), jnp.full((4, 4), 2.0), jnp.eye(4)])
    masks, usable = channel_masks(channels, (8, 8), "official")
    np.testing.assert_array_equal(usable, [False, False, True])
    np.testing.assert_array_equal(masks[:2], 0.0)
    assert float(masks[2].max()) == pytest.approx(1.0) and float(masks[2].min()) == 0.0
    masks, usable = channel_masks(channels, (8, 8), "pytorch_grad_cam")
    assert bool(usable.all()) and float(jnp.abs(masks[:2]).max()) == 0.0


def _reference(model, x, classes, a, variant):
    """One masked forward per (image, channel), written as a loop over images and channels."""
    logits_fn = jax.jit(model.logits)
    size = x.shape[1:3]
    weights = np.zeros(a.shape[0:1] + a.shape[-1:])
    for b in range(a.shape[0]):
        for k in range(a.shape[-1]):
            ch = np.asarray(a[b, :, :, k])
            if variant == "official":
                up = np.asarray(jax.image.resize(ch, size, "bilinear", antialias=False))
            else:
                up = _aligned_reference(ch, size)
            lo, hi = up.min(), up.max()
            if variant == "official":
                if hi == lo:
                    continue
                mask = (up - lo) / (hi - lo)
            else:
                mask = (up - lo) / (hi - lo + 1e-8)
            out = np.asarray(logits_fn(x[b:b + 1] * mask[None, :, :, None].astype(np.float32)))[0]
            weights[b, k] = np.exp(out[classes[b]]) / np.exp(out).sum() if variant == "official" else out[classes[b]]
    if variant != "official":
        weights = np.exp(weights - weights.max(1, keepdims=True))
        weights /= weights.sum(1, keepdims=True)
    return np.einsum("bhwk,bk->bhw", np.asarray(a, np.float64), weights)


@pytest.mark.parametrize("variant", ["official", "pytorch_grad_cam"])
def test_matches_a_per_channel_loop(toy, toy_x, probe_np, raw, variant):
    a, _, _, classes = probe_np(toy, toy_x, jnp.array([0, 3, 1]), "features")
    expected = _reference(toy, toy_x, classes, a.astype(np.float32), variant)
    out = raw(toy, toy_x, "scorecam", jnp.array([0, 3, 1]), variant=variant, batch_size=7)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6)


def test_chunk_size_does_not_change_the_result(toy, toy_x):
    fns = [gigjax.explainer("scorecam", raw=True, batch_size=bs) for bs in (1, 5, 48, 100)]
    outs = jax.jit(lambda m, x: [fn(m, x) for fn in fns])(toy, toy_x)
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], rtol=1e-5, atol=1e-7)


def _temp_bytes(model, x, batch_size):
    fn = jax.jit(gigjax.explainer("scorecam", batch_size=batch_size))
    return fn.lower(model, x).compile().memory_analysis().temp_size_in_bytes


def test_peak_memory_follows_the_chunk_not_the_channel_count(toy, toy_x):
    """B·K masked copies of x would take 3·16·32·32·3·4 B = 590 KB; chunks of 2 stay far below."""
    all_copies = toy_x.shape[0] * 16 * toy_x[0].size * 4
    small, large = _temp_bytes(toy, toy_x, 2), _temp_bytes(toy, toy_x, 48)
    assert small < all_copies / 4
    assert small < large


def test_errors(toy, toy_x):
    with pytest.raises(gigjax.GigjaxError, match="variant"):
        gigjax.explainer("scorecam", variant="fast")
    with pytest.raises(gigjax.GigjaxError, match="batch_size"):
        gigjax.explainer("scorecam", batch_size=0)
    with pytest.raises(gigjax.GigjaxError, match="class indices"):
        gigjax.explain(toy, toy_x, "scorecam", lambda logits: logits[:, 0])
    chex.assert_shape(gigjax.explain(toy, toy_x[:1], "scorecam", batch_size=3), (1, 32, 32))


@pytest.mark.parametrize("variant", ["official", "pytorch_grad_cam"])
def test_max_channels_scores_a_fixed_sample_of_channels(toy, toy_x, probe_np, raw, variant):
    """max_channels=5 of the toy's 16 channels: the per-channel loop on those 5 channels only."""
    from gigjax.methods.scorecam import sampled_channels

    keep = sampled_channels(16, 5)
    assert len(keep) == 5 and len(set(keep.tolist())) == 5 and list(keep) == sorted(keep)
    np.testing.assert_array_equal(keep, sampled_channels(16, 5))  # fixed: the same every call
    a, _, _, classes = probe_np(toy, toy_x, jnp.array([0, 3, 1]), "features")
    expected = _reference(toy, toy_x, classes, a[..., keep].astype(np.float32), variant)
    out = raw(toy, toy_x, "scorecam", jnp.array([0, 3, 1]), variant=variant, batch_size=4, max_channels=5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6)
    assert sampled_channels(16, 0) is None and sampled_channels(16, 16) is None and sampled_channels(16, 99) is None
    with pytest.raises(gigjax.GigjaxError, match="max_channels"):
        gigjax.explainer("scorecam", max_channels=-1)
