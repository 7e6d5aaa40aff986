"""Torch-free arrays shared by the golden scripts (run with torch) and the tests (run without it).

Everything here is a pure function of a seed through ``numpy.random.RandomState`` (whose stream numpy
freezes, NEP 19), so a golden script can fill a torchvision model with these arrays once, store its
outputs small, and a test can rebuild the very same arrays without torch.

* :func:`torchvision_entries` — the (name, shape, role) list of torchvision's ``resnet50()``,
  ``vgg16()`` and ``vit_b_16()`` state dicts (:func:`vit_entries` for any ``VisionTransformer``
  size), written out independently of both torchvision and gigjax (the golden script asserts it
  equals torchvision's ``state_dict()``, names, shapes and order);
* :func:`random_state_dict` — seeded weights at a scale that keeps activations of order 1;
* :func:`input_batch` — the seeded NCHW input batch;
* :func:`tiny_checkpoint_arrays` — the few small tensors of the file-format fixtures;
* :func:`write_safetensors` — the safetensors format (8-byte header length, JSON header, raw bytes).
"""

from __future__ import annotations

import collections
import json
import struct

import numpy as np

RESNET50_STAGES = ((3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2))
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def _bn(prefix: str, channels: int, role: str = "bn") -> list[tuple[str, tuple[int, ...], str]]:
    return [(f"{prefix}.weight", (channels,), f"{role}_weight"), (f"{prefix}.bias", (channels,), "bn_bias"),
            (f"{prefix}.running_mean", (channels,), "bn_mean"), (f"{prefix}.running_var", (channels,), "bn_var"),
            (f"{prefix}.num_batches_tracked", (), "bn_count")]


def _resnet50(num_classes: int) -> list[tuple[str, tuple[int, ...], str]]:
    entries = [("conv1.weight", (64, 3, 7, 7), "conv"), *_bn("bn1", 64)]
    inplanes = 64
    for s, (blocks, width, stride) in enumerate(RESNET50_STAGES):
        for b in range(blocks):
            p = f"layer{s + 1}.{b}"
            entries += [(f"{p}.conv1.weight", (width, inplanes, 1, 1), "conv"), *_bn(f"{p}.bn1", width),
                        (f"{p}.conv2.weight", (width, width, 3, 3), "conv"), *_bn(f"{p}.bn2", width),
                        (f"{p}.conv3.weight", (4 * width, width, 1, 1), "conv"),
                        *_bn(f"{p}.bn3", 4 * width, role="residual_bn")]
            if b == 0 and (stride != 1 or inplanes != 4 * width):
                entries += [(f"{p}.downsample.0.weight", (4 * width, inplanes, 1, 1), "conv"),
                            *_bn(f"{p}.downsample.1", 4 * width)]
            inplanes = 4 * width
    return entries + [("fc.weight", (num_classes, 2048), "logits"), ("fc.bias", (num_classes,), "bias")]


def _vgg16(num_classes: int) -> list[tuple[str, tuple[int, ...], str]]:
    entries, channels, index = [], 3, 0
    for entry in VGG16_CONFIG:
        if entry == "M":
            index += 1
            continue
        entries += [(f"features.{index}.weight", (entry, channels, 3, 3), "conv"),
                    (f"features.{index}.bias", (entry,), "bias")]
        channels, index = entry, index + 2
    for i, (n_out, n_in, role) in enumerate([(4096, 512 * 7 * 7, "linear"), (4096, 4096, "linear"),
                                             (num_classes, 4096, "logits")]):
        entries += [(f"classifier.{3 * i}.weight", (n_out, n_in), role), (f"classifier.{3 * i}.bias", (n_out,), "bias")]
    return entries


# torchvision.models.VisionTransformer keyword arguments of vit_b_16, and of the tiny ViT of the fast tests.
VIT_B_16 = dict(image_size=224, patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072)
VIT_TINY = dict(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=24)


