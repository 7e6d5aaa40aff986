"""Parity with jacobgil/pytorch-grad-cam 1.5.7 on the real EfficientNet-Lite0 weights (issue 4).

The reference maps were produced once by ``tests/golden/make_gradcam_golden.py`` (see its docstring
for the exact command and conventions) and are stored in ``gradcam_lite0.npz``. Both sides see the
same input: the centre 224×224 crop of scikit-image's ``chelsea()``, ``x/127.5 − 1``.

Both normalise each map once more after resizing (ReLU → N → Up → N), so the maps are compared
exactly as ``gigjax.explain`` returns them. Tolerance: 1e-3 (issue 4).
"""

import jax
import numpy as np
import pytest

import gigjax

from golden_files import load_golden

GRADIENT_METHODS = ("gradcam", "gradcam_pp", "xgradcam", "layercam", "hirescam")


@pytest.fixture(scope="module")
def golden():
    return load_golden("gradcam_lite0.npz")


def reference(golden, key):
    """Decodes a stored map (row-wise differences of round(32767·m))."""
    return np.cumsum(golden[key].astype(np.int64), axis=1) / 32767.0


@pytest.fixture(scope="module")
def chelsea_x(chelsea):
    return (chelsea[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None]


def test_same_logits_and_class(lite0, chelsea_x, golden):
    logits = np.asarray(jax.jit(lite0.logits)(chelsea_x))[0]
    np.testing.assert_allclose(logits, golden["logits"], atol=1e-3)
    assert int(np.argmax(logits)) == int(golden["class_index"])


@pytest.fixture(scope="module")
def ours(lite0, chelsea_x, golden):
    """Every compared map from one jit (the gradient methods share one forward/backward)."""
    c = int(golden["class_index"])

    def run(model, x):
        out = {m: gigjax.explainer(m, layer="head/bn")(model, x, c) for m in GRADIENT_METHODS}
        out["gradcam_multi"] = gigjax.explainer("gradcam", layer=["blocks_10/project/bn", "head/bn"])(model, x, c)
        out["scorecam"] = gigjax.explainer("scorecam", layer="blocks_1/project/bn", variant="pytorch_grad_cam",
                                           batch_size=8)(model, x, c)
        return {k: v[0] for k, v in out.items()}

    return jax.jit(run)(lite0, chelsea_x)


@pytest.mark.parametrize("method", GRADIENT_METHODS + ("gradcam_multi", "scorecam"))
def test_matches_pytorch_grad_cam(ours, golden, method):
    np.testing.assert_allclose(np.asarray(ours[method]), reference(golden, method), atol=1e-3, rtol=0)
