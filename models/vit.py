"""Vision Transformer in torchvision's layout (``torchvision.models.vit_b_16``), as a pure Flax linen module.

NHWC input, token layout (B, N, D) inside, float32. The architecture is parameterised (patch size,
depth, width, heads, MLP width, image size) so tests can run a tiny one; :data:`VIT_B_16` is the
zoo's ViT-B/16 (ImageNet mean/std input, 224×224).

Module tree (probe paths mirror torchvision's module names, ``/`` for ``.``; every path below is a
module of its own that runs once per forward pass, so its output can be probed)::

    conv_proj                      16×16 conv, stride 16, with bias: (B, 14, 14, 768) at 224×224
    (flatten the 14×14 grid row by row; prepend the ``class_token`` parameter (1, 1, D))
    encoder                        (B, 197, 768) tokens → encoder/ln's output
      (add ``encoder/pos_embedding`` (1, 197, D))
      layers/encoder_layer_{i}     one block, i = 0 … 11; its output = the block's output tokens:
        ln_1                       LayerNorm (eps 1e-6)   — the default CAM layer is block 11's
        self_attention             12-head self-attention on ln_1's output, torch's packed weights:
          in_proj                  Dense D → 3D (q, k, v in that order; torch's in_proj_weight/bias)
          out_proj                 Dense D → D
        dropout                    identity at inference
        (x = self_attention + block input)
        ln_2                       LayerNorm (eps 1e-6)
        mlp                        0 Linear D → 3072, 1 GELU (exact, erf), 2 Dropout, 3 Linear → D, 4 Dropout
        (output = mlp + x)
      ln                           LayerNorm (eps 1e-6) of the last block's output
    heads/head                     Linear D → num_classes on the class token (token 0)

Token layers are (B, 1 + (H/p)·(W/p), D): token 0 is the class token, then the patches in row-major
order, so a CAM reshape drops one leading token and folds the rest into the (H/p, W/p) grid (the
zoo card sets ``gigjax.tokens_to_grid(skip=1)`` on every listed token layer: models/registry.py).

At ``image_size`` the network is torchvision's exactly. torchvision's forward takes no other size
(its position embedding has a fixed length); here any H, W that are multiples of the patch size work
(multi-scale explainers such as GIG-CAM(F) run the model on a 2× input): the patch part of the
position embedding is resized bicubically to the (H/p, W/p) grid by torchvision's own rule for running
a checkpoint at another resolution (``torchvision.models.vision_transformer.interpolate_embeddings``:
``interpolate(mode="bicubic", align_corners=True)``, cubic coefficient −0.75), the class token's
position kept.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gigjax.errors import GigjaxError
from gigjax.models import convert
from gigjax.models.layers import Conv2d, Dense, Dropout

LN_EPS = 1e-6


@dataclasses.dataclass(frozen=True)
class ViTConfig:
    """Hyper-parameters of a torchvision ``VisionTransformer`` (without conv stem or pre-logits).

    Attributes:
      image_size: input height = width in pixels (a multiple of ``patch_size``).
      patch_size: side of the square patches (the ``conv_proj`` kernel and stride).
      num_layers: encoder blocks.
      num_heads: attention heads (``hidden_dim`` must be a multiple of it).
      hidden_dim: token width D.
      mlp_dim: hidden width of each block's MLP.
    """

    image_size: int = 224
    patch_size: int = 16
    num_layers: int = 12
    num_heads: int = 12
    hidden_dim: int = 768
    mlp_dim: int = 3072

    @property
    def grid(self) -> int:
        """Patches per side (14 for ViT-B/16 at 224)."""
        return self.image_size // self.patch_size

    @property
    def seq_length(self) -> int:
        """Tokens per image: the class token and grid² patches (197 for ViT-B/16)."""
        return 1 + self.grid ** 2


VIT_B_16 = ViTConfig()


def layer_norm(name: str) -> nn.LayerNorm:
    """torch's ``nn.LayerNorm(D, eps=1e-6)``; the two-pass variance (mean of squared deviations)."""
    return nn.LayerNorm(epsilon=LN_EPS, use_fast_variance=False, name=name)


