"""FG-CAM relevance plans: how a model declares the layer-by-layer walk of FG-CAM (spec §6).

A :class:`Plan` lists the model's layers from the input up to the *base* layer (whose output carries
the Grad-CAM components), as steps whose paths are the model's Flax module paths: :class:`Conv` (a
convolution, optionally with a BatchNorm folded into it), :class:`Pool` (a max-pool, winner rule),
:class:`Pass` (an element-wise layer that passes relevance through) and :class:`Residual` (a block
whose add splits relevance between its branches). The rules themselves live in
:mod:`gigjax.methods.fgcam`; a plan only names modules, so it never re-implements them.

Each zoo architecture declares the function that builds its plan beside its definition
(``vgg.relevance_plan``, ``resnet.relevance_plan``, ``efficientnet_lite.relevance_plan``) and its
card carries it (:attr:`gigjax.models.ModelCard.relevance_plan`): a new architecture adds its plan in
its own module. :func:`sequential_plan` builds the plan of a torchvision-style ``Sequential``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Sequence, Union

from gigjax.errors import GigjaxError

PASS_KINDS = ("relu", "relu6", "bn", "batchnorm", "dropout")


class _Step:
    """What every step shares: ``names`` (the target-layer names of its output point: its own
    ``points``, by default its module ``path``, and its ``aliases``) and ``records`` (the modules whose
    calls its rule needs)."""

    records: tuple[str, ...] = ()

    @property
    def points(self) -> tuple[str, ...]:
        return (self.path,)  # type: ignore[attr-defined]

    @property
    def names(self) -> tuple[str, ...]:
        return self.points + self.aliases  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True)
class Conv(_Step):
    """A convolution module ``conv`` (bias ignored), optionally followed by a BatchNorm module ``bn``
    that is folded into it. ``first`` selects the box rule (the network's first conv). ``aliases`` are
    further names of its output point (e.g. the enclosing block, a ReLU after it)."""

    conv: str
    bn: str | None = None
    first: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def records(self) -> tuple[str, ...]:
        return (self.conv,) + ((self.bn,) if self.bn else ())

    points = records

    @property
    def out(self) -> str:
        return self.bn or self.conv


@dataclasses.dataclass(frozen=True)
class _Point(_Step):
    """A step at one module path ``path``, with further names ``aliases`` of its output point."""

    path: str
    aliases: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Pool(_Point):
    """A max-pool module ``path`` (winner rule)."""

    @property
    def records(self) -> tuple[str, ...]:
        return (self.path,)

    @property
    def out(self) -> str:
        return self.path


@dataclasses.dataclass(frozen=True)
class Pass(_Point):
    """An element-wise layer that passes relevance through unchanged (ReLU, ReLU6, BatchNorm, Dropout).
    ``path`` only names the point; the module need not exist."""


@dataclasses.dataclass(frozen=True)
class Residual(_Step):
    """A residual block ``path``: output = f(main(x) + shortcut(x)), f element-wise (ReLU or none).
    ``shortcut=()`` is the identity. The branches end with a :class:`Conv` or :class:`Pool` step."""

    path: str
    main: tuple["Step", ...]
    shortcut: tuple["Step", ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def records(self) -> tuple[str, ...]:
        return self.points + tuple(p for s in self.main + self.shortcut for p in s.records)


Step = Union[Conv, Pool, Pass, Residual]


@dataclasses.dataclass(frozen=True)
class Plan:
    """The layers from the input up to the base layer, in forward order. ``base`` names the module
    whose output carries the initial components (the output of the last step)."""

    steps: tuple[Step, ...]
    base: str

    @property
    def names(self) -> tuple[str, ...]:
        """Every target layer the walk can stop at (besides ``"input"``)."""
        return tuple(n for s in self.steps for n in s.names)


def sequential_plan(kinds: Sequence[str], prefix: str = "features") -> Plan:
    """Plan for ``prefix/0 … prefix/N`` with ``kinds[i]`` one of ``"conv"``, ``"maxpool"`` or a
    pass-through kind (``"relu"``, ``"bn"``, ``"dropout"``); the base is the last entry (VGG: pool5)."""
    steps, seen_conv = [], False
    for i, kind in enumerate(kinds):
        path = f"{prefix}/{i}"
        if kind == "conv":
            steps.append(Conv(path, first=not seen_conv))
            seen_conv = True
        elif kind == "maxpool":
            steps.append(Pool(path))
        elif kind in PASS_KINDS:
            steps.append(Pass(path))
        else:
            raise GigjaxError(f"unknown layer kind {kind!r} at {path}")
    return Plan(tuple(steps), base=f"{prefix}/{len(kinds) - 1}")


def numbered(tree, pattern: str) -> list[str]:
    """The keys of ``tree`` that match ``pattern``, in the numeric order of their digits
    (``layer2`` before ``layer10``; ``"0"``, ``"1"``, … for numbered blocks)."""
    names = [k for k in tree if re.fullmatch(pattern, k)]
    return sorted(names, key=lambda k: int(re.sub(r"\D", "", k) or 0))
