"""One evaluation process per output folder: ``<out>/run.lock``.

The lock file is created with ``O_CREAT | O_EXCL`` (atomic on local and NFSv3+ file systems) and holds
``{"pid", "host"}`` of its holder. A second process on the same folder is refused with a message
naming the holder. A lock left behind by a process that died without cleaning up (``kill -9``, a
power cut) is detected when its holder ran on this host and that pid no longer lives; it is then
taken over. A lock held from another host cannot be checked and is always refused (remove the file
once that run is known to be dead).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket

from gigjax.errors import GigjaxError
from gigjax.files import read_json

LOCK = "run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _holder(path: str) -> dict | None:
    try:
        holder = read_json(path)
        return holder if isinstance(holder, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # being written right now, or damaged: treated as held


class RunLock:
    """``with RunLock(folder):`` holds the folder's lock for the duration (see the module docstring);
    each process of a distributed run holds its own (``name``: ``run.p<I>.lock``)."""

    def __init__(self, folder: str, name: str = LOCK):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, name)
        self._held = False

    def acquire(self) -> None:
        """Takes the lock; raises :class:`GigjaxError` naming the holder when another process has it."""
        os.makedirs(self.folder, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _holder(self.path)
                if holder is None:
                    continue  # released meanwhile: try again
                stale = (holder.get("host") == me["host"] and isinstance(holder.get("pid"), int)
                         and holder["pid"] != me["pid"] and not _alive(holder["pid"]))
                if not stale:
                    raise GigjaxError(
                        f"{self.folder} is in use by another evaluation (pid {holder.get('pid', '?')} on host "
                        f"{holder.get('host', '?')}, lock file {self.path}); wait for it, or remove the lock "
                        f"file if that process is gone") from None
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)  # its holder died on this host without releasing it
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
                f.flush()
                os.fsync(f.fileno())
            self._held = True
            return
        raise GigjaxError(f"{self.path}: could not take the lock (another process keeps taking it)")

    def release(self) -> None:
        if self._held:
            self._held = False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
