"""Traced programs kept on disk between ``gigjax`` commands, with :mod:`jax.export`.

JAX's persistent compilation cache (:mod:`gigjax.compile_cache`) skips XLA's compilation of a
program it has seen, but not the Python tracing and lowering that come before it: for Guided IG
through Lite0 that is ~4 s on a 2-core CPU, as long as the compilation itself. :func:`call` runs
``jax.jit(fn)(*args)`` through a folder of serialized StableHLO programs: the first call traces and
exports the program (``jax.export``), the next identical one deserializes it and only compiles (from
the XLA cache) and runs it.

A program is looked up by a SHA-256 of everything that decides its trace:

- ``key``: the caller's description of ``fn`` (the method and every option value);
- the pytree structure of ``args`` (a :class:`gigjax.Model`'s module and card are in it; a
  function there counts by its name, as its code is in the digest below) and the shape, dtype and
  weak type of every array leaf; the arrays' *values* (weights, images) are the program's inputs;
- the source of the ``gigjax`` and ``models`` packages, the versions of jax, jaxlib and flax, the
  JAX settings that change tracing (x64, matmul precision, rank promotion) and the backend.

So ``fn`` must be a function of its arguments and of code in those packages: the command line's
explainers and zoo models are; a user's callable is not, and :func:`call` is not for it. A program
that ``jax.export`` cannot keep (one with a host callback, such as XRAI's segmentation) is
remembered as such and run with a plain ``jax.jit``; a file that cannot be read back is replaced.

Only the command line uses it, in the folder next to the XLA cache, and ``--no-compile-cache`` or
``GIGJAX_COMPILE_CACHE=0`` turns both off.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import re
from typing import Any, Callable

import jax
import jax.export

from gigjax.errors import GigjaxError
from gigjax.files import write_cache_file
from gigjax.memo import memoised
from gigjax.numerics import abstract_type

_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # a card's functions print their address: keep their name
_SUFFIX = ".jaxexport"
_NOT_EXPORTABLE = ".plain"  # marker: this program runs with a plain jax.jit
_TRACING_SETTINGS = ("jax_enable_x64", "jax_default_matmul_precision", "jax_numpy_rank_promotion",
                     "jax_numpy_dtype_promotion", "jax_default_prng_impl")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of the source of the ``gigjax`` and ``models`` packages and of the versions of the
    libraries that trace it (computed once per process: ~5 ms)."""
    import gigjax
    import gigjax.models

    digest = hashlib.sha256()
    for package in (gigjax, gigjax.models):  # two folders in a source checkout, nested when installed
        root = os.path.dirname(package.__file__)
        for folder, subfolders, files in os.walk(root):
            subfolders.sort()
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read() + b"\0")
    for library in ("jax", "jaxlib", "flax"):
        digest.update(f"{library}={importlib.metadata.version(library)}\0".encode())
    return digest.hexdigest()


def _leaf_type(leaf: Any) -> jax.ShapeDtypeStruct:
    if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
        raise GigjaxError(f"program_cache.call takes arrays as pytree leaves, got {type(leaf).__name__}")
    return abstract_type(leaf)


def program_key(key: str, treedef, types: list[jax.ShapeDtypeStruct]) -> str:
    """The file name (a hex SHA-256) of the program of ``key`` on arguments of this structure."""
    device = jax.devices()[0]
    parts = [code_digest(), key, _ADDRESS.sub("", str(treedef)),
             *(f"{t.shape}:{t.dtype}:{t.weak_type}" for t in types),
             *(f"{name}={getattr(jax.config, name)}" for name in _TRACING_SETTINGS),
             f"{device.platform}:{device.device_kind}:{jax.device_count()}"]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def call(folder: str | None, key: str, fn: Callable, *args: Any) -> Any:
    """``jax.jit(fn)(*args)``, with its traced program kept in ``folder`` (``None``: no cache).

    Args:
      folder: where programs are kept (created if missing), or ``None`` to just run ``jax.jit``.
      key: a string that, with the code of gigjax, fixes what ``fn`` computes (a method name and
        the ``repr`` of its options).
      fn: a function of ``args`` (pytrees of arrays, such as a :class:`gigjax.Model` and a batch).
      args: its arguments.

    Returns:
      What ``fn`` returns, as ``jax.Array`` leaves on the device.
    """
    leaves, treedef = jax.tree_util.tree_flatten(args)
    types = tuple(_leaf_type(leaf) for leaf in leaves)
    memo = (folder, key, treedef, types)  # ``key`` fixes ``fn``: a new closure of the same key is the same
    run = memoised(_RUNNERS, memo, lambda: _runner(folder, key, fn, treedef, types), _MEMO_SIZE)
    return run(*leaves)


_MEMO_SIZE = 64
_RUNNERS: dict[tuple, Callable] = {}
"""The runners of this process: the batches of one command, and the commands of one process (tests),
share one jitted program per key, with or without a folder."""


def _runner(folder: str | None, key: str, fn: Callable, treedef, types: tuple) -> Callable:
    """The jitted function of the flat arguments: the kept program, or ``fn`` traced here."""
    flat = jax.jit(lambda *xs: fn(*jax.tree_util.tree_unflatten(treedef, xs)))
    if folder is None:
        return flat
    path = os.path.join(folder, program_key(key, treedef, list(types)))
    if os.path.exists(path + _NOT_EXPORTABLE):
        return flat
    program = _read(path + _SUFFIX) or _export(flat, list(types), path)
    return flat if program is None else jax.jit(program.call)


def _read(path: str) -> jax.export.Exported | None:
    try:
        with open(path, "rb") as f:
            return jax.export.deserialize(bytearray(f.read()))
    except Exception:  # none yet, or a torn or foreign file (another jax wrote it): export again over it
        return None


def _export(flat: Callable, types: list[jax.ShapeDtypeStruct], path: str) -> jax.export.Exported | None:
    """Exports ``flat`` and writes it to ``path`` + suffix; ``None`` when jax.export cannot keep it
    (a marker file then says so to the next run)."""
    try:
        program = jax.export.export(flat)(*types)
        data = program.serialize()
    except GigjaxError:
        raise
    except Exception:  # host callbacks, non-portable custom calls: run it unexported (a real error recurs there)
        write_cache_file(path + _NOT_EXPORTABLE, b"")
        return None
    write_cache_file(path + _SUFFIX, bytes(data))
    return program
