"""models/torch_checkpoint.py: torch's file formats read without torch, exactly; hostile and damaged files refused.

The fixtures under tests/golden/checkpoints/ were written by torch itself
(tests/golden/make_torchvision_golden.py): ``tiny_zip.pth`` (``torch.save``), ``tiny_legacy.pth``
(``_use_new_zipfile_serialization=False``), ``tiny_wrapped.pth`` (``{"epoch": 3, "state_dict": ...}``)
and ``tiny.safetensors``. They hold a non-contiguous view, a view at an offset into a shared
storage, float16/float64/bfloat16/int/bool tensors and a 0-d ``num_batches_tracked``.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import struct
import zipfile

import numpy as np
import pytest

from gigjax.errors import GigjaxError
from gigjax.models.torch_checkpoint import CheckpointError, load_safetensors, load_state_dict, load_torch

FIXTURES = ["tiny_zip.pth", "tiny_legacy.pth", "tiny_wrapped.pth", "tiny.safetensors"]


@pytest.fixture(scope="module")
def expected(numpy_weights):
    return numpy_weights.tiny_checkpoint_arrays()


@pytest.fixture(scope="module")
def checkpoints(golden_dir):
    return golden_dir / "checkpoints"


@pytest.mark.parametrize("fixture", FIXTURES)
def test_reads_torch_written_files_exactly(checkpoints, expected, fixture):
    state = load_state_dict(checkpoints / fixture)
    assert set(state) == set(expected)
    for name, want in expected.items():
        got = state[name]
        assert got.dtype == want.dtype, name
        assert got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    if fixture.endswith(".pth"):
        assert list(state) == list(expected)  # torch keeps the state dict's order


def test_reader_is_chosen_by_content_not_name(checkpoints, expected, tmp_path):
    shutil.copy(checkpoints / "tiny.safetensors", tmp_path / "weights.pth")
    shutil.copy(checkpoints / "tiny_zip.pth", tmp_path / "weights.safetensors")
    for path in (tmp_path / "weights.pth", tmp_path / "weights.safetensors"):
        np.testing.assert_array_equal(load_state_dict(path)["conv.weight"], expected["conv.weight"])


def test_errors_are_gigjax_errors():
    assert issubclass(CheckpointError, GigjaxError) and issubclass(CheckpointError, ValueError)


# --- hostile files -------------------------------------------------------------------------------


class Exploit:
    """Unpickling calls ``func(*args)``: the classic pickle code-execution payload."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def payloads(sentinel):
    command = f"touch {sentinel}"
    return {
        "os.system": Exploit(os.system, command),
        "builtins.eval": Exploit(eval, f"open({str(sentinel)!r}, 'w')"),
        "builtins.exec": Exploit(exec, f"open({str(sentinel)!r}, 'w')"),
        "nested in a state dict": {"weight": Exploit(os.system, command)},
    }


def zip_checkpoint_with(source, data_pkl: bytes, out):
    """A copy of a real zip checkpoint whose ``data.pkl`` is replaced."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, data_pkl if info.filename.endswith("data.pkl") else src.read(info))
    return out


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "builtins.exec", "nested in a state dict"])
@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_malicious_pickle_is_refused_without_running(checkpoints, tmp_path, payload, container):
    sentinel = tmp_path / "pwned"
    data = pickle.dumps(payloads(sentinel)[payload], protocol=2)
    if container == "zip":
        path = zip_checkpoint_with(checkpoints / "tiny_zip.pth", data, tmp_path / "evil.pth")
    else:  # legacy layout: magic number, protocol, system info, then the object
        path = tmp_path / "evil.pth"
        path.write_bytes(b"".join(pickle.dumps(o, protocol=2) for o in (0x1950A86A20F9469CFC6C, 1001,
                                                                          {"little_endian": True})) + data)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_state_dict(path)
    assert not sentinel.exists()


def test_plain_pickle_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "model.pth"
    path.write_bytes(pickle.dumps({"weight": [1.0, 2.0]}))
    with pytest.raises(CheckpointError):
        load_state_dict(path)


def test_zip_without_tensors_is_refused(checkpoints, tmp_path):
    path = zip_checkpoint_with(checkpoints / "tiny_zip.pth", pickle.dumps([1, 2, 3], protocol=2), tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match="does not hold a state dict"):
        load_state_dict(path)


# --- damaged files -------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_truncation_is_a_checkpoint_error(checkpoints, tmp_path, fixture):
    raw = (checkpoints / fixture).read_bytes()
    path = tmp_path / fixture
    for length in sorted(set(range(0, len(raw), 7)) | set(range(max(len(raw) - 64, 0), len(raw))) | {1, 8}):
        path.write_bytes(raw[:length])
        with pytest.raises(CheckpointError):
            load_state_dict(path)


def test_corrupted_storage_bytes_fail_the_zip_checksum(checkpoints, tmp_path):
    raw = bytearray((checkpoints / "tiny_zip.pth").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("data/0"))
    local_header = 30 + len(info.filename.encode()) + struct.unpack_from("<H", raw, info.header_offset + 28)[0]
    raw[info.header_offset + local_header + 3] ^= 0xFF
    path = tmp_path / "flipped.pth"
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="damaged zip archive|unreadable"):
        load_state_dict(path)


def test_big_endian_zip_is_refused(checkpoints, tmp_path):
    src = checkpoints / "tiny_zip.pth"
    out = tmp_path / "big.pth"
    with zipfile.ZipFile(src) as archive, zipfile.ZipFile(out, "w") as dst:
        for info in archive.infolist():
            dst.writestr(info.filename, b"big" if info.filename.endswith("/byteorder") else archive.read(info))
    with pytest.raises(CheckpointError, match="big-endian"):
        load_state_dict(out)


@pytest.mark.parametrize("content", [b"", b"hello, world\n", bytes(range(256)) * 4, b"PK\x03\x04" + b"\0" * 100])
def test_garbage_is_a_checkpoint_error(tmp_path, content):
    path = tmp_path / "garbage.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_state_dict(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointError, match="no such weight file"):
        load_state_dict(tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="no such weight file"):
        load_torch(tmp_path)


def safetensors_bytes(header: dict, body: bytes = b"") -> bytes:
    import json

    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


@pytest.mark.parametrize("header,body,message", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "past the end"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "bytes for shape"),
    ({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 3]}}, b"\0" * 3, "bytes for shape"),
    ({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, "unsupported dtype"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "damaged safetensors entry"),
    ({"w": {"dtype": "F32", "shape": [1], "data_offsets": ["0", 4]}}, b"\0" * 4, "damaged safetensors entry"),
    ({"w": {"dtype": "F32"}}, b"", "damaged safetensors entry"),
    ([1, 2], b"", "damaged safetensors header"),
])
def test_damaged_safetensors(tmp_path, header, body, message):
    path = tmp_path / "w.safetensors"
    path.write_bytes(safetensors_bytes(header, body))
    with pytest.raises(CheckpointError, match=message):
        load_safetensors(path)


def test_safetensors_header_length_past_the_end(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    with pytest.raises(CheckpointError, match="header length"):
        load_state_dict(path)


def test_bfloat16_safetensors_widened_exactly(tmp_path):
    values = np.array([1.0, -2.5, 0.15625, 2.0 ** 100], np.float32)
    bits = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    path = tmp_path / "w.safetensors"
    path.write_bytes(safetensors_bytes({"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]},
                                        "__metadata__": {"format": "pt"}}, bits))
    got = load_safetensors(path)
    assert list(got) == ["w"] and got["w"].dtype == np.float32
    np.testing.assert_array_equal(got["w"], values)
