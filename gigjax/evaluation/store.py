"""The on-disk results of an evaluation run: append-only, crash-safe, resumable.

Layout of the output folder::

    run.json          what was evaluated (dataset, model, metrics, settings, each method's options)
    results.jsonl     one line per (method, batch): {"method": m, "results": [per-image dicts]}
    examples/         example maps (PNG) for the figures

Every line is written with one ``write`` and flushed to disk (``fsync``) before the next batch
starts, so a crash or kill loses at most the batch in flight. A line cut short by a crash is
detected and removed when the run is resumed; any other damage is an error rather than a guess.
``run.json`` is replaced atomically (write to a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import json
import math
import os
from typing import Iterable

from gigjax.errors import GigjaxError

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
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_clean(data), f, indent=1, sort_keys=True, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ResultStore:
    """Results of one run in ``folder`` (created if needed).

    ``open(identity, methods)`` checks that an existing run measured the same thing (same dataset,
    model, metrics and settings; a method present in both with the same options) and records new
    methods; ``done(method)`` lists the dataset indices already finished; ``append(method, results)``
    commits one batch.
    """

    def __init__(self, folder: str):
        self.folder = os.fspath(folder)
        self.results_path = os.path.join(self.folder, RESULTS)
        self.manifest_path = os.path.join(self.folder, MANIFEST)
        self._done: dict[str, set[int]] = {}

    def open(self, identity: dict, methods: dict[str, dict]) -> None:
        """Starts or resumes the run. ``identity`` must be JSON-able; ``methods`` maps each method to
        its options. Raises :class:`GigjaxError` when the folder holds a different run."""
        os.makedirs(self.folder, exist_ok=True)
        identity, methods = _clean(identity), _clean(methods)
        manifest = {"format": FORMAT, "identity": identity, "methods": {}}
        if os.path.isfile(self.manifest_path):
            try:
                with open(self.manifest_path, encoding="utf-8") as f:
                    manifest = json.load(f)
            except (OSError, json.JSONDecodeError) as exc:
                raise GigjaxError(f"{self.manifest_path} is damaged ({exc}); use a new --out folder") from None
            if manifest.get("identity") != identity:
                diff = sorted(k for k in set(identity) | set(manifest.get("identity", {}))
                              if identity.get(k) != manifest.get("identity", {}).get(k))
                raise GigjaxError(f"{self.folder} holds a run with different {', '.join(diff)}; "
                                  f"resume with the same settings or use a new --out folder")
            for name, options in methods.items():
                old = manifest["methods"].get(name)
                if old is not None and old != options:
                    raise GigjaxError(f"{self.folder} holds {name} results with options {old}, not {options}; "
                                      f"use a new --out folder")
        elif os.path.exists(self.results_path):
            raise GigjaxError(f"{self.folder} has {RESULTS} but no {MANIFEST}; use a new --out folder")
        manifest["methods"].update(methods)
        write_json_atomic(self.manifest_path, manifest)
        self._done = {}
        for line in self._read_lines(repair=True):
            self._done.setdefault(line["method"], set()).update(
                r["index"] for r in line["results"] if not r.get("error"))

    def _read_lines(self, repair: bool = False) -> Iterable[dict]:
        if not os.path.isfile(self.results_path):
            return []
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
        if good_end != len(data):  # a final line cut short by a crash: drop it
            if not repair:
                return lines
            with open(self.results_path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())
        return lines

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
        by_index = {}
        for line in self._read_lines():
            if line["method"] == method:
                for r in line["results"]:
                    if not r.get("error") or r["index"] not in by_index:
                        by_index[r["index"]] = r
        return [by_index[i] for i in sorted(by_index)]