class GELU(nn.Module):
    """``torch.nn.GELU()``: the exact (erf) GELU, as a module so its output is probe-able."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.gelu(x, approximate=False)


class SelfAttention(nn.Module):
    """``torch.nn.MultiheadAttention(D, num_heads, batch_first=True)`` applied as ``attn(x, x, x)``.

    (B, N, D) → (B, N, D). ``in_proj`` holds torch's packed ``in_proj_weight`` (3D, D) as a Dense
    kernel (D, 3D): q, k, v are its three D-wide column blocks; each head attends with
    softmax(q·kᵀ/√(D/heads)).
    """

    num_heads: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        b, n, d = x.shape
        heads, head_dim = self.num_heads, d // self.num_heads
        qkv = Dense(3 * d, name="in_proj")(x).reshape(b, n, 3, heads, head_dim)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        weights = jax.nn.softmax(jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(head_dim), axis=-1)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, n, d)
        return Dense(d, name="out_proj")(out)


class MLPBlock(nn.Module):
    """torchvision's ``MLPBlock``: a Sequential ``0`` Linear, ``1`` GELU, ``2`` Dropout, ``3`` Linear, ``4`` Dropout."""

    mlp_dim: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = Dropout(name="2")(GELU(name="1")(Dense(self.mlp_dim, name="0")(x)))
        return Dropout(name="4")(Dense(x.shape[-1], name="3")(y))


class EncoderBlock(nn.Module):
    """``x + self_attention(ln_1(x))``, then ``+ mlp(ln_2(·))``: (B, N, D) → (B, N, D)."""

    num_heads: int
    mlp_dim: int

    @nn.compact
    def __call__(self, tokens: jax.Array) -> jax.Array:
        x = SelfAttention(self.num_heads, name="self_attention")(layer_norm("ln_1")(tokens))
        x = Dropout(name="dropout")(x) + tokens
        return x + MLPBlock(self.mlp_dim, name="mlp")(layer_norm("ln_2")(x))


class EncoderLayers(nn.Module):
    """torchvision's ``encoder.layers`` Sequential: blocks ``encoder_layer_0`` … ``encoder_layer_{L−1}``."""

    config: ViTConfig

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i in range(self.config.num_layers):
            x = EncoderBlock(self.config.num_heads, self.config.mlp_dim, name=f"encoder_layer_{i}")(x)
        return x


