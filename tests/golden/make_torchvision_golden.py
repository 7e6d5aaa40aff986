"""Generates the torchvision goldens and the checkpoint-format fixtures, once, with PyTorch.

Run from the repository root with the reference environment (torch 2.14.1, torchvision 0.29.1,
safetensors)::

    /work/refenv/bin/python tests/golden/make_torchvision_golden.py

Writes (all small, committed):

* ``tests/golden/torchvision_random.npz`` — logits of torchvision's ``resnet50()`` and ``vgg16()``
  filled with :func:`numpy_weights.random_state_dict` (seed 0) on :func:`numpy_weights.input_batch`
  (seed 1, 2×3×224×224), evaluated in ``eval()`` mode in float32;
* ``tests/golden/torch_ops.npz`` — ``adaptive_avg_pool2d`` and ``max_pool2d`` on small seeded inputs
  (NCHW inputs and outputs), for the layer tests;
* ``tests/golden/checkpoints/tiny_{zip,legacy,wrapped}.pth`` and ``tiny.safetensors`` — the tensors of
  :func:`numpy_weights.tiny_checkpoint_arrays` saved by ``torch.save`` (zip format; legacy format via
  ``_use_new_zipfile_serialization=False``; zip format wrapped as ``{"epoch": 3, "state_dict": ...}``)
  and by ``safetensors.torch.save_file``.

The weights themselves are not stored: the tests regenerate them from the same seed without torch.
"""

from __future__ import annotations

import collections
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

import numpy_weights  # the torch-free generator next to this script

HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHT_SEED, INPUT_SEED = 0, 1


def torchvision_logits(arch: str) -> np.ndarray:
    model = getattr(torchvision.models, arch)(weights=None).eval()
    reference = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    ours = [(name, shape) for name, shape, _ in numpy_weights.torchvision_entries(arch)]
    if reference != ours:
        sys.exit(f"numpy_weights.torchvision_entries({arch!r}) does not match torchvision's state dict")
    state = numpy_weights.random_state_dict(arch, WEIGHT_SEED)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()}, strict=True)
    with torch.no_grad():
        logits = model(torch.from_numpy(numpy_weights.input_batch(INPUT_SEED))).numpy()
    print(f"{arch}: logits std {logits.std():.3f}, max |logit| {np.abs(logits).max():.3f}, "
          f"top-1 {logits.argmax(1).tolist()}")
    return logits


def torch_ops() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(2)
    out = {}
    for shape, size in [((1, 4, 10, 10), (7, 7)), ((2, 3, 13, 9), (7, 7)), ((1, 2, 14, 14), (7, 7)),
                        ((1, 2, 5, 6), (3, 4))]:
        x = rng.standard_normal(shape).astype(np.float32)
        key = f"adaptive_{'x'.join(map(str, shape[2:]))}_to_{'x'.join(map(str, size))}"
        out[key + "_in"] = x
        out[key + "_out"] = F.adaptive_avg_pool2d(torch.from_numpy(x), size).numpy()
    x = -np.abs(rng.standard_normal((2, 3, 9, 9))).astype(np.float32) - 1.0  # all negative: padding must lose
    out["maxpool_in"] = x
    out["maxpool_k3s2p1_out"] = F.max_pool2d(torch.from_numpy(x), 3, 2, 1).numpy()
    out["maxpool_k2s2p0_out"] = F.max_pool2d(torch.from_numpy(x), 2, 2, 0).numpy()
    return out


def tiny_tensors() -> "collections.OrderedDict[str, torch.Tensor]":
    """The fixture tensors in torch, with the storage layouts the tests must decode."""
    arrays = numpy_weights.tiny_checkpoint_arrays()
    tensors = collections.OrderedDict()
    for name, value in arrays.items():
        if name.endswith(".T"):
            tensors[name] = torch.from_numpy(np.ascontiguousarray(value.T)).t()  # non-contiguous view
        elif name == "view":
            tensors[name] = tensors["base"][5:11]  # shares base's storage at offset 5
        elif name == "bf16":
            tensors[name] = torch.from_numpy(value).to(torch.bfloat16)
        else:
            tensors[name] = torch.from_numpy(value.copy())
    assert not tensors["linear.weight.T"].is_contiguous()
    assert tensors["view"].untyped_storage().data_ptr() == tensors["base"].untyped_storage().data_ptr()
    return tensors


def write_checkpoints(directory: str) -> None:
    from safetensors.torch import save_file

    os.makedirs(directory, exist_ok=True)
    tensors = tiny_tensors()
    torch.save(tensors, os.path.join(directory, "tiny_zip.pth"))
    torch.save(tensors, os.path.join(directory, "tiny_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 3, "state_dict": tensors}, os.path.join(directory, "tiny_wrapped.pth"))
    save_file({k: v.contiguous().clone() for k, v in tensors.items()}, os.path.join(directory, "tiny.safetensors"))


def main() -> None:
    torch.manual_seed(0)
    logits = {f"{arch}_logits": torchvision_logits(arch) for arch in ("resnet50", "vgg16")}
    np.savez(os.path.join(HERE, "torchvision_random.npz"), weight_seed=WEIGHT_SEED, input_seed=INPUT_SEED,
             torch_version=torch.__version__, torchvision_version=torchvision.__version__, **logits)
    np.savez(os.path.join(HERE, "torch_ops.npz"), **torch_ops())
    write_checkpoints(os.path.join(HERE, "checkpoints"))
    print("written to", HERE)


if __name__ == "__main__":
    main()
