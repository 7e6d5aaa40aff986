"""EigenCAM, EigenGradCAM, eigen_smooth and aug_smooth against pytorch-grad-cam 1.5.7 on the real
EfficientNet-Lite0 weights (issue 13). Goldens: ``make_eigencam_golden.py`` (see its docstring);
same input as test_pytorch_grad_cam_parity.py.

pytorch-grad-cam leaves the SVD's sign arbitrary; gigjax fixes it (v₁ along the mean activation), so
the raw projections are compared up to one global sign, relative to the map's largest value: ≤ 1e-3.
"""

import jax
import numpy as np
import pytest

import gigjax

from golden_files import load_golden

LAYER = "head/bn"


@pytest.fixture(scope="module")
def golden():
    return load_golden("eigencam_lite0.npz")


@pytest.fixture(scope="module")
def ours(lite0, chelsea, golden):
    x = (chelsea[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None]
    c = int(golden["class_index"])

    def run(model, x):
        raw = {name: gigjax.explainer(method, layer=LAYER, raw=True, **opts)(model, x, c)[0]
               for name, method, opts in (("eigencam", "eigencam", {}), ("eigengradcam", "eigengradcam", {}),
                                          ("gradcam_eigen", "gradcam", {"eigen_smooth": True}))}
        raw["gradcam_aug"] = gigjax.explainer("gradcam", layer=LAYER, aug_smooth=True)(model, x, c)[0]
        return raw

    return {k: np.asarray(v, np.float64) for k, v in jax.jit(run)(lite0, x).items()}


@pytest.mark.parametrize("name", ["eigencam", "eigengradcam", "gradcam_eigen"])
def test_projection_matches_up_to_sign(ours, golden, name):
    reference = golden[name].astype(np.float64)
    sign = np.sign(np.sum(reference * ours[name]))
    np.testing.assert_allclose(ours[name], sign * reference, atol=1e-3 * np.abs(reference).max(), rtol=0)


def test_aug_smooth_matches(ours, golden):
    reference = np.cumsum(golden["gradcam_aug"].astype(np.int64), axis=1) / 32767.0
    np.testing.assert_allclose(ours["gradcam_aug"], reference, atol=1e-3, rtol=0)
