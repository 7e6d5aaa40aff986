"""gigjax/methods/hirescam.py against spec §2 (numpy); at a GAP head it is CAM / (h·w) exactly."""

import numpy as np


def test_matches_the_formula(toy, toy_x, probe_np, raw):
    a, g, _, _ = probe_np(toy, toy_x, 1, "conv1")
    np.testing.assert_allclose(raw(toy, toy_x, "hirescam", 1, layer="conv1"), (g * a).sum(-1), rtol=1e-4, atol=1e-6)


def test_is_cam_over_z_at_a_gap_head(toy, toy_x, raw):
    cam = raw(toy, toy_x, "cam", 4)
    np.testing.assert_allclose(raw(toy, toy_x, "hirescam", 4), cam / 64.0, rtol=1e-4, atol=1e-7)  # 8×8 map
