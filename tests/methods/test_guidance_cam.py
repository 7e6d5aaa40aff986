"""gigjax/methods/guidance_cam.py against spec §7 (numpy), both variants."""

import numpy as np


def _n(m):
    lo, hi = m.min(axis=(1, 2), keepdims=True), m.max(axis=(1, 2), keepdims=True)
    return (m - lo) / (hi - lo + 1e-7)


def test_matches_the_formula(toy, toy_x, probe_np, raw):
    a, g, _, _ = probe_np(toy, toy_x, 2, "conv2")
    guidance = _n(np.maximum((a * g).sum(-1), 0))
    weighted = np.einsum("bhwk,bk->bhw", a, g.mean(axis=(1, 2)))
    np.testing.assert_allclose(raw(toy, toy_x, "guidance_cam", 2, layer="conv2"), np.maximum(weighted, 0) * guidance,
                               rtol=1e-4, atol=1e-6)
    channel = np.einsum("bhwk,bk->bhw", a * guidance[..., None], g.mean(axis=(1, 2)))
    np.testing.assert_allclose(raw(toy, toy_x, "guidance_cam", 2, layer="conv2", variant="channel"), channel,
                               rtol=1e-4, atol=1e-6)
