"""``gigjax explain [IMAGE ...]``: heat-map overlays, raw maps and top-5 labels for photos.

For every image and method it writes ``<out>/<stem>_<method>.png`` (the heat map over the centre
crop the model saw, titled with the explained class and its probability) and
``<out>/<stem>_<method>.npy`` (the raw map: the method's un-normalised, pre-ReLU map at its native
resolution — the layer's grid for CAMs, the input's for IG — or, when several layers or scales are
fused, the fused map). With no IMAGE it explains the bundled sample photo.
"""

from __future__ import annotations

import argparse
import os

import jax
import numpy as np

from gigjax import compile_cache, plot, postprocess, program_cache
from gigjax.boundary import check_call
from gigjax.commands import display
from gigjax.commands import options as cli_options
from gigjax.errors import GigjaxError
from gigjax.explain import explainer
from gigjax.imageio import read_image, sample_photo_path
from gigjax.models import available_models, load_model
from gigjax.probe import resolve_layers
from gigjax.progress import ProgressBar
from gigjax.registry import available_methods, get_method

HELP = "explain photos: overlay PNGs, raw .npy maps and top-5 labels"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="photo files (default: the bundled sample photo)")
    parser.add_argument("--model", default="efficientnet_lite0",
                        help=f"one of {', '.join(available_models())} (default: %(default)s)")
    parser.add_argument("--weights", default=None,
                        help="checkpoint path (.pth, .safetensors or gigjax .npz; default: the model's embedded "
                             "or bundled weights)")
    parser.add_argument("--method", type=cli_options.name_list, default=("gradcam",),
                        help=f"method name(s), comma-separated, of {', '.join(available_methods())} "
                             f"(default: gradcam; see `gigjax methods`)")
    parser.add_argument("--target", default=None,
                        help="class index or exact class name to explain (default: each image's top-1)")
    parser.add_argument("--out", default="gigjax-out", help="output directory (default: ./gigjax-out)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per batch (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (drawn only on a terminal)")
    cli_options.add_postprocess_arguments(parser)
    cli_options.add_method_arguments(parser)
    display.add_display_arguments(parser)


def _top5(probs: np.ndarray, names) -> str:
    order = np.argsort(-probs)[:5]
    return "  ".join(f"{i + 1}. {names[c]} ({c}) {probs[c]:.3f}" for i, c in enumerate(order))


def _stems(paths: list[str]) -> list[str]:
    """One distinct output file stem per input: the file's own stem for the first input that has it;
    a later input with the same stem gets ``stem_2``, ``stem_3``, ... skipping every stem that an input
    or an earlier renaming takes (``a/cat.jpg b/cat.jpg cat_2.png`` → ``cat``, ``cat_3``, ``cat_2``)."""
    own = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    taken = set(own)
    stems, first = [], set()
    for stem in own:
        if stem not in first:
            first.add(stem)
            stems.append(stem)
            continue
        n = 2
        while f"{stem}_{n}" in taken:
            n += 1
        taken.add(f"{stem}_{n}")
        stems.append(f"{stem}_{n}")
    return stems


def _explainers(per_method: dict, post: dict, fused) -> dict:
    """{method: (the options of its explainer, the explainer)}: the fused map where several layers or
    scales are fused, else the raw map (``raw=True``; upsampled for the overlay by :func:`run`)."""
    out = {}
    for method, opts in per_method.items():
        if fused(method):
            options = {**post, **opts}
        else:
            options = {**{k: v for k, v in post.items() if k not in ("fuse", "relu", "normalize")}, **opts,
                       "raw": True}
        out[method] = (options, explainer(method, **options))
    return out


def run(args: argparse.Namespace) -> int:
    paths = list(args.images) or [sample_photo_path()]
    photos = [read_image(p) for p in paths]  # unreadable files fail here, before any model work
    if args.batch_size < 1:
        raise GigjaxError(f"--batch-size must be positive, got {args.batch_size}")
    model = load_model(args.model, args.weights)
    card = model.card
    target = None if args.target is None else card.class_index(args.target)
    post = cli_options.postprocess_options(args)
    per_method = cli_options.method_options(args, tuple(args.method))
    several_layers = isinstance(post.get("layer"), tuple) or "scales" in post

    def fused(method: str) -> bool:  # several layers or scales: the saved map is the fused one
        return several_layers or get_method(method).bind(per_method[method]).get("scales") is not None

    explainers = _explainers(per_method, post, fused)  # validates every method and option up front
    if "layer" in post:
        resolve_layers(model, post["layer"])
    programs = compile_cache.program_folder(args.compile_cache)
    os.makedirs(args.out, exist_ok=True)
    stems = _stems(paths)

    bar = ProgressBar(len(photos) * len(per_method), enabled=not args.no_progress)
    for start in bar.over(range(0, len(photos), args.batch_size)):
        chunk = slice(start, start + args.batch_size)
        x = model.preprocess(photos[chunk])
        logits = program_cache.call(programs, "logits", lambda m, v: m.logits(v), model, x)
        probs = np.asarray(jax.nn.softmax(logits, axis=-1))
        crops = np.clip(np.asarray(model.denormalize(x)) + 0.5, 0, 255).astype(np.uint8)
        classes = probs.argmax(-1) if target is None else np.full(len(probs), target)
        classes = np.asarray(classes, np.int32)
        x, _ = check_call(model, x, classes)
        for path, p in zip(paths[chunk], probs):
            print(f"{path}: {_top5(p, card.class_names)}")
        for method, (options, fn) in explainers.items():
            bar.running(method)
            show = display.display_options(args, method)
            key = f"explain {method} {sorted(options.items())!r}"
            raw = np.asarray(program_cache.call(programs, key, fn, model, x, classes))
            maps = np.asarray(postprocess.upsample(plot.apply_sign(raw, show["sign"]), card.input_size)) \
                if options.get("raw") else raw
            for i, stem in enumerate(stems[chunk]):
                c = int(classes[i])
                base = os.path.join(args.out, f"{stem}_{method}")
                np.save(base + ".npy", raw[i])
                title = f"{card.class_names[c]} (p={probs[i, c]:.2f}) - {method}"
                plot.save_overlay(base + ".png", crops[i], maps[i], title, **show)
                print(f"  wrote {base}.png, {base}.npy")
            bar.advance(len(raw))
    return 0
