"""gigjax/methods/xgradcam.py against spec §2 (numpy), and XGrad-CAM = Grad-CAM at a GAP head."""

import numpy as np

from gigjax import postprocess


def test_matches_the_formula(toy, toy_x, probe_np, raw):
    a, g, _, _ = probe_np(toy, toy_x, None, "conv2")
    w = (g * a).sum(axis=(1, 2)) / (a.sum(axis=(1, 2)) + 1e-7)
    np.testing.assert_allclose(raw(toy, toy_x, "xgradcam", layer="conv2"), np.einsum("bhwk,bk->bhw", a, w),
                               rtol=1e-4, atol=1e-6)


def test_equals_gradcam_at_a_gap_head(toy, toy_x, raw):
    """Spec §2: behind GAP+FC, g = W_c/Z is constant per channel, so Σ g A / Σ A = mean g."""
    x = np.abs(np.asarray(toy_x))  # keeps Σ_ij A_k away from 0, where the 1e-7 would matter
    out = [postprocess.normalize(np.maximum(raw(toy, x, m), 0)) for m in ("xgradcam", "gradcam")]
    np.testing.assert_allclose(out[0], out[1], atol=1e-4)
