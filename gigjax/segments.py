"""Image segments for XRAI, computed on the host with scikit-image (an optional dependency: the
``xrai`` extra), as PAIR-code/saliency does (``_get_segments_felzenszwalb``):

the image is rescaled to [−1, 1] and resized to 224×224 (cubic, antialiased), segmented by
Felzenszwalb–Huttenlocher at scales 50, 100, 150, 250, 500, 1200 (σ 0.8, minimum size 150), each
label map resized back (nearest), split into one boolean mask per label, and each mask dilated by a
disk of radius 5. :func:`segment_masks` runs this inside ``jax.pure_callback`` and returns a fixed
(``capacity``, H, W) stack (empty masks pad it; more segments than ``capacity`` is an error).
"""

from __future__ import annotations

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError

SCALES = (50, 100, 150, 250, 500, 1200)
SIGMA, MIN_SIZE, WORK_SIZE, DILATION = 0.8, 150, (224, 224), 5


def check_available() -> None:
    """Raises a clear :class:`GigjaxError` when scikit-image is missing."""
    if importlib.util.find_spec("skimage") is None:
        raise GigjaxError("XRAI segments images with scikit-image: pip install 'gigjax[xrai]'")


def felzenszwalb_masks(image: np.ndarray) -> list[np.ndarray]:
    """(H, W, C) image → PAIR's list of dilated (H, W) bool segment masks."""
    from skimage import segmentation
    from skimage.morphology import dilation, disk
    from skimage.transform import resize

    image = np.asarray(image, np.float64)
    lo, hi = image.min(), image.max()
    scaled = (image - lo) / (hi - lo) * 2.0 - 1.0 if hi > lo else np.zeros_like(image)
    scaled = resize(scaled, WORK_SIZE, order=3, mode="constant", preserve_range=True, anti_aliasing=True)
    footprint = disk(DILATION)
    masks = []
    for scale in SCALES:
        labels = segmentation.felzenszwalb(scaled, scale=scale, sigma=SIGMA, min_size=MIN_SIZE)
        labels = resize(labels, image.shape[:2], order=0, preserve_range=True, mode="constant",
                        anti_aliasing=False).astype(int)
        masks.extend(dilation(labels == label, footprint=footprint)
                     for label in range(labels.min(), labels.max() + 1))
    return masks


def _packed(images: np.ndarray, capacity: int) -> np.ndarray:
    """(…, H, W, C) images (any leading axes: ``vmap`` adds some) → (…, capacity, H, W) masks."""
    lead, (h, w) = images.shape[:-3], images.shape[-3:-1]
    images = images.reshape(-1, *images.shape[-3:])
    out = np.zeros((images.shape[0], capacity, h, w), bool)
    for b, image in enumerate(images):
        masks = felzenszwalb_masks(image)
        if len(masks) > capacity:
            raise GigjaxError(f"XRAI found {len(masks)} segments, more than max_segments={capacity}; "
                              f"raise max_segments")
        out[b, :len(masks)] = masks
    return out.reshape(*lead, capacity, h, w)


def segment_masks(x: jax.Array, capacity: int) -> jax.Array:
    """(B, H, W, C) images → (B, capacity, H, W) bool segment masks, computed on the host."""
    shape = jax.ShapeDtypeStruct((x.shape[0], capacity, *x.shape[1:3]), jnp.bool_)
    return jax.pure_callback(lambda v: _packed(np.asarray(v), capacity), shape, jax.lax.stop_gradient(x),
                             vmap_method="expand_dims")