def vit_entries(image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                mlp_dim: int, num_classes: int = 1000) -> list[tuple[str, tuple[int, ...], str]]:
    """(torch name, shape, role) of a torchvision ``VisionTransformer`` (no conv stem, no pre-logits)."""
    d, seq = hidden_dim, (image_size // patch_size) ** 2 + 1
    entries = [("class_token", (1, 1, d), "embedding"), ("conv_proj.weight", (d, 3, patch_size, patch_size), "proj"),
               ("conv_proj.bias", (d,), "bias"), ("encoder.pos_embedding", (1, seq, d), "embedding")]
    for i in range(num_layers):
        p = f"encoder.layers.encoder_layer_{i}"
        entries += [(f"{p}.ln_1.weight", (d,), "ln_weight"), (f"{p}.ln_1.bias", (d,), "bias"),
                    (f"{p}.self_attention.in_proj_weight", (3 * d, d), "proj"),
                    (f"{p}.self_attention.in_proj_bias", (3 * d,), "bias"),
                    (f"{p}.self_attention.out_proj.weight", (d, d), "proj"),
                    (f"{p}.self_attention.out_proj.bias", (d,), "bias"),
                    (f"{p}.ln_2.weight", (d,), "ln_weight"), (f"{p}.ln_2.bias", (d,), "bias"),
                    (f"{p}.mlp.0.weight", (mlp_dim, d), "linear"), (f"{p}.mlp.0.bias", (mlp_dim,), "bias"),
                    (f"{p}.mlp.3.weight", (d, mlp_dim), "proj"), (f"{p}.mlp.3.bias", (d,), "bias")]
    return entries + [("encoder.ln.weight", (d,), "ln_weight"), ("encoder.ln.bias", (d,), "bias"),
                      ("heads.head.weight", (num_classes, d), "logits"), ("heads.head.bias", (num_classes,), "bias")]


def torchvision_entries(arch: str, num_classes: int = 1000) -> list[tuple[str, tuple[int, ...], str]]:
    """(torch name, shape, role) of every state-dict entry of torchvision's ``arch``, in order."""
    if arch == "vit_b_16":
        return vit_entries(**VIT_B_16, num_classes=num_classes)
    return {"resnet50": _resnet50, "vgg16": _vgg16}[arch](num_classes)


def _uniform(rng: np.random.RandomState, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
    """float32 U(low, high) drawn in chunks, so a 100M-entry tensor never exists in float64."""
    out = np.empty(int(np.prod(shape, dtype=np.int64)), np.float32)
    chunk = 1 << 22
    for start in range(0, out.size, chunk):
        n = min(chunk, out.size - start)
        out[start:start + n] = rng.uniform(low, high, n)
    return out.reshape(shape)


def _fill(rng: np.random.RandomState, shape: tuple[int, ...], role: str) -> np.ndarray:
    if role == "bn_count":
        return np.array(rng.randint(0, 1000), np.int64)
    if role in ("conv", "linear", "logits", "proj"):
        fan_in = int(np.prod(shape[1:]))
        gain = 2.0 if role in ("conv", "linear") else 1.0  # He scaling before a ReLU/GELU, unit gain otherwise
        bound = float(np.sqrt(3.0 * gain / fan_in))
        return _uniform(rng, -bound, bound, shape)
    low, high = {"bias": (-0.1, 0.1), "bn_bias": (-0.1, 0.1), "bn_mean": (-0.1, 0.1), "bn_var": (0.5, 1.5),
                 "bn_weight": (0.5, 1.0), "residual_bn_weight": (0.1, 0.3),
                 "ln_weight": (0.5, 1.5), "embedding": (-0.5, 0.5)}[role]
    return _uniform(rng, low, high, shape)


def random_state_dict(arch: str, seed: int = 0, num_classes: int = 1000) -> "collections.OrderedDict[str, np.ndarray]":
    """Seeded weights for torchvision's ``arch`` (``"resnet50"``/``"vgg16"``/``"vit_b_16"``) as
    ``{torch name: array}``.

    Convs and linears are U(±√(3·gain/fan_in)) (He, gain 2 before a ReLU/GELU; gain 1 for the logits
    layer and the ViT's patch, attention and MLP-output projections); BatchNorm running variances lie
    in [0.5, 1.5] and the last BN of each residual branch has weights in [0.1, 0.3], so the residual
    sums of an un-trained ResNet stay of order 1. LayerNorm weights lie in [0.5, 1.5], the ViT's class
    token and position embedding in [−0.5, 0.5].
    """
    return state_dict_of(torchvision_entries(arch, num_classes), seed)


def state_dict_of(entries, seed: int = 0) -> "collections.OrderedDict[str, np.ndarray]":
    """Seeded weights for a (name, shape, role) list (see :func:`random_state_dict`)."""
    rng = np.random.RandomState(seed)
    return collections.OrderedDict((name, _fill(rng, shape, role)) for name, shape, role in entries)


def input_batch(seed: int = 1, batch: int = 2, size: int = 224) -> np.ndarray:
    """(batch, 3, size, size) float32 input in torch's NCHW layout: N(0, 1) noise, plus, on every odd
    image, a per-channel ramp across the width (so the images' logits differ clearly)."""
    x = np.random.RandomState(seed).standard_normal((batch, 3, size, size))
    ramp = np.linspace(-1.5, 1.5, size)[None, None, :] * np.array([1.0, -1.0, 0.5])[:, None, None]
    x[1::2] = 0.5 * x[1::2] + ramp
    return x.astype(np.float32)


def tiny_checkpoint_arrays() -> "collections.OrderedDict[str, np.ndarray]":
    """The tensors of the tiny file-format fixtures, with the dtypes they are stored in.

    Names ending in ``.T`` are stored by torch as a transposed (non-contiguous) view of the array's
    transpose; ``view`` is stored as a slice of ``base`` (one shared storage, non-zero offset);
    ``bf16`` values are exactly representable in bfloat16 (read back widened to float32).
    """
    arrays = collections.OrderedDict()
    arrays["conv.weight"] = (np.arange(2 * 3 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 3) - 20.5) / 8
    arrays["bn.running_var"] = np.array([0.5, 1.25, 3.0], np.float32)
    arrays["bn.num_batches_tracked"] = np.array(7, np.int64)
    arrays["linear.weight.T"] = np.arange(12, dtype=np.float32).reshape(4, 3) * -0.5
    arrays["base"] = np.arange(20, dtype=np.float32) ** 2
    arrays["view"] = arrays["base"][5:11].copy()
    arrays["half"] = np.array([[0.5, -1.5], [65504.0, 1e-3]], np.float16)
    arrays["double"] = np.array([np.pi, -np.e], np.float64)
    arrays["int32"] = np.array([-(2 ** 31), 2 ** 31 - 1, 3], np.int32)
    arrays["mask"] = np.array([True, False, True])
    arrays["bf16"] = np.array([1.0, -2.5, 0.15625, 2.0 ** 100], np.float32)
    return arrays


_SAFETENSORS_NAMES = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32",
                      "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


def write_safetensors(path, tensors) -> None:
    """Writes ``{name: array}`` in the safetensors format (little-endian, C order)."""
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        value = np.ascontiguousarray(value)
        data = value.astype(value.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _SAFETENSORS_NAMES[value.dtype.name], "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
