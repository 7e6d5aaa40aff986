"""What the table benchmarks share (benchmarks/paper_table.py, benchmarks/fusion_ablation.py): the
command-line arguments for data, model and run, opening the dataset and the model, and running one
table row as its own resumable ``gigjax evaluate`` run (:class:`gigjax.evaluation.Evaluation`) in a
sub-folder of ``--out``, so a table can be rebuilt, extended or finished later without recomputing.

A row that fails is returned with its error, never crashing the table.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_CACHE = os.environ.get("GIGJAX_FIXTURES") or os.path.join(ROOT, "tests", ".fixtures")
FIXTURE_VOC = os.path.join(FIXTURE_CACHE, "labelme", "voc")
QUICK_IMAGES = 3  # --quick: the first images of the dataset
QUICK_SETTINGS = {"pixels_per_step": 1792}  # --quick: Deletion/Insertion in 28 steps at 224² (RISE's coarse grid)
POINTING = ("pointing_game", "energy_pointing_game")


def parse_options(items) -> dict:
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


def quick_options(method: str) -> dict:
    """A smoke run's options: each option's declared cheap value (``Option.quick``: e.g. 3 path steps,
    Score-CAM's ``max_channels`` 64 of its masked forwards, one per channel)."""
    from gigjax.registry import get_method

    return {name: o.quick for name, o in get_method(method).options.items() if o.quick is not None}


def add_arguments(parser: argparse.ArgumentParser, *, out: str, metrics: tuple[str, ...]) -> None:
    """The data, model and run arguments of a table benchmark (``out``: the default ``--out``)."""
    parser.add_argument("--dataset", default=None, help="default: the labelme VOC test photos")
    parser.add_argument("--split", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--boxes", default=None, help="imagenet2012: ILSVRC validation box XML folder")
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--class-map", default="auto", choices=("auto", "none", "imagenet"))
    parser.add_argument("--metrics", default=",".join(metrics))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--option", action="append", help="method option, e.g. gigcam.steps=50 (repeatable)")
    parser.add_argument("--out", default=out, help="one resumable evaluation run per row under this folder")
    from gigjax import compile_cache

    compile_cache.add_argument(parser)


@dataclasses.dataclass
class Table:
    """The opened inputs of a table benchmark."""

    args: argparse.Namespace
    dataset: object
    model: object
    limit: int | None
    metrics: tuple[str, ...]
    options: dict  # {method: {option: value}} from --option
    settings: dict  # metric settings (gigjax.evaluation.Settings)

    def header(self, title: str) -> str:
        import jax

        return (f"# {title}: {self.dataset!r}, model {self.args.model}, {jax.local_device_count()} "
                f"{jax.default_backend()} device(s), {self.limit or len(self.dataset)} images")


def open_table(args: argparse.Namespace, quick: bool) -> Table:
    """Opens the dataset (the labelme VOC photos by default, fetched if missing) and the model."""
    import gigjax
    from gigjax.data import open_dataset

    from gigjax import compile_cache

    compile_cache.setup(args.compile_cache)  # as the gigjax command: a rerun skips XLA compilation
    dataset_spec = args.dataset
    if dataset_spec is None:
        if not os.path.isdir(FIXTURE_VOC):
            subprocess.run([sys.executable, os.path.join(ROOT, "tests", "fixtures", "fetch.py")], check=False)
        dataset_spec = FIXTURE_VOC
    dataset = open_dataset(dataset_spec, args.split, data_dir=args.data_dir, boxes=args.boxes)
    model = gigjax.load_model(args.model, args.weights, num_classes=args.num_classes)
    limit = QUICK_IMAGES if quick and args.limit is None else args.limit
    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    return Table(args, dataset, model, limit, metrics, parse_options(args.option), QUICK_SETTINGS if quick else {})


@dataclasses.dataclass
class Row:
    """One row's outcome: ``summary`` (the run's per-metric summaries, None if it failed), the run
    folder, the wall time, notes for under the table, or the error."""

    label: str
    method: str
    summary: dict | None
    folder: str = ""
    seconds: float = 0.0
    notes: list = dataclasses.field(default_factory=list)
    error: str = ""

    def value(self, metric: str):
        """The row's figure for ``metric`` (None if absent)."""
        return (self.summary or {}).get(metric, {}).get("value")

    def per_image(self, metric: str) -> dict[int, float]:
        """{dataset index: stored value} of a confidence metric (``metric``'s key), for noise estimates."""
        from gigjax.evaluation import ResultStore
        from gigjax.metrics import metric as row

        key = row(metric).key
        return {r["index"]: r[key] for r in ResultStore(self.folder).results(self.method)
                if key in r and not r.get("error")}


def run_row(table: Table, label: str, method: str, folder: str, method_options: dict, postprocess: dict) -> Row:
    """Runs (or resumes) ``method`` with its options as one evaluation under ``folder``.

    Falls back, with a note, to the confidence metrics when the pointing metrics are unavailable (no
    class map for the model's classes). A method that explains one class index per image
    (``Method.class_index``: Score-CAM) runs with ``mapped_target="top"``, noted when a VOC → ImageNet
    class map makes that matter.
    """
    from gigjax.errors import GigjaxError
    from gigjax.evaluation import Evaluation
    from gigjax.registry import get_method

    args, notes = table.args, []
    mapped_target = "top" if get_method(method).class_index else "logsumexp"
    kwargs = dict(batch_size=args.batch_size, limit=table.limit, method_options={method: method_options},
                  postprocess=postprocess, class_map=args.class_map, progress=True, settings=table.settings,
                  model_id=f"{args.model}:{args.weights or 'embedded'}:{args.num_classes}", mapped_target=mapped_target)
    metrics, start = table.metrics, time.perf_counter()
    try:
        try:
            evaluation = Evaluation(table.model, table.dataset, [method], folder, metrics=metrics, **kwargs)
        except GigjaxError as exc:  # e.g. no class map for these classes: keep the confidence metrics
            metrics = tuple(m for m in metrics if m not in POINTING)
            if not metrics or "class" not in str(exc):
                raise
            notes.append(f"{label}: pointing metrics unavailable: {exc}")
            folder += "-confidence"
            evaluation = Evaluation(table.model, table.dataset, [method], folder, metrics=metrics, **kwargs)
        if mapped_target == "top" and evaluation.targets is not None and evaluation.targets.mode == "mapped":
            notes.append(f"{label} explains one class index per image, but a VOC/COCO class stands for several "
                         f"ImageNet classes (the log-sum-exp of their scores), so each class is explained by its "
                         f"highest-scoring ImageNet class instead (as `gigjax evaluate --mapped-target top` does).")
        summary = evaluation.run()["methods"][method]
    except (GigjaxError, ValueError, RuntimeError) as exc:
        return Row(label, method, None, folder, error=f"failed: {str(exc).splitlines()[0]}")
    return Row(label, method, summary, folder, time.perf_counter() - start, notes)


def fmt(v, digits: int = 2) -> str:
    """A figure in a table cell: ``digits`` decimals, ``n/a`` for a missing or NaN value."""
    return "n/a" if v is None or v != v else f"{v:.{digits}f}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in rows])
