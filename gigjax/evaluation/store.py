"""The on-disk results of an evaluation run: append-only, crash-safe, resumable.

Layout of the output folder::

    run.json          what was evaluated (dataset, model, metrics, settings, each method's options)
    results.jsonl     one line per (method, batch): {"method": m, "results": [per-image dicts]}
                      (a distributed run: results.p<I>.jsonl, process I's share, see results_file)
    examples/         example maps (PNG) for the figures

Every line is written with one ``write`` and flushed to disk (``fsync``) before the next batch
starts, so a crash or kill loses at most the batch in flight. A line cut short by a crash is
detected and removed when the run is resumed; any other damage is an error rather than a guess.
``run.json`` is replaced atomically (:func:`gigjax.files.atomic_write`).

A resume checks, before anything is written, that the folder holds the same run (its identity:
data, weights, metrics, settings; each method's options) and that every stored result's image id is
still the image at that index of the dataset.
"""

from __future__ import annotations

import json
import math
import os
from typing import Callable, Iterable

from gigjax.errors import GigjaxError
from gigjax.files import atomic_write, read_json

RESULTS = "results.jsonl"
MANIFEST = "run.json"
FORMAT = 1


def _clean(value):
    """JSON-ready: NaN/Inf → None, numpy scalars → Python numbers, tuples → lists."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomic(path: str, data) -> None:
    """``data`` as indented JSON (NaN → null), replacing ``path`` atomically."""
    with atomic_write(path) as f:
        json.dump(_clean(data), f, indent=1, sort_keys=True, allow_nan=False)


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _changes(old: dict, new: dict) -> str:
    """What differs between two identities: ``"different weights (was "ab…", now "cd…")"``."""
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return (f"different {', '.join(keys)} ("
            + "; ".join(f"{k} was {_short(old.get(k))}, now {_short(new.get(k))}" for k in keys) + ")")


def results_file(process: int, processes: int) -> str:
    """The results file of process ``process`` of ``processes`` (one process: ``results.jsonl``)."""
    return RESULTS if processes == 1 else f"results.p{process}.jsonl"


def _merge(results: Iterable[dict]) -> list[dict]:
    """One result per dataset index, sorted by index: a success takes precedence over a failure."""
    by_index: dict[int, dict] = {}
    for r in results:
        if not r.get("error") or r["index"] not in by_index:
            by_index[r["index"]] = r
    return [by_index[i] for i in sorted(by_index)]


class ResultStore:
    """Results of one run in ``folder`` (created if needed), in its ``results`` file.

    ``open(identity, methods)`` checks that an existing run measured the same thing (same dataset,
    model, metrics and settings; a method present in both with the same options) and records new
    methods; ``done(method)`` lists the dataset indices already finished; ``append(method, results)``
    commits one batch. With ``writes_manifest=False`` (the processes of a distributed run but
    process 0) ``open`` only checks the manifest that process 0 wrote.
    """

    def __init__(self, folder: str, results: str = RESULTS, writes_manifest: bool = True):
        self.folder = os.fspath(folder)
        self.results_path = os.path.join(self.folder, results)
        self.manifest_path = os.path.join(self.folder, MANIFEST)
        self.writes_manifest = writes_manifest
        self._done: dict[str, set[int]] = {}

    def open(self, identity: dict, methods: dict[str, dict],
             image_id: Callable[[int], str | None] | None = None) -> None:
        """Starts or resumes the run. ``identity`` must be JSON-able; ``methods`` maps each method to
        its options; ``image_id(index)`` gives the dataset's current image id at ``index`` (None: not
        part of this run), checked against every stored result.

        Raises:
          GigjaxError: the folder holds a different run, or the dataset changed; nothing is written then.
        """
        identity, methods = _clean(identity), _clean(methods)
        manifest = {"format": FORMAT, "identity": identity, "methods": {}}
        if os.path.isfile(self.manifest_path):
            try:
                manifest = read_json(self.manifest_path)
            except (OSError, ValueError) as exc:
                raise GigjaxError(f"{self.manifest_path} is damaged ({exc}); use a new --out folder") from None
            old = manifest.get("identity", {})
            if old != identity:
                raise GigjaxError(f"{self.folder} holds a run with {_changes(old, identity)}; resume "
                                  f"with the same data, weights and settings or use a new --out folder")
            for name, options in methods.items():
                before = manifest["methods"].get(name)
                if before is not None and before != options:
                    raise GigjaxError(f"{self.folder} holds {name} results with options {before}, not {options}; "
                                      f"use a new --out folder")
        elif not self.writes_manifest:
            raise GigjaxError(f"{self.manifest_path} (written by process 0) is not there: every process of a "
                              f"distributed run must see the same --out folder (a shared file system)")
        elif os.path.exists(self.results_path):
            raise GigjaxError(f"{self.folder} has {RESULTS} but no {MANIFEST}; use a new --out folder")
        lines, good_end, size = self._parse()
        if image_id is not None:
            _check_image_ids(self.results_path, lines, image_id)
        os.makedirs(self.folder, exist_ok=True)
        if good_end != size:  # a final line cut short by a crash: drop it
            with open(self.results_path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())
        manifest["methods"].update(methods)
        if self.writes_manifest:
            write_json_atomic(self.manifest_path, manifest)
        self._done = {}
        for line in lines:
            self._done.setdefault(line["method"], set()).update(
                r["index"] for r in line["results"] if not r.get("error"))

    def _parse(self) -> tuple[list[dict], int, int]:
        """(complete lines, bytes they span, file size); damage before the last line is an error."""
        if not os.path.isfile(self.results_path):
            return [], 0, 0
        with open(self.results_path, "rb") as f:
            data = f.read()
        lines, good_end = [], 0
        for number, raw in enumerate(data.split(b"\n")[:-1], 1) if data else ():
            try:
                line = json.loads(raw)
                if not isinstance(line, dict) or "method" not in line or "results" not in line:
                    raise ValueError("not a results line")
            except ValueError:
                raise GigjaxError(f"{self.results_path} is damaged at line {number}; move it away to "
                                  f"start over") from None
            lines.append(line)
            good_end += len(raw) + 1
        return lines, good_end, len(data)

    def done(self, method: str) -> set[int]:
        """Dataset indices with a finished result for ``method`` (failed images are retried)."""
        return self._done.get(method, set())

    def append(self, method: str, results: list[dict]) -> None:
        """Commits one batch of per-image results (each with an ``"index"``) for ``method``."""
        line = json.dumps({"method": method, "results": _clean(results)}, allow_nan=False,
                          separators=(",", ":")) + "\n"
        with open(self.results_path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._done.setdefault(method, set()).update(r["index"] for r in results if not r.get("error"))

    def results(self, method: str) -> list[dict]:
        """Every per-image result of ``method``, sorted by dataset index: one per index, a success
        taking precedence over an earlier failure."""
        return _merge(r for line in self._parse()[0] if line["method"] == method for r in line["results"])


class SharedResults:
    """The results of every process of a distributed run read together (each index is computed by
    one process; a success in any share takes precedence over a failure in another)."""

    def __init__(self, folder: str, processes: int):
        self.stores = [ResultStore(folder, results_file(i, processes)) for i in range(processes)]

    def results(self, method: str) -> list[dict]:
        return _merge(r for store in self.stores for r in store.results(method))


def _check_image_ids(path: str, lines: list[dict], image_id: Callable[[int], str | None]) -> None:
    """Every stored result's ``image_id`` must still be the dataset's image at its index."""
    seen: dict[int, str] = {}
    for line in lines:
        for r in line["results"]:
            if "image_id" in r:
                seen.setdefault(r["index"], r["image_id"])
    for index in sorted(seen):
        now = image_id(index)
        if now is not None and now != seen[index]:
            raise GigjaxError(f"{path}: the result for dataset index {index} is of image {seen[index]!r}, but "
                              f"the dataset now has {now!r} there: the dataset changed; use a new --out folder")
