"""The seed paper's table: Pointing Game, Energy-based PG, Average Drop and Increase in Confidence
for the CAM family and GIG-CAM, ours beside the paper's (spec §5: GIG-CAM(F), ResNet50).

Each method runs as its own resumable ``gigjax evaluate`` run under ``--out/<method>``, so the table
can be rebuilt, extended or finished later without recomputing. A method that fails is reported with
its error, never crashing the table.

Usage::

    python benchmarks/paper_table.py                       # the labelme VOC photos (fetched if missing)
    python benchmarks/paper_table.py --quick               # 3 images, each option's quick value (few steps, ...)
    python benchmarks/paper_table.py --dataset voc/2012 --model resnet50 --weights resnet50.pth
    python benchmarks/paper_table.py --dataset imagenet2012 --boxes ILSVRC2012_bbox_val --model resnet50 ...
    python benchmarks/paper_table.py --option gigcam.steps=50 --option scorecam.batch=64

The paper used ResNet50 on VOC2012 (val) and ILSVRC2012 (val); its figures are printed in the column
matching the dataset (VOC → VOC2012, ImageNet → ILSVRC2012, otherwise both for reference).
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_VOC = os.path.join(ROOT, "tests", ".fixtures", "labelme", "voc")

# (row, registered method name, extra explainer options).
ROWS = (
    ("Grad-CAM", "gradcam", {}),
    ("Grad-CAM++", "gradcam_pp", {}),
    ("Score-CAM", "scorecam", {}),
    ("LayerCAM", "layercam", {}),
    ("Integrated Grad-CAM", "integrated_gradcam", {}),
    ("GIG-CAM", "gigcam", {}),
    ("GIG-CAM(F)", "gigcam_f", {}),
    ("FG-CAM", "fgcam", {}),
)
METRICS = ("pointing_game", "energy_pointing_game", "average_drop", "increase_in_confidence")
PAPER = {  # GIG-CAM(F), ResNet50 (Gao, Miao, Zhang, KSII TIIS 19(4), 2025)
    "VOC2012": {"pointing_game": 82.80, "energy_pointing_game": 62.41, "average_drop": 22.59,
                "increase_in_confidence": 31.00},
    "ILSVRC2012": {"pointing_game": 85.90, "energy_pointing_game": 59.69, "average_drop": 17.04,
                   "increase_in_confidence": 21.95},
}


def _parse_options(items) -> dict:
    """['gigcam.steps=50', ...] → {'gigcam': {'steps': 50}}."""
    out: dict = {}
    for item in items or ():
        try:
            key, value = item.split("=", 1)
            method, name = key.split(".", 1)
        except ValueError:
            raise SystemExit(f"--option must look like method.name=value, got {item!r}")
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        out.setdefault(method, {})[name] = value
    return out


def _quick_options(method: str) -> dict:
    """A smoke run's options: each option's declared cheap value (``Option.quick``: e.g. 3 path steps,
    Score-CAM's ``max_channels`` 64 of its masked forwards, one per channel)."""
    from gigjax.registry import get_method

    return {name: o.quick for name, o in get_method(method).options.items() if o.quick is not None}


def _channel_note(label: str, method_opts: dict, model, post: dict) -> str:
    """Says how many channels a ``max_channels`` run scored, e.g. '64 of 1280 channels (fixed sample)'."""
    if not method_opts.get("max_channels"):
        return ""
    from gigjax.probe import list_layers

    layer = post.get("layer", model.card.cam_layer)
    total = list_layers(model)[layer][-1]
    if method_opts["max_channels"] >= total:
        return ""
    return (f"{label}: scored on {method_opts['max_channels']} of the {total} channels of {layer} (a fixed random "
            f"sample, seed 0; max_channels=0 scores all)")


def _top_target_note(label: str, exc: Exception) -> str:
    """The note for a method re-run with ``mapped_target='top'``, in words a user can act on."""
    return (f"{label} explains one class index per image, but a VOC/COCO class stands for several ImageNet "
            f"classes (the log-sum-exp of their scores), so each class is explained by its highest-scoring "
            f"ImageNet class instead (as `gigjax evaluate --mapped-target top` does). [{str(exc).splitlines()[0]}]")


def _paper_columns(dataset) -> tuple[str, ...]:
    return {"voc": ("VOC2012",), "imagenet": ("ILSVRC2012",)}.get(dataset.family, ("VOC2012", "ILSVRC2012"))


def _fmt(v) -> str:
    return "n/a" if v is None or v != v else f"{v:.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=None, help="default: the labelme VOC test photos")
    parser.add_argument("--split", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--boxes", default=None, help="imagenet2012: ILSVRC validation box XML folder")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--class-map", default="auto", choices=("auto", "none", "imagenet"))
    parser.add_argument("--methods", default=None, help="comma-separated subset of the rows' method names")
    parser.add_argument("--metrics", default=",".join(METRICS))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--option", action="append", help="method option, e.g. gigcam.steps=50 (repeatable)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "out", "paper_table"))
    parser.add_argument("--quick", action="store_true",
                        help="3 images and each option's quick value (e.g. 3 path steps, Score-CAM on 64 "
                             "sampled channels)")
    from gigjax import compile_cache

    compile_cache.add_argument(parser)
    args = parser.parse_args(argv)
    wanted = None if args.methods is None else {m.strip() for m in args.methods.split(",") if m.strip()}
    row_methods = [method for _, method, _ in ROWS]
    unknown = sorted((wanted or set()) - set(row_methods))
    if unknown:
        raise SystemExit(f"--methods: no row for {', '.join(unknown)}; the rows are {', '.join(row_methods)}")

    import gigjax
    from gigjax.data import open_dataset
    from gigjax.errors import GigjaxError
    from gigjax.evaluation import Evaluation
    import jax

    compile_cache.setup(args.compile_cache)  # as the gigjax command: a rerun skips XLA compilation
    dataset_spec = args.dataset
    if dataset_spec is None:
        if not os.path.isdir(FIXTURE_VOC):
            subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "fetch.py")], check=False)
        dataset_spec = FIXTURE_VOC
    dataset = open_dataset(dataset_spec, args.split, data_dir=args.data_dir, boxes=args.boxes)
    model = gigjax.load_model(args.model, args.weights, num_classes=args.num_classes)
    limit = 3 if args.quick and args.limit is None else args.limit
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    options = _parse_options(args.option)
    columns = _paper_columns(dataset)

    print(f"# Paper table: {dataset!r}, model {args.model}, {jax.local_device_count()} {jax.default_backend()} "
          f"device(s), {limit or len(dataset)} images\n")
    rows, notes = [], []
    for label, method, extra in ROWS:
        if wanted is not None and method not in wanted:
            continue
        opts = dict(extra)
        if args.quick:
            opts = {**_quick_options(method), **opts}
        opts.update(options.get(method, {}))
        method_opts = {k: v for k, v in opts.items() if k != "scales"}
        post = {"scales": opts["scales"]} if "scales" in opts else {}
        run_metrics, why = metrics, ""
        start = time.perf_counter()
        try:
            kwargs = dict(batch_size=args.batch_size, limit=limit, method_options={method: method_opts},
                          postprocess=post, class_map=args.class_map, progress=True,
                          model_id=f"{args.model}:{args.weights or 'embedded'}:{args.num_classes}")
            out = os.path.join(args.out, method)
            try:
                evaluation = Evaluation(model, dataset, [method], out, metrics=run_metrics, **kwargs)
            except GigjaxError as exc:  # e.g. no class map for these classes: keep the confidence metrics
                run_metrics = tuple(m for m in metrics if m not in ("pointing_game", "energy_pointing_game"))
                if not run_metrics or "class" not in str(exc):
                    raise
                why = f"pointing metrics unavailable: {exc}"
                evaluation = Evaluation(model, dataset, [method], out + "-confidence", metrics=run_metrics, **kwargs)
            try:
                summary = evaluation.run()["methods"][method]
            except GigjaxError as exc:
                if evaluation.targets is None or evaluation.targets.mode != "mapped":
                    raise
                # e.g. Score-CAM needs class indices: explain each class's top-scoring ImageNet class
                notes.append(_top_target_note(label, exc))
                evaluation = Evaluation(model, dataset, [method], out + "-top", metrics=run_metrics,
                                        mapped_target="top", **kwargs)
                summary = evaluation.run()["methods"][method]
        except (GigjaxError, ValueError, RuntimeError) as exc:
            rows.append((label, None, f"failed: {str(exc).splitlines()[0]}"))
            continue
        seconds = time.perf_counter() - start
        channels = _channel_note(label, method_opts, model, post)
        rows.append((label, {m: summary.get(m, {}).get("value") for m in METRICS},
                     f"{seconds:.0f} s" + (f", {method_opts['max_channels']} channels sampled" if channels else "")))
        if channels:
            notes.append(channels)
        if why:
            notes.append(f"{label}: {why}")

    header = ["Method"] + ["PG %", "EBPG %", "Drop % (lower)", "Increase %"] + ["note"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for label, values, note in rows:
        cells = [_fmt(values.get(m)) for m in METRICS] if values else ["—"] * len(METRICS)
        print("| " + " | ".join([label] + cells + [note]) + " |")
    for column in columns:
        paper = [_fmt(PAPER[column][m]) for m in METRICS]
        print("| " + " | ".join([f"GIG-CAM(F), paper ({column}, ResNet50)"] + paper + ["published"]) + " |")
    print()
    for note in notes:
        print(f"- {note}")
    print("Our figures depend on the model and data: compare like with like (the paper: ResNet50, full "
          "VOC2012 val / ILSVRC2012 val).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
