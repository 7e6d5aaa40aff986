"""``gigjax evaluate``: the paper's metrics for any registered methods on an annotated dataset.

Results stream to ``--out`` as they are computed; running the same command again resumes an
interrupted run (Ctrl-C, crash, kill) without recomputing finished images. Batches are sharded over
every local device, or, with ``--coordinator/--num-processes/--process-id`` (or ``--distributed auto``)
given to every process of a multi-host job, over every device of every process (see
:mod:`gigjax.distributed`). See :mod:`gigjax.evaluation`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from gigjax import distributed
from gigjax.commands import options as cli_options
from gigjax.data import open_dataset
from gigjax.errors import GigjaxError
from gigjax.evaluation import Evaluation
from gigjax.evaluation.class_targets import CLASS_MAPS, MAPPED_TARGETS
from gigjax.metrics import METRICS, TABLE
from gigjax.models import available_models, load_model

HELP = "evaluate methods on a dataset (pointing game, energy PG, drop/increase, deletion/insertion); resumable"


def _metrics_help() -> str:
    """Every metric of the table, with its description (the epilog of ``gigjax evaluate --help``)."""
    return "metrics: " + "; ".join(
        f"{name} ({row.title}, {row.better} is better{'' if row.default else ', not in the default'}): "
        f"{row.description}" for name, row in TABLE.items())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = _metrics_help()
    d = parser.add_argument_group("data")
    d.add_argument("--dataset", required=True,
                   help="a TFDS name (voc/2012, voc/2007, coco/2014, imagenet2012), a VOCdevkit folder "
                        "or a COCO JSON file")
    d.add_argument("--split", default=None,
                   help="TFDS split (default: validation; test for voc/2007) or VOC image set (default: val)")
    d.add_argument("--data-dir", default=None, help="TFDS data folder (default: TFDS's own)")
    d.add_argument("--boxes", default=None, help="imagenet2012: folder of ILSVRC validation box XML files")
    d.add_argument("--images", default=None, help="COCO JSON: folder its file_name entries are relative to")
    d.add_argument("--limit", type=int, default=None, help="evaluate only the first N images")
    m = parser.add_argument_group("model")
    m.add_argument("--model", default="efficientnet_lite0", help=f"one of {', '.join(available_models())}")
    m.add_argument("--weights", default=None, help="checkpoint path (.pth, .safetensors or gigjax .npz)")
    m.add_argument("--num-classes", type=int, default=None,
                   help="outputs of the checkpoint's head (default 1000, or what a gigjax .npz records; e.g. 20 for a VOC head)")
    m.add_argument("--class-names", default=None,
                   help="the head's class names: a comma list or a text file, one per line (default: "
                        "ImageNet's for 1000 classes, else the dataset's when the counts agree)")
    m.add_argument("--class-map", choices=CLASS_MAPS, default="auto",
                   help="how dataset classes become targets: auto (the model's own classes when they "
                        "match, else the VOC/COCO→ImageNet map for an ImageNet model), none, imagenet")
    m.add_argument("--mapped-target", choices=MAPPED_TARGETS, default="logsumexp",
                   help="with a class map: explain the class's log-sum-exp score, or its top-scoring "
                        "ImageNet class (needed by methods that take class indices, e.g. Score-CAM)")
    e = parser.add_argument_group("evaluation")
    e.add_argument("--methods", type=cli_options.name_list, default=("gradcam",),
                   help="method names, comma-separated (see `gigjax methods`)")
    e.add_argument("--metrics", type=cli_options.name_list, default=METRICS,
                   help=f"comma-separated, any of {', '.join(TABLE)} (default: {', '.join(METRICS)})")
    e.add_argument("--batch-size", type=int, default=8, help="images per batch (rounded up to the device count)")
    e.add_argument("--out", default="gigjax-eval", help="output folder; an existing run there is resumed")
    cli_options.add_setting_arguments(e)
    e.add_argument("--examples", type=int, default=4, help="images shown in the example-map grid")
    e.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="an unreadable image stops the run (raise) or is recorded as failed (skip)")
    e.add_argument("--no-progress", action="store_true", help="no progress bar (it is drawn only on a terminal)")
    s = parser.add_argument_group("scale (several processes: give the same command on every host)")
    s.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="process 0's address for JAX's distributed runtime (e.g. node0:1234)")
    s.add_argument("--num-processes", type=int, default=None, help="processes in the job")
    s.add_argument("--process-id", type=int, default=None, help="this process's rank, 0..N-1")
    s.add_argument("--distributed", choices=("auto",), default=None,
                   help="auto: the environment names the processes (Cloud TPU, SLURM, Open MPI)")
    cli_options.add_postprocess_arguments(parser)
    cli_options.add_method_arguments(parser)



def join_job(args: argparse.Namespace) -> None:
    """Joins the distributed job the scale arguments describe (nothing when none is given)."""
    given = (args.coordinator, args.num_processes, args.process_id)
    if args.distributed == "auto" or any(v is not None for v in given):
        distributed.initialize(*given, auto=args.distributed == "auto")


def _class_names(spec: str | None, num_classes: int, dataset) -> tuple[str, ...] | None:
    if spec is None:
        if num_classes != 1000 and num_classes == len(dataset.class_names):
            print(f"gigjax: taking the dataset's {num_classes} class names for the model's head "
                  f"(give --class-names to override)", file=sys.stderr)
            return tuple(dataset.class_names)
        return None
    if os.path.isfile(spec):
        with open(spec, encoding="utf-8") as f:
            names = tuple(line.strip() for line in f if line.strip())
    else:
        names = tuple(n.strip() for n in spec.split(",") if n.strip())
    if len(names) != num_classes:
        raise GigjaxError(f"--class-names gives {len(names)} names for a head of {num_classes} classes")
    return names


def _postprocess(args) -> dict:
    post = cli_options.postprocess_options(args)
    if not post.pop("normalize"):
        raise GigjaxError("--no-normalize does not apply: the metrics need normalised maps")
    return post


def run(args: argparse.Namespace) -> int:
    join_job(args)  # before JAX computes anything
    dataset = open_dataset(args.dataset, args.split, data_dir=args.data_dir, boxes=args.boxes, images=args.images)
    model = load_model(args.model, args.weights, **({"num_classes": args.num_classes} if args.num_classes else {}))
    num_classes = model.card.num_classes  # a fine-tuned .npz brings its head size and class names
    generic = model.card.class_names == tuple(f"class_{i}" for i in range(num_classes))
    names = _class_names(args.class_names, num_classes, dataset) if generic or args.class_names else None
    if names is not None:
        model = model.replace(card=dataclasses.replace(model.card, class_names=names))
    methods = tuple(args.methods)
    evaluation = Evaluation(
        model, dataset, methods, args.out, metrics=tuple(args.metrics), batch_size=args.batch_size,
        limit=args.limit, settings=cli_options.setting_values(args),
        method_options=cli_options.method_options(args, methods), postprocess=_postprocess(args),
        class_map=args.class_map, mapped_target=args.mapped_target, examples=args.examples,
        on_error=args.on_error, progress=not args.no_progress,
        weights_file=args.weights if args.weights and os.path.isfile(args.weights) else None,
        model_id=f"{args.model}:{os.path.abspath(args.weights) if args.weights else 'embedded'}:{num_classes}")
    who = "" if evaluation.processes == 1 else f"process {evaluation.process} of {evaluation.processes}, "
    print(f"gigjax: {who}{dataset!r}, {evaluation.count} images, methods {', '.join(methods)}, "
          f"{evaluation.sharding.count} device(s), results in {args.out}", file=sys.stderr)
    summary = evaluation.run()
    if evaluation.process != 0:
        print(f"gigjax: process {evaluation.process}: share done; process 0 wrote {summary['files']['md']}")
        return 0
    with open(summary["files"]["md"], encoding="utf-8") as f:
        print(f.read())
    for kind, path in summary["files"].items():
        print(f"wrote {path}")
    return 0
