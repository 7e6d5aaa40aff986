"""Score-CAM (Wang et al., CVPR-W 2020): channel weights from the model's score on the input masked by
each upsampled, normalised activation channel (spec §2).

For every image and channel k: M_k = N(Up(A_k)) at the input resolution; s_k = the target score of
the model on x ⊙ M_k; the raw map is Σ_k w_k A_k at the layer's resolution (equal to the official
Σ_k w_k Up(A_k) after the shared bilinear upsampling, which is linear). Two variants (``variant=``):

* ``"official"`` (default; haofanwang/Score-CAM): w_k = softmax probability of the class on x ⊙ M_k;
  channels that are constant (max = min) are skipped (w_k = 0); Up has half-pixel centres.
* ``"pytorch_grad_cam"`` (jacobgil/pytorch-grad-cam's ``ScoreCAM``): s_k = the class logit on x ⊙ M_k,
  w = softmax of (s_1..s_K) across channels; M_k = (m − min)/(max − min + 1e-8) with Up using
  aligned corners (``UpsamplingBilinear2d``), so a constant channel masks the whole input to 0.

The B·K masked forwards run ``batch_size`` at a time inside one ``lax.map``: peak memory is set by
``batch_size``, never by K (K×H×W×C is never materialised). The class is fixed from the unmasked input.
``max_channels=M`` (0: all) scores only a fixed sample of M of the K channels (the same for every
image and call: :func:`sampled_channels`) and sums over those, for K/M times fewer forwards.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.methods.perturb import class_weighted_maps, map_chunks
from gigjax.models import Model
from gigjax.numerics import safe_divide
from gigjax.options import CHUNK, Option
from gigjax.registry import Method, register
from gigjax.targets import Targets
from gigjax.validation import check_positive_int

VARIANTS = ("official", "pytorch_grad_cam")
PGC_EPS = 1e-8  # pytorch-grad-cam's epsilon in the mask normalisation
SAMPLE_SEED = 0  # the seed of the channel sample taken with max_channels


def sampled_channels(k_count: int, max_channels: int) -> np.ndarray | None:
    """The sorted channel indices scored with ``max_channels`` (a fixed sample without replacement,
    seed :data:`SAMPLE_SEED`), or ``None`` for all ``k_count`` channels (0, or M ≥ K)."""
    if max_channels == 0 or max_channels >= k_count:
        return None
    return np.sort(np.random.default_rng(SAMPLE_SEED).choice(k_count, max_channels, replace=False))


def resize_aligned(maps: jax.Array, size: tuple[int, int]) -> jax.Array:
    """Bilinear resize of (N, h, w) maps with aligned corners (torch ``align_corners=True``): output
    pixel i samples input coordinate i·(h − 1)/(H − 1)."""
    scales, shifts = [], []
    for n_in, n_out in zip(maps.shape[-2:], size):
        s = (n_out - 1) / (n_in - 1) if n_in > 1 and n_out > 1 else n_out / n_in
        scales.append(s)
        shifts.append(0.5 * (1.0 - s) if n_in > 1 and n_out > 1 else 0.0)
    return jax.image.scale_and_translate(maps, (*maps.shape[:-2], *size), (maps.ndim - 2, maps.ndim - 1),
                                         jnp.asarray(scales, maps.dtype), jnp.asarray(shifts, maps.dtype),
                                         method="linear", antialias=False)


def channel_masks(channels: jax.Array, size: tuple[int, int], variant: str) -> tuple[jax.Array, jax.Array]:
    """(N, h, w) activation channels → (masks (N, H, W) in [0, 1], usable (N,) bool) per ``variant``."""
    if variant == "official":
        up = jax.image.resize(channels, (channels.shape[0], *size), method="bilinear", antialias=False)
    else:
        up = resize_aligned(channels, size)
    lo = jnp.min(up, axis=(1, 2), keepdims=True)
    hi = jnp.max(up, axis=(1, 2), keepdims=True)
    if variant == "official":
        usable = (hi > lo)[:, 0, 0]
        return safe_divide(up - lo, hi - lo), usable
    return (up - lo) / (hi - lo + PGC_EPS), jnp.ones(channels.shape[0], bool)


def scorecam_weights(model: Model, x: jax.Array, a: jax.Array, classes: jax.Array, *, variant: str,
                     batch_size: int = CHUNK.default) -> jax.Array:
    """(B, K) Score-CAM channel weights of activations ``a`` (B, h, w, K) for ``classes`` (B,)."""
    chex.assert_rank([x, a, classes], [4, 4, 1])
    chex.assert_equal_shape_prefix([x, a, classes], 1)
    b_count, k_count = a.shape[0], a.shape[-1]
    size = tuple(x.shape[1:3])

    def chunk_scores(index):
        b, k = index // k_count, index % k_count
        masks, usable = channel_masks(a[b, :, :, k], size, variant)
        logits = model.logits(x[b] * masks[..., None].astype(x.dtype))
        if variant == "official":
            logits = jax.nn.softmax(logits, axis=-1)
        score = jnp.take_along_axis(logits, classes[b][:, None], axis=1)[:, 0]
        return jnp.where(usable, score, 0.0)

    scores = map_chunks(chunk_scores, b_count * k_count, batch_size).reshape(b_count, k_count)
    return scores if variant == "official" else jax.nn.softmax(scores, axis=-1)


def scorecam(model: Model, x: jax.Array, targets: Targets, *, layers: tuple[str, ...], variant: str,
             batch_size: int, max_channels: int = 0) -> tuple[jax.Array, ...]:
    """Registry function: raw Score-CAM maps Σ_k w_k A_k (B, h, w), one per layer (k over the
    sampled channels with ``max_channels``: the others get weight 0)."""

    def weights(layer, a, scores, classes):
        keep = sampled_channels(a.shape[-1], max_channels)
        if keep is None:
            return scorecam_weights(model, x, a, classes, variant=variant, batch_size=batch_size)
        w = scorecam_weights(model, x, a[..., keep], classes, variant=variant, batch_size=batch_size)
        return jnp.zeros((a.shape[0], a.shape[-1]), w.dtype).at[:, keep].set(w)

    return class_weighted_maps(model, x, targets, layers, "Score-CAM", weights)


def _check_max_channels(value, name: str) -> int:
    return 0 if value == 0 and not isinstance(value, bool) else check_positive_int(value, f"{name} (0: all)")


register(Method(
    name="scorecam",
    fn=scorecam,
    summary="Score-CAM: channels weighted by the class score of the input masked by each channel",
    options={"variant": Option("official", "whose Score-CAM: the official code's (softmax probability, constant "
                                           "channels skipped) or pytorch-grad-cam's", choices=VARIANTS),
             "batch_size": CHUNK,
             "max_channels": Option(0, "score only a fixed sample (seed 0) of this many channels; 0: all",
                                    check=_check_max_channels, quick=64)},
    class_index=True,
))
