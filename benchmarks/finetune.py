"""Fine-tuning speed, gigjax (JAX, jit) vs PyTorch, on EfficientNet-Lite0 with the same weights, in ONE run.

Command (an environment with gigjax and the ``bench`` extra: torch, efficientnet-lite-pytorch)::

    python benchmarks/finetune.py [--quick] [--batch 32] [--steps 20]

What is timed (random 224×224 inputs, random 20-class multi-labels, each after warm-up steps, on
JAX's default device and on CUDA for torch when available, else both on CPU):

1. **features**: the frozen forward pass to the head's input (what a head-only fine-tune computes
   once per image): images/s. Torch: ``extract_features`` + pooling under ``no_grad``.
2. **last-stage step**: one optimisation step training ``blocks_15`` + ``head`` (conv + BN affine) + a
   new 20-way head, BatchNorm statistics frozen, AdamW, sigmoid BCE: exactly the step
   ``gigjax.finetune.finetune(train_layers=("blocks_15", "head"))`` runs. Torch: the same parameters
   with ``requires_grad``, ``model.eval()`` (frozen BN), ``torch.optim.AdamW``, ``BCEWithLogitsLoss``.
3. **head step** (gigjax only, for scale): one head-only step on cached features.

Prints per-item times and the ratio torch/gigjax (> 1: gigjax is faster).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

from timing import seconds_per_call, torch_lite0_model


def ours(batch: int, steps: int, crops: np.ndarray, labels: np.ndarray) -> dict:
    import gigjax
    from gigjax.finetune import backbone as bb
    from gigjax.finetune import train_step

    model = gigjax.load_model("efficientnet_lite0")
    head = bb.classifier_path(model)
    features = train_step.features_fn(model, head, flip=False)
    x = jnp.asarray(crops)
    t_feat = seconds_per_call(lambda: features(model.variables, x).block_until_ready(), steps, warmup=2)

    names = tuple(f"c{i}" for i in range(labels.shape[1]))
    new = bb.with_new_head(model, names, path=head)
    rest = {k: v for k, v in new.variables.items() if k != "params"}
    y, mask, order = jnp.asarray(labels), jnp.ones(labels.shape, bool), jnp.arange(batch)
    out = {"features": t_feat / batch}
    for name, layers, inputs in (("last_stage_step", ("blocks_15", "head"), x),
                                 ("head_step", (), features(model.variables, x))):
        trainable, frozen = bb.split_params(new.variables["params"], layers + (head,))
        optimizer = optax.adamw(1e-4, weight_decay=1e-4)
        step = train_step.step_fn(new, head, not layers, False, optimizer, batch)
        state = [trainable, optimizer.init(trainable)]

        def one():
            state[0], state[1], loss = step(state[0], state[1], frozen, rest, inputs, y, mask, order, 0,
                                            jax.random.PRNGKey(0), 0)
            loss.block_until_ready()

        out[name] = seconds_per_call(one, steps, warmup=2)
    return out


def torch_reference(batch: int, steps: int, crops: np.ndarray, labels: np.ndarray) -> dict:
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    model = torch_lite0_model()
    model._fc = torch.nn.Linear(1280, labels.shape[1])
    model = model.to(device).eval()
    x = torch.from_numpy(crops.astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2).contiguous().to(device)
    y = torch.from_numpy(labels.astype(np.float32)).to(device)

    def feat():
        with torch.no_grad():
            model._avg_pooling(model.extract_features(x)).flatten(1)
        sync()

    t_feat = seconds_per_call(feat, steps, warmup=2)
    trainable = [model._blocks[15], model._conv_head, model._bn1, model._fc]
    for p in model.parameters():
        p.requires_grad_(False)
    params = [p for m in trainable for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        sync()

    t_step = seconds_per_call(step, steps, warmup=2)
    return {"features": t_feat / batch, "last_stage_step": t_step, "device": device}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="batch 8, 3 timed steps (a smoke run)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    batch, steps = (8, 3) if args.quick else (args.batch, args.steps)
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (batch, 224, 224, 3), dtype=np.uint8)
    labels = rng.random((batch, 20)) < 0.1
    a = ours(batch, steps, crops, labels)
    b = torch_reference(batch, steps, crops, labels)
    print(f"EfficientNet-Lite0, batch {batch}, {steps} timed steps; JAX on {jax.default_backend()}, torch on {b['device']}")
    print(f"{'':18s} {'gigjax':>12s} {'torch':>12s} {'torch/gigjax':>13s}")
    print(f"{'features /image':18s} {1e3 * a['features']:10.2f}ms {1e3 * b['features']:10.2f}ms "
          f"{b['features'] / a['features']:12.2f}x")
    print(f"{'last-stage step':18s} {1e3 * a['last_stage_step']:10.2f}ms {1e3 * b['last_stage_step']:10.2f}ms "
          f"{b['last_stage_step'] / a['last_stage_step']:12.2f}x")
    print(f"{'head-only step':18s} {1e3 * a['head_step']:10.3f}ms {'—':>12s}")


if __name__ == "__main__":
    main()
