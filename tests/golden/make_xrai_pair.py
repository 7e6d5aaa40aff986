"""Golden for the XRAI parity test: PAIR-code/saliency 0.2.1's segmentation and greedy region
selection (``XRAI._xrai``, the ``full`` algorithm, area_threshold 1.0, min_pixel_diff 50), produced
ONCE on the real EfficientNet-Lite0 and the centre 224×224 crop of scikit-image's ``chelsea()``
(``x/127.5 − 1``, as the other Lite0 goldens; the photo is not stored).

The attribution PAIR ranks is gigjax's own XRAI base (``gigjax.methods.xrai.base_attribution``:
IG from the image's min and max, 4 steps — few, the test ranks it, IG itself is tested elsewhere —
max over channels), so the test compares the segmentation and the ranking, not IG.

Stored in ``xrai_pair.npz``: the class; ``segments_sha256`` and ``segments_count`` of PAIR's dilated
masks (``_get_segments_felzenszwalb``, packed with ``np.packbits`` in order); PAIR's XRAI map as ``ranks`` (224, 224) int16 (1 = the first region) and
``gains`` (one value per rank); ``attribution_sum`` (a checksum of the attribution).

Command (from the repository root; gigjax's environment with PyPI ``saliency`` 0.2.1 on the path)::

    pip install --target /tmp/sal saliency==0.2.1 --no-deps
    PYTHONPATH=/tmp/sal python tests/golden/make_xrai_pair.py
"""

from __future__ import annotations

import hashlib
import pathlib

import jax
import numpy as np

STEPS = 4
OUT = pathlib.Path(__file__).with_name("xrai_pair.npz")


def chelsea_x() -> np.ndarray:
    from skimage import data

    return (data.chelsea()[38:262, 113:337].astype(np.float32) / 127.5 - 1.0)[None]


def masks_digest(masks) -> str:
    return hashlib.sha256(np.packbits(np.asarray(masks, bool).reshape(len(masks), -1), axis=1).tobytes()).hexdigest()


def main() -> None:
    from saliency.core import xrai as pair_xrai

    import gigjax
    from gigjax.methods.xrai import base_attribution

    model = gigjax.load_model("efficientnet_lite0")
    x = chelsea_x()
    cls = int(np.argmax(np.asarray(model.logits(x))[0]))
    attr = np.asarray(jax.jit(lambda m, v: base_attribution(m, v, np.array([cls]), "integrated_gradients", STEPS, 16))(
        model, x))[0].astype(np.float64)
    segments = pair_xrai._get_segments_felzenszwalb(x[0].astype(np.float64))
    heat, ranks = pair_xrai.XRAI._xrai(attr=attr, segs=segments, area_perc_th=1.0, min_pixel_diff=50,
                                       integer_segments=True)
    gains = np.array([heat[ranks == r][0] for r in range(1, ranks.max() + 1)])
    np.savez_compressed(OUT, target=cls, segments_sha256=masks_digest(segments), segments_count=len(segments),
                        ranks=ranks.astype(np.int16), gains=gains, attribution_sum=attr.sum(), steps=STEPS)
    print(f"wrote {OUT}: class {cls}, {len(segments)} segments, {ranks.max()} ranks")


if __name__ == "__main__":
    main()
