"""Process-local memo tables bounded in size (the shape-only traces of :mod:`gigjax.surgery`, the
traced programs of :mod:`gigjax.program_cache`)."""

from __future__ import annotations

from typing import Callable, Hashable, TypeVar

V = TypeVar("V")


def memoised(table: dict, key: Hashable, compute: Callable[[], V], size: int) -> V:
    """``table[key]``, computed by ``compute()`` when missing; beyond ``size`` entries the oldest go
    (insertion order)."""
    if key not in table:
        table[key] = compute()
        while len(table) > size:
            del table[next(iter(table))]
    return table[key]
