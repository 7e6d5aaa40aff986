"""The seed paper's table: Pointing Game, Energy-based PG, Average Drop and Increase in Confidence
for the CAM family and GIG-CAM, ours beside the paper's (spec §5: GIG-CAM(F), ResNet50).

GIG-CAM(F) runs with its default fusion (geometric, ``gigjax.fusion``; ``--option gigcam_f.fusion=product``
gives the first reconstruction). Each method runs as its own resumable ``gigjax evaluate`` run under ``--out/<method>``, so the table
can be rebuilt, extended or finished later without recomputing. A method that fails is reported with
its error, never crashing the table.

Usage::

    python benchmarks/paper_table.py                       # the labelme VOC photos (fetched if missing)
    python benchmarks/paper_table.py --quick               # 3 images, small step counts: a smoke run
    python benchmarks/paper_table.py --dataset voc/2012 --model resnet50 --weights resnet50.pth
    python benchmarks/paper_table.py --dataset imagenet2012 --boxes ILSVRC2012_bbox_val --model resnet50 ...
    python benchmarks/paper_table.py --option gigcam.steps=50 --option scorecam.batch=64

The paper used ResNet50 on VOC2012 (val) and ILSVRC2012 (val); its figures are printed in the column
matching the dataset (VOC → VOC2012, ImageNet → ILSVRC2012, otherwise both for reference).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluation_rows as rows_  # noqa: E402  (benchmarks/ is not a package; shared with fusion_ablation.py)

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


def _paper_columns(dataset) -> tuple[str, ...]:
    return {"voc": ("VOC2012",), "imagenet": ("ILSVRC2012",)}.get(dataset.family, ("VOC2012", "ILSVRC2012"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows_.add_arguments(parser, out=os.path.join(rows_.ROOT, "benchmarks", "out", "paper_table"), metrics=METRICS)
    parser.add_argument("--methods", default=None, help="comma-separated subset of the rows' method names")
    parser.add_argument("--quick", action="store_true",
                        help=f"{rows_.QUICK_IMAGES} images and each option's quick value (e.g. 3 path steps, "
                             f"Score-CAM on 64 sampled channels)")
    args = parser.parse_args(argv)
    wanted = None if args.methods is None else {m.strip() for m in args.methods.split(",") if m.strip()}
    row_methods = [method for _, method, _ in ROWS]
    unknown = sorted((wanted or set()) - set(row_methods))
    if unknown:
        raise SystemExit(f"--methods: no row for {', '.join(unknown)}; the rows are {', '.join(row_methods)}")

    table = rows_.open_table(args, args.quick)
    columns = _paper_columns(table.dataset)
    print(table.header("Paper table") + "\n")
    rows, notes = [], []
    for label, method, extra in ROWS:
        if wanted is not None and method not in wanted:
            continue
        opts = dict(extra)
        if args.quick:
            opts = {**rows_.quick_options(method), **opts}
        opts.update(table.options.get(method, {}))
        method_opts = {k: v for k, v in opts.items() if k not in ("scales", "fusion")}
        post = {k: opts[k] for k in ("scales", "fusion") if k in opts}
        row = rows_.run_row(table, label, method, os.path.join(args.out, method), method_opts, post)
        channels = _channel_note(label, method_opts, table.model, post) if row.summary else ""
        rows.append((label, {m: row.value(m) for m in METRICS} if row.summary else None,
                     row.error or f"{row.seconds:.0f} s" + (f", {method_opts['max_channels']} channels sampled"
                                                            if channels else "")))
        notes += row.notes + ([channels] if channels else [])

    header = ["Method"] + ["PG %", "EBPG %", "Drop % (lower)", "Increase %"] + ["note"]
    cells = [[label] + ([rows_.fmt(values.get(m)) for m in METRICS] if values else ["—"] * len(METRICS)) + [note]
             for label, values, note in rows]
    cells += [[f"GIG-CAM(F), paper ({column}, ResNet50)"] + [rows_.fmt(PAPER[column][m]) for m in METRICS]
              + ["published"] for column in columns]
    print(rows_.markdown(header, cells))
    print()
    for note in notes:
        print(f"- {note}")
    print("Our figures depend on the model and data: compare like with like (the paper: ResNet50, full "
          "VOC2012 val / ILSVRC2012 val).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
