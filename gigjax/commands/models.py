"""``gigjax models``: the model zoo, with each card's layers."""

from __future__ import annotations

import argparse

from gigjax.models import available_models
from gigjax.models.zoo import architecture

HELP = "list the zoo models, their input size and probe-able layers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show one model only")


def run(args: argparse.Namespace) -> int:
    names = [args.name] if args.name else available_models()
    for name in names:
        card = architecture(name).card(1000)
        print(f"{name}: {card.description}")
        print(f"  input {card.input_size[0]}x{card.input_size[1]}, resize {card.resize_short} + centre crop, "
              f"mean {card.mean}, std {card.std}")
        print(f"  CAM layer {card.cam_layer}; layers: {', '.join(card.layers)}")
    return 0
