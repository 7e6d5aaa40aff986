"""XRAI against PAIR-code/saliency 0.2.1 on the real Lite0 and chelsea (golden made once by
tests/golden/make_xrai_pair.py): the same segments (bit for bit), the same region ranking on the same
attribution (Spearman ≥ 0.99 of the maps); the greedy selection against a plain numpy loop on a toy;
the optional-dependency error."""

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import spearmanr

import gigjax
from gigjax import segments
from gigjax.methods.xrai import base_attribution, xrai_map

from golden_files import load_golden


def numpy_xrai(attr, masks, min_pixel_diff):
    """The greedy selection written out plainly (PAIR's algorithm, area threshold 1)."""
    out = np.full(attr.shape, -np.inf)
    covered = np.zeros(attr.shape, bool)
    remaining = list(range(len(masks)))
    while True:
        remaining = [i for i in remaining if np.sum(masks[i] & ~covered) >= min_pixel_diff]
        if not remaining:
            break
        gains = [attr[masks[i] & ~covered].mean() for i in remaining]
        best = remaining[int(np.argmax(gains))]
        new = masks[best] & ~covered
        out[new] = max(gains)
        covered |= masks[best]
        remaining.remove(best)
    rest = out == -np.inf
    if rest.any():
        out[rest] = attr[rest].mean()
    return out


def test_greedy_selection_matches_a_numpy_loop():
    rng = np.random.default_rng(0)
    attr = rng.normal(size=(20, 24))
    masks = np.zeros((12, 20, 24), bool)
    for i in range(10):  # random overlapping rectangles; two empty padding masks
        r, c = rng.integers(0, 15), rng.integers(0, 18)
        masks[i, r:r + rng.integers(3, 10), c:c + rng.integers(3, 10)] = True
    ours = jax.jit(lambda a, m: xrai_map(a, m, 6))(jnp.asarray(attr, jnp.float32), jnp.asarray(masks))
    np.testing.assert_allclose(ours, numpy_xrai(attr, masks, 6), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def golden():
    return load_golden("xrai_pair.npz")


@pytest.fixture(scope="module")
def chelsea_x(chelsea):
    return (chelsea[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None]


def test_segments_are_pairs(chelsea_x, golden):
    masks = segments.felzenszwalb_masks(chelsea_x[0])
    assert len(masks) == int(golden["segments_count"])
    packed = np.packbits(np.asarray(masks, bool).reshape(len(masks), -1), axis=1)
    assert hashlib.sha256(packed.tobytes()).hexdigest() == str(golden["segments_sha256"])


def test_ranking_matches_pair_on_lite0(lite0, chelsea_x, golden):
    """Our base attribution (checked against the golden's checksum) ranked on the device, against
    PAIR's ranking of the same attribution on its segments (identical to ours, test above)."""
    c, steps = int(golden["target"]), int(golden["steps"])
    attribution = jax.jit(lambda m, v: base_attribution(m, v, jnp.array([c]), "integrated_gradients", steps, 16))(
        lite0, chelsea_x)
    np.testing.assert_allclose(float(jnp.sum(attribution)), float(golden["attribution_sum"]), rtol=1e-4)
    masks = segments.segment_masks(jnp.asarray(chelsea_x), 512)
    ours = np.asarray(jax.jit(lambda a, m: xrai_map(a, m, 50))(attribution[0], masks[0]))
    reference = golden["gains"][golden["ranks"].astype(np.int64) - 1]
    assert spearmanr(ours.ravel(), reference.ravel())[0] >= 0.99
    np.testing.assert_allclose(ours, reference, rtol=1e-3, atol=1e-3 * np.abs(reference).max())


def test_missing_scikit_image_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(segments.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(gigjax.GigjaxError, match=r"pip install 'gigjax\[xrai\]'"):
        gigjax.explainer("xrai")


def test_base_must_be_an_input_method():
    with pytest.raises(gigjax.GigjaxError, match="input-space method"):
        gigjax.explainer("xrai", base="gradcam")