def bicubic_matrix(size: int, out: int, a: float = -0.75) -> np.ndarray:
    """(out, size) matrix of torch's 1-D ``interpolate(mode="bicubic", align_corners=True)``.

    Output ``i`` samples the input at ``s = i·(size − 1)/(out − 1)`` (0 when ``out == 1``) with Keys'
    cubic convolution kernel (coefficient ``a``) on the taps ⌊s⌋ − 1 … ⌊s⌋ + 2, clamped to the border.
    """
    matrix = np.zeros((out, size), np.float64)
    scale = (size - 1) / (out - 1) if out > 1 else 0.0
    for i in range(out):
        src = i * scale
        x0 = int(np.floor(src))
        t = src - x0
        weights = (((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                   ((a + 2) * t - (a + 3)) * t * t + 1,
                   ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                   ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a)
        for offset, weight in zip(range(-1, 3), weights):
            matrix[i, min(max(x0 + offset, 0), size - 1)] += weight
    return matrix.astype(np.float32)


def resize_position_embedding(pos: jax.Array, grid: int, out_hw: tuple[int, int]) -> jax.Array:
    """(1, 1 + grid², D) → (1, 1 + h·w, D): the patch positions resized from grid×grid to (h, w) by
    :func:`bicubic_matrix` along each axis (torchvision's ``interpolate_embeddings``), token 0 kept."""
    if out_hw == (grid, grid):
        return pos
    h, w = out_hw
    patches = pos[0, 1:].reshape(grid, grid, pos.shape[-1])
    resized = jnp.einsum("ih,hwd,jw->ijd", bicubic_matrix(grid, h), patches, bicubic_matrix(grid, w),
                         precision=jax.lax.Precision.HIGHEST)
    return jnp.concatenate([pos[:, :1], resized.reshape(1, h * w, pos.shape[-1])], axis=1)


class Encoder(nn.Module):
    """Adds ``pos_embedding`` (1, seq_length, D), resized to the input's (h, w) patch grid, runs the
    blocks, then the final LayerNorm ``ln``."""

    config: ViTConfig
    grid_hw: tuple[int, int]

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        pos = self.param("pos_embedding", nn.initializers.normal(0.02),
                         (1, self.config.seq_length, self.config.hidden_dim), jnp.float32)
        x = Dropout(name="dropout")(x + resize_position_embedding(pos, self.config.grid, self.grid_hw))
        return layer_norm("ln")(EncoderLayers(self.config, name="layers")(x))


class Heads(nn.Module):
    """torchvision's ``heads`` Sequential (no pre-logits): ``head``, a Linear D → num_classes."""

    num_classes: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return Dense(self.num_classes, name="head")(x)


class VisionTransformer(nn.Module):
    """(B, H, W, 3) ImageNet-normalised input → (B, num_classes) logits; H, W multiples of the patch
    size (torchvision's numbers at ``image_size``; see the module docstring for other sizes)."""

    config: ViTConfig = VIT_B_16
    num_classes: int = 1000

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        cfg = self.config
        p = cfg.patch_size
        if x.ndim != 4 or x.shape[1] % p or x.shape[2] % p or min(x.shape[1:3]) < p:
            raise GigjaxError(f"this ViT takes (B, H, W, 3) input with H and W multiples of its patch size {p} "
                              f"(it was trained at {cfg.image_size}×{cfg.image_size}), got shape {tuple(x.shape)}")
        patches = Conv2d(cfg.hidden_dim, p, p, 0, use_bias=True, name="conv_proj")(x)
        b, h, w, _ = patches.shape
        tokens = patches.reshape(b, h * w, cfg.hidden_dim)
        class_token = self.param("class_token", nn.initializers.zeros, (1, 1, cfg.hidden_dim), jnp.float32)
        tokens = jnp.concatenate([jnp.broadcast_to(class_token, (b, 1, cfg.hidden_dim)), tokens], axis=1)
        tokens = Encoder(cfg, (h, w), name="encoder")(tokens)
        return Heads(self.num_classes, name="heads")(tokens[:, 0])


_LAYER_NORMS = ("ln_1", "ln_2", "ln")
_IN_PROJ = {"in_proj_weight": "weight", "in_proj_bias": "bias"}
# torchvision < 0.14 named the MLP's Linears ``linear_1``/``linear_2`` (its published IMAGENET1K_V1
# checkpoint predates the rename); torchvision's MLPBlock._load_from_state_dict renames them to 0/3.
_LEGACY_MLP = {"linear_1": "0", "linear_2": "3"}


def torch_name_map(name: str) -> tuple[str, tuple[str, ...]] | None:
    """torchvision name → (collection, Flax path).

    ``encoder.layers.encoder_layer_3.self_attention.in_proj_weight`` →
    ``("params", ("encoder", "layers", "encoder_layer_3", "self_attention", "in_proj", "kernel"))`` (the
    (3D, D) Linear weight is transposed like any other), ``….ln_1.weight`` → ``….ln_1/scale``,
    ``class_token`` and ``encoder.pos_embedding`` keep their names; the legacy ``mlp.linear_1`` /
    ``mlp.linear_2`` are ``mlp/0`` / ``mlp/3``.
    """
    *module, leaf = name.split(".")
    if module[-2:-1] == ["mlp"] and module[-1] in _LEGACY_MLP:
        module[-1] = _LEGACY_MLP[module[-1]]
    if leaf in _IN_PROJ:
        module, leaf = module + ["in_proj"], _IN_PROJ[leaf]
    if not module:
        return "params", (leaf,)
    return convert.flax_target(tuple(module), leaf, batch_norm=module[-1] in _LAYER_NORMS)


def block(i: int) -> str:
    """Path of encoder block ``i``."""
    return f"encoder/layers/encoder_layer_{i}"


def probe_layers(config: ViTConfig = VIT_B_16) -> tuple[str, ...]:
    """The layers listed on the card: the patch embedding, every block, the last block's parts, ``encoder/ln``."""
    last = block(config.num_layers - 1)
    return (("conv_proj",) + tuple(block(i) for i in range(config.num_layers))
            + tuple(f"{last}/{part}" for part in ("ln_1", "self_attention", "ln_2", "mlp")) + ("encoder/ln",))


def token_layers(config: ViTConfig = VIT_B_16) -> frozenset[str]:
    """The listed layers whose output is tokens (B, 1 + patches, D): all but ``conv_proj``."""
    return frozenset(probe_layers(config)) - {"conv_proj"}


def last_stage(config: ViTConfig = VIT_B_16) -> tuple[str, ...]:
    """What ``--train-last-stage`` trains besides the head: the last block and the final LayerNorm."""
    return (block(config.num_layers - 1), "encoder/ln")


def cam_layer(config: ViTConfig = VIT_B_16) -> str:
    """The default CAM layer: the last block's ``ln_1`` (pytorch-grad-cam's ``blocks[-1].norm1`` for ViTs)."""
    return f"{block(config.num_layers - 1)}/ln_1"
