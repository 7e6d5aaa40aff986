"""One progress bar for long work (``gigjax evaluate``, ``gigjax explain``), drawn with ``rich``.

The bar counts (image, method) pairs — images × methods — and shows the method being run, pairs per
second ("img/s") and the time left. It is drawn on stderr only when that is a terminal; elsewhere
(a log file, a pipe, CI) and with ``enabled=False`` (``--no-progress``) it prints nothing.
"""

from __future__ import annotations

import sys
from typing import IO, Iterable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text


class _Rate(ProgressColumn):
    """Images (image × method pairs) per second since the bar started."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- img/s" if speed is None else f"{speed:.2f} img/s")


class ProgressBar:
    """A bar over ``total`` (image, method) pairs, ``done`` of them finished before it started.

    Use as a context manager (or loop over :meth:`over`); :meth:`advance` after each finished piece
    of work.

    Args:
      total: images × methods to do in all.
      done: pairs already finished (a resumed run).
      enabled: False draws nothing (``--no-progress``).
      stream: where to draw (default ``sys.stderr``); nothing is drawn unless it is a terminal.
    """

    def __init__(self, total: int, *, done: int = 0, enabled: bool = True, stream: IO | None = None):
        stream = sys.stderr if stream is None else stream
        tty = bool(getattr(stream, "isatty", lambda: False)())
        self.active = enabled and tty
        console = Console(file=stream, force_terminal=tty, stderr=stream is sys.stderr)
        # printing on stdout while the bar is drawn goes above the bar when stdout is a terminal too;
        # redirected stdout (a file, a pipe) is left alone
        same_terminal = bool(getattr(sys.stdout, "isatty", lambda: False)())
        self._bar = Progress(TextColumn("{task.fields[method]}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                             TimeRemainingColumn(), console=console, disable=not self.active,
                             redirect_stdout=same_terminal, redirect_stderr=False)
        self._task = self._bar.add_task("", total=max(total, 0), completed=done, method="")

    def __enter__(self) -> "ProgressBar":
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def over(self, items: Iterable) -> Iterator:
        """Yields ``items`` with the bar shown meanwhile (started at the first, stopped after the last
        or when the loop is left)."""
        with self:
            yield from items

    def advance(self, pairs: int = 1, method: str | None = None) -> None:
        """Counts ``pairs`` more (image, method) pairs done; ``method`` names the method now running."""
        fields = {} if method is None else {"method": method}
        self._bar.update(self._task, advance=pairs, **fields)

    def running(self, method: str) -> None:
        """Shows ``method`` as the one being run."""
        self._bar.update(self._task, method=method)
