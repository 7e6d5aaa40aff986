"""Writes torch-format checkpoints without torch, byte by byte, for the hostile-file tests.

:func:`pickle_bytes` emits the pickle opcodes ``torch.save`` uses (protocol 2) for an object built from
plain values and the markers below; :func:`write_zip` lays them out as ``torch.save``'s zip archive.
The markers let a test write what torch never would: a tensor record with any shape, stride or
offset, lists that share themselves, structures nested 100 000 deep.
"""

from __future__ import annotations

import dataclasses
import pickle
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

_DTYPES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}


@dataclasses.dataclass(frozen=True)
class Storage:
    """A storage record: ``key`` names the archive member ``data/<key>``; ``numel`` is declared."""

    key: str
    numel: int
    kind: str = "FloatStorage"


@dataclasses.dataclass(frozen=True)
class Tensor:
    """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())``."""

    storage: Storage
    size: Any
    stride: Any
    offset: Any = 0


@dataclasses.dataclass(frozen=True)
class Raw:
    """Opcodes inserted as they are (they must push exactly one object)."""

    code: bytes


def _global(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def _encode(obj: Any) -> bytes:
    if isinstance(obj, Raw):
        return obj.code
    if obj is None:
        return pickle.NONE
    if obj is True or obj is False:
        return pickle.NEWTRUE if obj else pickle.NEWFALSE
    if isinstance(obj, int):
        data = pickle.encode_long(obj)
        return pickle.LONG1 + bytes([len(data)]) + data
    if isinstance(obj, float):
        return pickle.BINFLOAT + struct.pack(">d", obj)
    if isinstance(obj, str):
        data = obj.encode()
        return pickle.BINUNICODE + struct.pack("<I", len(data)) + data
    if isinstance(obj, tuple):
        return pickle.MARK + b"".join(map(_encode, obj)) + pickle.TUPLE
    if isinstance(obj, list):
        return pickle.EMPTY_LIST + (pickle.MARK + b"".join(map(_encode, obj)) + pickle.APPENDS if obj else b"")
    if isinstance(obj, dict):
        items = b"".join(_encode(k) + _encode(v) for k, v in obj.items())
        return _global("collections", "OrderedDict") + pickle.EMPTY_TUPLE + pickle.REDUCE + (
            pickle.MARK + items + pickle.SETITEMS if obj else b"")
    if isinstance(obj, Storage):
        pid = Raw(pickle.MARK + _encode("storage") + _global("torch", obj.kind)
                  + _encode(obj.key) + _encode("cpu") + _encode(obj.numel) + pickle.TUPLE)
        return _encode(pid) + pickle.BINPERSID
    if isinstance(obj, Tensor):
        args = (obj.storage, obj.offset, obj.size, obj.stride, False, Raw(_encode({})))
        return _global("torch._utils", "_rebuild_tensor_v2") + _encode(args) + pickle.REDUCE
    raise TypeError(f"cannot encode {type(obj).__name__}")


def pickle_bytes(obj: Any) -> bytes:
    return pickle.PROTO + b"\x02" + _encode(obj) + pickle.STOP


def shared_lists(levels: int) -> Raw:
    """``lst = []`` then ``lst = [lst, lst]`` ``levels`` times, with pickle's memo: a few bytes that
    walk as a tree of 2^levels nodes."""
    code = pickle.EMPTY_LIST + pickle.LONG_BINPUT + struct.pack("<I", 0)
    for i in range(1, levels + 1):
        get = pickle.LONG_BINGET + struct.pack("<I", i - 1)
        code += (pickle.POP + pickle.EMPTY_LIST + pickle.MARK + get + get + pickle.APPENDS
                 + pickle.LONG_BINPUT + struct.pack("<I", i))
    return Raw(code)


def shared_tuples(levels: int) -> Raw:
    """Like :func:`shared_lists` with tuples: hashing it (as a dict key) walks all 2^levels nodes."""
    code = pickle.EMPTY_TUPLE + pickle.LONG_BINPUT + struct.pack("<I", 0)
    for i in range(1, levels + 1):
        get = pickle.LONG_BINGET + struct.pack("<I", i - 1)
        code += pickle.POP + get + get + pickle.TUPLE2 + pickle.LONG_BINPUT + struct.pack("<I", i)
    return Raw(code)


def ordered_dict_call(pairs: list) -> Raw:
    """``collections.OrderedDict([(k, v), ...])`` as one REDUCE (keys hashed by the constructor)."""
    return Raw(_global("collections", "OrderedDict") + _encode(([*pairs],)) + pickle.REDUCE)


def nested_lists(depth: int) -> Raw:
    """``[[[...]]]`` ``depth`` deep (pickle builds it without recursion; a recursive walk overflows)."""
    return Raw((pickle.EMPTY_LIST + pickle.MARK) * depth + pickle.EMPTY_LIST + pickle.APPENDS * depth)


def write_zip(path, obj: Any, storages: dict[str, bytes]) -> None:
    """``torch.save``'s zip layout: ``archive/data.pkl``, ``archive/byteorder``, ``archive/data/<key>``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle_bytes(obj))
        archive.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", "3\n")


def write_zip_bomb(path, obj: Any, key: str, inflated: int) -> None:
    """Like :func:`write_zip`, with member ``data/<key>`` holding ``inflated`` zero bytes, deflated.

    One 16 MiB segment of zeros is deflated once (ending in a full flush, so it is byte-aligned and
    self-contained) and repeated: 6 GiB cost about 6 MB on disk and a fraction of a second to write.
    The member's CRC is not computed (a sound reader refuses the member before inflating it).
    """
    chunk = 16 << 20
    assert inflated % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle_bytes(obj))
        archive.writestr("archive/byteorder", "little")
        info = zipfile.ZipInfo(f"archive/data/{key}")
        with archive.open(info, "w") as f:  # written stored, then declared deflated below
            for _ in range(inflated // chunk):
                f.write(segment)
            f.write(final)
        info.compress_type, info.file_size = zipfile.ZIP_DEFLATED, inflated
    with open(path, "r+b") as f:  # the local header's compression method, too
        f.seek(info.header_offset + 8)
        f.write(struct.pack("<H", zipfile.ZIP_DEFLATED))


def float_storage(values) -> bytes:
    return np.asarray(values, "<f4").tobytes()
