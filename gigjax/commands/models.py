"""``gigjax models [NAME] [--all]``: the model zoo, with each card's layers (or every layer)."""

from __future__ import annotations

import argparse

from gigjax.models import available_models
from gigjax.models.zoo import abstract_model, architecture
from gigjax.probe import list_layers

HELP = "list the zoo models, their input size and probe-able layers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show one model only")
    parser.add_argument("--all", action="store_true",
                        help="list every probe-able layer with its output shape (default: the card's selection)")


def run(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else available_models()
    for name in names:
        card = architecture(name).card(1000)
        layers = list_layers(abstract_model(name))
        print(f"{name}: {card.description}")
        print(f"  input {card.input_size[0]}x{card.input_size[1]}, resize {card.resize_short} + centre crop, "
              f"mean {card.mean}, std {card.std}")
        if args.all:
            print(f"  CAM layer {card.cam_layer}; all {len(layers)} layers (output shape for one image):")
            for layer, shape in layers.items():
                print(f"    {layer}  {'x'.join(map(str, shape[1:]))}")
        else:
            print(f"  CAM layer {card.cam_layer}; layers: {', '.join(card.layers)}")
            print(f"  ({len(card.layers)} of {len(layers)} layers; every one: gigjax models {name} --all)")
    return 0
