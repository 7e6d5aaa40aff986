"""``gigjax finetune``: train a multi-label (VOC) head on a zoo backbone, checkpointed, and report mAP.

Example (head only, features cached once; then the last stage too)::

    gigjax finetune --model resnet50 --weights resnet50.pth --dataset VOCdevkit/VOC2012 \\
        --split train --val-split val --epochs 10 --out voc_resnet50.npz
    gigjax finetune ... --train-last-stage --lr 1e-4 --out voc_resnet50_l4.npz

Checkpoints go to ``<out minus .npz>.ckpt`` every ``--checkpoint-every`` steps, at the end and on
Ctrl-C; running the same command again resumes from it (``--no-resume`` starts over, ``--resume``
insists on one). A checkpoint of different settings or data is refused, never mixed in.

The output ``.npz`` holds the flattened Flax variables plus ``__gigjax_meta__`` (arch, num_classes,
class names, validation mAP), for ``gigjax evaluate --weights``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from gigjax.commands.options import name_list
from gigjax.errors import GigjaxError
from gigjax.finetune import FinetuneConfig, finetune, last_stage, write_weights
from gigjax.finetune.average_precision import METHODS
from gigjax.models import available_models, load_model
from gigjax.models.zoo import architecture

HELP = "fine-tune a multi-label (VOC) classifier head on a zoo backbone and report VOC mAP"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="efficientnet_lite0", help=f"backbone: one of {', '.join(available_models())}")
    parser.add_argument("--weights", default=None,
                        help="backbone checkpoint (.pth, .safetensors or gigjax .npz; default: the embedded weights)")
    parser.add_argument("--dataset", required=True,
                        help="a VOCdevkit folder (e.g. VOCdevkit/VOC2012), a COCO JSON file or a TFDS name (voc/2012)")
    parser.add_argument("--data-dir", default=None, help="TFDS data folder (TFDS datasets only)")
    parser.add_argument("--split", default="train", help="training split / image set (default: train)")
    parser.add_argument("--val-split", default="val", help="validation split for the mAP, or 'none' (default: val)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, default=None, help="passes over the training set (default 10)")
    length.add_argument("--steps", type=int, default=None, help="optimisation steps (instead of --epochs)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step (default 32)")
    parser.add_argument("--lr", type=float, default=None,
                        help="peak learning rate, cosine-decayed (default 1e-3 head only, 1e-4 with more layers)")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    layers = parser.add_mutually_exclusive_group()
    layers.add_argument("--train-last-stage", action="store_true",
                        help="also train the backbone's last stage (ResNet50 layer4, VGG16 conv5+fc6/7, "
                             "Lite0 blocks_15+head)")
    layers.add_argument("--train-layers", type=name_list, default=None,
                        help="also train these layers (parameter path prefixes, comma-separated)")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True,
                        help="random horizontal flips (default on)")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed for data order and flips")
    parser.add_argument("--ap", choices=METHODS, default="area",
                        help="AP definition: area (VOC2010+, default) or 11point (VOC2007)")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints (default 100)")
    parser.add_argument("--log-every", type=int, default=20, help="steps between progress lines (default 20)")
    parser.add_argument("--out", required=True, help="output weight file (.npz)")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=None,
                        help="resume from the checkpoint (default: when one exists); --no-resume starts over")


def _open_dataset(spec: str, split: str, data_dir: str | None):
    """The evaluation readers' ``gigjax.data.open_dataset`` (VOCdevkit folder, COCO JSON, TFDS)."""
    try:
        from gigjax.data import open_dataset
    except ImportError:
        raise GigjaxError("this gigjax build has no dataset readers (gigjax.data.open_dataset)") from None
    return open_dataset(spec, split, data_dir=data_dir)


def checkpoint_path(out: str) -> str:
    """``voc.npz`` → ``voc.ckpt``."""
    return (out[:-4] if out.endswith(".npz") else out) + ".ckpt"


def _config(args: argparse.Namespace) -> FinetuneConfig:
    if args.train_last_stage:
        layers = last_stage(architecture(args.model).card(1000))
    else:
        layers = tuple(args.train_layers or ())
    lr = args.lr if args.lr is not None else (1e-4 if layers else 1e-3)
    return FinetuneConfig(train_layers=layers, epochs=args.epochs, steps=args.steps, batch_size=args.batch_size,
                          lr=lr, weight_decay=args.weight_decay, flip=args.flip, seed=args.seed, ap_method=args.ap,
                          checkpoint_every=args.checkpoint_every, log_every=args.log_every)


def _report(result, names) -> None:
    val = result.val
    print(f"validation mAP ({val.method}): {100 * val.map:.2f} over {len(names) - val.undefined} classes, "
          f"{val.images} images")
    for name, ap in zip(names, val.ap):
        print(f"  {name:16s} {'—  (no positive image)' if np.isnan(ap) else f'{100 * ap:6.2f}'}")


def run(args: argparse.Namespace) -> int:
    if not args.out.endswith(".npz"):
        raise GigjaxError(f"--out must name a .npz file, got {args.out!r}")
    if args.model not in available_models():
        raise GigjaxError(f"unknown model {args.model!r}; available: {', '.join(available_models())}")
    config = _config(args)  # bad numbers fail here, before any data or weights are read
    train = _open_dataset(args.dataset, args.split, args.data_dir)
    val = None if args.val_split.lower() == "none" else _open_dataset(args.dataset, args.val_split, args.data_dir)
    backbone = load_model(args.model, args.weights)
    ckpt = checkpoint_path(args.out)
    print(f"fine-tuning {args.model} on {args.dataset}:{args.split} ({len(train)} images, "
          f"{len(train.class_names)} classes); training {'head + ' + ', '.join(config.train_layers) if config.train_layers else 'the head only'}")
    result = finetune(backbone, train, val, config, class_names=train.class_names, checkpoint=ckpt,
                      resume=args.resume, log=print)
    extra = {"dataset": os.fspath(args.dataset), "split": args.split, "steps": int(len(result.losses)),
             "train_layers": list(config.train_layers)}
    if result.val is not None:
        extra.update(val_split=args.val_split, ap_method=result.val.method,
                     val_map=None if np.isnan(result.val.map) else round(float(result.val.map), 6))
        _report(result, train.class_names)
    write_weights(args.out, result.model, **extra)
    print(f"wrote {args.out} (checkpoint {ckpt})")
    return 0
