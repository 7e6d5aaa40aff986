"""The multi-scale fusion ablation (issue 11, spec §5): Grad-CAM, Integrated Grad-CAM and GIG-CAM on
the pyramids (1,), (1, 2), (1, 2, 3), fused by each rule of ``gigjax.fusion.FUSIONS`` (geometric,
product, mean), GIG-CAM with each path signal (gradient, cam), scored by Pointing Game, Energy PG,
Average Drop, Increase in Confidence, Deletion and Insertion — in one table.

Every configuration is its own resumable ``gigjax evaluate`` run under
``--out/<method>[-<signal>]/<scales>-<fusion>`` (see benchmarks/evaluation_rows.py), so an interrupted
ablation resumes where it stopped. A single scale is the same map for every fusion rule, so (1,) runs
once per method. Under the table: each row's Average Drop minus the reference row's (the first row,
Grad-CAM at scale 1), paired per image, with a bootstrap interval over the images — the noise of a
small dataset.

Usage::

    python benchmarks/fusion_ablation.py                  # the labelme VOC photos, default steps
    python benchmarks/fusion_ablation.py --quick          # 3 images, 3 path steps, coarse Deletion/Insertion
    python benchmarks/fusion_ablation.py --methods gradcam,gigcam --pyramids 1 1,2 --fusions geometric,product
    python benchmarks/fusion_ablation.py --dataset voc/2012 --model resnet50 --weights resnet50.pth
    python benchmarks/fusion_ablation.py --option gigcam.steps=32
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluation_rows as rows_  # noqa: E402  (benchmarks/ is not a package)

METHODS = (("Grad-CAM", "gradcam"), ("Integrated Grad-CAM", "integrated_gradcam"), ("GIG-CAM", "gigcam"))
PYRAMIDS = ((1,), (1, 2), (1, 2, 3))
METRICS = ("pointing_game", "energy_pointing_game", "average_drop", "increase_in_confidence", "deletion",
           "insertion")
SIGNAL = "path_signal"  # the GIG-CAM option that picks the path's saliency signal
REFERENCE = "average_drop"  # the metric compared with the first row, per image


def signals(method: str) -> tuple:
    """The path signals the method takes (its ``path_signal`` choices), or (None,) if it has none."""
    import gigjax

    option = gigjax.describe(method).options.get(SIGNAL)
    return tuple(option.choices) if option is not None else (None,)


def configurations(methods, pyramids, fusions, wanted_signals=None):
    """(label, method, signal, scales, fusion) for every row; a single scale once (fusion None)."""
    out = []
    for label, method in methods:
        for signal in signals(method):
            if signal is not None and wanted_signals is not None and signal not in wanted_signals:
                continue
            for scales in pyramids:
                for fusion in ((None,) if len(scales) == 1 else fusions):
                    out.append((label, method, signal, scales, fusion))
    return out


def _scales_arg(text: str) -> tuple:
    from gigjax.fusion import check_scales

    return tuple(int(s) if s == int(s) else s for s in check_scales(text))


def paired_difference(values: dict, reference: dict, *, resamples: int = 2000, seed: int = 0):
    """Mean of ``values − reference`` over the images both hold, and a 90 % bootstrap interval over
    images (None for fewer than 2 images)."""
    common = sorted(set(values) & set(reference))
    d = np.array([values[i] - reference[i] for i in common], dtype=float)
    if d.size < 2:
        return (float(d.mean()) if d.size else None), None
    means = d[np.random.default_rng(seed).integers(0, d.size, (resamples, d.size))].mean(axis=1)
    return float(d.mean()), (float(np.percentile(means, 5)), float(np.percentile(means, 95)))


def main(argv=None) -> int:
    from gigjax.fusion import FUSIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rows_.add_arguments(parser, out=os.path.join(rows_.ROOT, "benchmarks", "out", "fusion_ablation"),
                        metrics=METRICS)
    parser.add_argument("--methods", default=",".join(m for _, m in METHODS),
                        help="comma-separated subset of " + ", ".join(m for _, m in METHODS))
    parser.add_argument("--pyramids", nargs="+", default=[",".join(map(str, p)) for p in PYRAMIDS],
                        help="scales of each pyramid, e.g. 1 1,2 1,2,3")
    parser.add_argument("--fusions", default=",".join(FUSIONS), help="comma-separated fusion rules")
    parser.add_argument("--signals", default=None, help="GIG-CAM path signals (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{rows_.QUICK_IMAGES} images, each option's quick value (e.g. 3 path steps), "
                             f"Deletion/Insertion with {rows_.QUICK_SETTINGS['pixels_per_step']} pixels per step")
    args = parser.parse_args(argv)
    split = lambda text: [s.strip() for s in text.split(",") if s.strip()]
    known = dict((m, label) for label, m in METHODS)
    unknown = sorted(set(split(args.methods)) - set(known)) + sorted(set(split(args.fusions)) - set(FUSIONS))
    if unknown:
        raise SystemExit(f"no such method or fusion: {', '.join(unknown)} (methods: {', '.join(known)}; "
                         f"fusions: {', '.join(FUSIONS)})")
    methods = [(label, m) for label, m in METHODS if m in split(args.methods)]
    configs = configurations(methods, [_scales_arg(p) for p in args.pyramids], split(args.fusions),
                             None if args.signals is None else set(split(args.signals)))

    from gigjax.metrics import metric

    table = rows_.open_table(args, args.quick)
    print(table.header("Fusion ablation") + "\n")
    rows = []
    for label, method, signal, scales, fusion in configs:
        opts = rows_.quick_options(method) if args.quick else {}
        opts.update(table.options.get(method, {}))
        if signal is not None:
            opts[SIGNAL] = signal
        post = {} if len(scales) == 1 else {"scales": scales, "fusion": fusion}
        folder = os.path.join(args.out, method + (f"-{signal}" if signal else ""),
                              "-".join(map(str, scales)) + ("" if fusion is None else f"-{fusion}"))
        rows.append(((label, signal or "—", ",".join(map(str, scales)), fusion or "(any)"),
                     rows_.run_row(table, label, method, folder, opts, post)))

    digits = {m: metric(m).digits for m in METRICS}
    titles = {m: metric(m).title for m in METRICS}
    header = ["Method", "path signal", "scales", "fusion"] + [titles[m] for m in METRICS] + ["wall"]
    cells = [list(key) + ([rows_.fmt(row.value(m), digits[m]) for m in METRICS] if row.summary else
                          ["—"] * len(METRICS)) + [row.error or f"{row.seconds:.0f} s"] for key, row in rows]
    print(rows_.markdown(header, cells))
    print()
    done = [(key, row) for key, row in rows if row.summary]
    if done and REFERENCE in table.metrics:
        ref_key, ref = done[0]
        reference = ref.per_image(REFERENCE)
        print(f"{titles[REFERENCE]} minus that of {' '.join(ref_key[:1] + ref_key[2:3])} (paired over "
              f"{len(reference)} images; 90 % bootstrap interval over images):")
        for key, row in done[1:]:
            mean, interval = paired_difference(row.per_image(REFERENCE), reference)
            span = "" if interval is None else f" [{interval[0]:+.2f}, {interval[1]:+.2f}]"
            print(f"- {' / '.join(key)}: {rows_.fmt(mean)}{span}")
    for _, row in rows:
        for note in row.notes:
            print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
