"""gigjax's record files: every result, record and cache file gigjax writes goes through here, and
the JSON ones are read back with :func:`read_json`.

:func:`atomic_write` writes to a temporary file in the same folder, flushes and ``fsync``\\ s it, then
``os.replace``\\ s it over the destination, so a reader (or a resumed run after a crash or
``kill -9``) sees either the old file or the complete new one, never a torn file.
:func:`write_cache_file` is the same for a cache entry that may fail to be written.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import IO, Any, Iterator


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value stored in ``path`` (UTF-8).

    Raises:
      OSError: the file is missing or unreadable (``FileNotFoundError`` when missing).
      ValueError: it is not UTF-8 JSON (``json.JSONDecodeError`` or ``UnicodeDecodeError``).
    """
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Context manager yielding a file object whose content replaces ``path`` atomically on success.

    ``mode`` is ``"w"`` (text, ``encoding``) or ``"wb"`` (binary). On an exception the destination is
    untouched and the temporary file is removed.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_cache_file(path: str | os.PathLike, data: bytes | str) -> None:
    """Writes a cache entry with :func:`atomic_write`, creating its folder. A folder that cannot be
    written (read-only, full, a file in its place) only loses the entry: the caller recomputes it."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with atomic_write(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
    except OSError:
        pass
