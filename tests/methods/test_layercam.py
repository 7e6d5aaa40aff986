"""gigjax/methods/layercam.py against spec §2 (numpy), with the paper's multi-layer max fusion."""

import numpy as np

import gigjax
from gigjax import postprocess


def test_matches_the_formula(toy, toy_x, probe_np, raw):
    a, g, _, _ = probe_np(toy, toy_x, 3, "conv2")
    np.testing.assert_allclose(raw(toy, toy_x, "layercam", 3, layer="conv2"), (np.maximum(g, 0) * a).sum(-1),
                               rtol=1e-4, atol=1e-6)


def test_max_fusion_over_layers(toy, toy_x, raw):
    maps = [raw(toy, toy_x, "layercam", 0, layer=layer) for layer in ("conv2", "features")]
    per_layer = [postprocess.upsample(postprocess.normalize(np.maximum(m, 0)), (32, 32)) for m in maps]
    expected = postprocess.normalize(np.maximum(*per_layer))
    out = gigjax.explain(toy, toy_x, "layercam", 0, layer=["conv2", "features"], fuse="max")
    np.testing.assert_allclose(out, expected, atol=1e-5)
