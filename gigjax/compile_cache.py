"""JAX's persistent compilation cache for the ``gigjax`` command.

Every ``gigjax`` command compiles its explainers with XLA (3–10 s per method on a 2-core CPU). With
the cache on, a compiled executable is written to disk once and reused by the next identical command.
It lives under the gigjax cache folder (``$GIGJAX_CACHE``, default ``~/.cache/gigjax``) in ``xla/``,
unless JAX's own ``JAX_COMPILATION_CACHE_DIR`` names another folder. ``--no-compile-cache`` or
``GIGJAX_COMPILE_CACHE=0`` turns it off. It is silent: a cache that cannot be written only costs
the compilation; ``GIGJAX_DEBUG=1`` prints where it is.

XLA's cache skips the compilation, not the Python tracing before it (as long again for a path
method). ``gigjax explain`` also keeps its traced programs, in ``<gigjax cache>/programs``
(:mod:`gigjax.program_cache`); the same switch turns both off. On 2 cores a second identical
``gigjax explain --method gigcam`` takes 0.35–0.45 of the first's time (15.5–17.2 s → 5.7–7.4 s).

Only the command line turns it on: the library (``gigjax.explain`` …) leaves JAX's configuration
to the program that imports it.
"""

from __future__ import annotations

import argparse
import os
import sys

import jax

ENV_VAR = "GIGJAX_COMPILE_CACHE"  # "0", "off", "false" or "no" turns the cache off
_OFF = ("0", "off", "false", "no")
# Cache every compilation, however short, and entries of any size. JAX's default (only compilations
# over 1 s) leaves out the ~80 small programs of a CPU `gigjax explain` (each eager op, the resize,
# the normalisation): together ~1.4 s of the ~4.5 s a run compiles, while reading one back takes ~8 ms.
MIN_COMPILE_TIME_S = 0.0
MIN_ENTRY_SIZE_BYTES = 0


def add_argument(parser: argparse.ArgumentParser) -> None:
    """Adds ``--no-compile-cache`` to a subcommand's parser."""
    parser.add_argument("--no-compile-cache", dest="compile_cache", action="store_false",
                        help=f"do not reuse compiled XLA programs across runs (also: {ENV_VAR}=0)")


def cache_folder() -> str:
    """Where compiled programs are kept: ``$JAX_COMPILATION_CACHE_DIR`` or ``<gigjax cache>/xla``."""
    from gigjax.models.zoo import cache_dir

    return os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(cache_dir(), "xla")


def program_folder(requested: bool = True) -> str | None:
    """Where the command's traced programs are kept (:mod:`gigjax.program_cache`):
    ``<gigjax cache>/programs``, or ``None`` when the cache is off."""
    from gigjax.models.zoo import cache_dir

    return os.path.join(cache_dir(), "programs") if enabled(requested) else None


def enabled(requested: bool = True) -> bool:
    """Whether the cache should be on: requested (no ``--no-compile-cache``) and not turned off by
    ``$GIGJAX_COMPILE_CACHE``."""
    return requested and os.environ.get(ENV_VAR, "").strip().lower() not in _OFF


def settings(folder: str) -> dict:
    """The JAX configuration values that put the persistent cache in ``folder``."""
    return {"jax_compilation_cache_dir": folder,
            "jax_persistent_cache_min_compile_time_secs": MIN_COMPILE_TIME_S,
            "jax_persistent_cache_min_entry_size_bytes": MIN_ENTRY_SIZE_BYTES}


def setup(requested: bool = True) -> str | None:
    """Turns JAX's persistent compilation cache on (before anything is compiled); returns its folder,
    or ``None`` when it is off or the folder cannot be created."""
    if not enabled(requested):
        return None
    folder = cache_folder()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None  # e.g. a read-only home: run without the cache, silently (JAX would warn)
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    for name, value in settings(folder).items():
        jax.config.update(name, value)
    if os.environ.get("GIGJAX_DEBUG"):
        print(f"gigjax: XLA compilation cache in {folder}", file=sys.stderr)
    return folder
