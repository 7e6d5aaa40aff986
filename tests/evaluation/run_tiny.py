"""Subprocess entry of the kill and sharding tests: evaluate the tiny model on a VOC folder.

    python run_tiny.py VOC_FOLDER OUT [--batch-size N] [--delay SECONDS]

``--delay`` slows image reading so a test can kill the run mid-way. Prints the device count.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from toy import SETTINGS, tiny_model  # noqa: E402

import jax  # noqa: E402

from gigjax.data import open_dataset  # noqa: E402
from gigjax.evaluation import evaluate  # noqa: E402


class Slow:
    def __init__(self, dataset, delay):
        self.dataset, self.delay = dataset, delay

    def __getattr__(self, name):
        return getattr(self.dataset, name)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        time.sleep(self.delay)
        return self.dataset[i]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("voc")
    parser.add_argument("out")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    dataset = open_dataset(args.voc)
    if args.delay:
        dataset = Slow(dataset, args.delay)
    print(f"devices {jax.local_device_count()}", flush=True)
    evaluate(tiny_model(), dataset, ["gradcam"], args.out, batch_size=args.batch_size, settings=SETTINGS,
             progress=False)


if __name__ == "__main__":
    main()
