"""models/torch_checkpoint.py: torch's file formats read without torch, exactly; hostile and damaged files refused.

The fixtures under tests/golden/checkpoints/ were written by torch itself
(tests/golden/make_torchvision_golden.py): ``tiny_zip.pth`` (``torch.save``), ``tiny_legacy.pth``
(``_use_new_zipfile_serialization=False``), ``tiny_wrapped.pth`` (``{"epoch": 3, "state_dict": ...}``)
and ``tiny.safetensors``. They hold a non-contiguous view, a view at an offset into a shared
storage, float16/float64/bfloat16/int/bool tensors and a 0-d ``num_batches_tracked``.
"""

from __future__ import annotations

import io
import re
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


# --- hostile files: no hang, no memory bomb, one CheckpointError naming the file (issue 12.1, 12.2, 12.6) ---
#
# Each file is generated here (tiny, in a temporary folder) and loaded in ONE child process whose address
# space is capped at 2 GiB above its size after imports, so a regression raises MemoryError there instead of
# taking the machine down. The child reports, per file, what was raised, how long it took and the extra
# memory (tracemalloc peak and ru_maxrss growth): each must be a CheckpointError naming the file, in under
# 5 s and 1 GB.

GIB = 1 << 30
LIMIT_SECONDS, LIMIT_BYTES = 5.0, 1 << 30

_CHILD = r"""
import json, resource, sys, time, tracemalloc
from gigjax.models import weight_file
from gigjax.models.torch_checkpoint import load_state_dict

def vm_bytes():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))

resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + 2 * 2**30, resource.getrlimit(resource.RLIMIT_AS)[1]))
report = {}
for path in sys.argv[1:]:
    rss, start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    tracemalloc.start()
    try:
        weight_file.read(path) if path.endswith(".npz") else load_state_dict(path)
        error = ("none", "")
    except BaseException as exc:
        error = (type(exc).__name__, str(exc)[:400])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    report[path] = {"error": error[0], "message": error[1], "seconds": time.perf_counter() - start,
                    "traced": peak, "rss": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) * 1024}
print(json.dumps(report))
"""


def _safetensors_file(path, header, body=b""):
    path.write_bytes(safetensors_bytes(header, body))


def _npy_header(shape) -> bytes:
    """A version 1.0 .npy header declaring ``shape`` of float32."""
    text = repr({"descr": "<f4", "fortran_order": False, "shape": tuple(shape)}).encode()
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def _hostile_files(folder):
    """name → (path, expected message). Built with tests/checkpoint_files.py (no torch)."""
    import checkpoint_files as tf
    import json

    one = tf.Storage("0", 4)
    valid = tf.Tensor(one, (4,), (1,))
    four = {"0": tf.float_storage([1, 2, 3, 4])}
    cases = {}

    def torch_zip(name, obj, storages=four):
        path = folder / f"{name}.pth"
        tf.write_zip(path, obj, storages)
        return path

    cases["dag pickle"] = (torch_zip("dag", {"w": valid, "x": tf.shared_lists(40)}), "entry 'x' is not a tensor")
    cases["dag tuple as a key"] = (torch_zip("dag_key", {"w": valid, tf.shared_tuples(40): 1}),
                                   "refusing a dict key of type tuple")
    cases["dag tuple as an OrderedDict key"] = (
        torch_zip("dag_key_call", tf.ordered_dict_call([("w", valid), (tf.shared_tuples(40), 1)])),
        "refusing a dict key of type tuple")
    cases["deep pickle"] = (torch_zip("deep", {"w": valid, "x": tf.nested_lists(20_000)}), "entry 'x' is not a tensor")
    cases["deep pickle, top level"] = (torch_zip("deep_top", tf.nested_lists(20_000)), "does not hold a state dict")
    deep_pid = tf.Raw(pickle.MARK + tf.pickle_bytes("storage")[2:-1] + tf.nested_lists(10_000).code
                      + tf.pickle_bytes(("0", "cpu", 4))[3:-2] + pickle.TUPLE + pickle.BINPERSID)
    cases["deep storage record"] = (torch_zip("deep_pid", {"w": tf.Tensor(deep_pid, (4,), (1,))}),
                                    r"unsupported storage type \[\[\[")
    cases["stride-0 1.5M x 1024"] = (torch_zip("stride0", {"w": tf.Tensor(tf.Storage("0", 1), (1_500_000, 1024), (0, 0))},
                                               {"0": tf.float_storage([1])}), "1536000000 elements but its storage holds 1")
    cases["stride-0 2^20 x 2^20"] = (torch_zip("stride0_huge", {"w": tf.Tensor(tf.Storage("0", 1), (2**20, 2**20), (0, 0))},
                                               {"0": tf.float_storage([1])}), "elements but its storage holds 1")
    cases["huge stride"] = (torch_zip("stride_huge", {"w": tf.Tensor(one, (2,), (2**62,))}), "invalid stride")
    cases["stride 2^63 on a size-1 axis"] = (torch_zip("stride_63", {"w": tf.Tensor(one, (1,), (2**63,))}), "invalid stride")
    cases["shape [2^64]"] = (torch_zip("shape64", {"w": tf.Tensor(one, (2**64,), (1,))}), "invalid shape")
    cases["empty with a negative dim"] = (torch_zip("negative", {"w": tf.Tensor(one, (0, -5), (1, 1))}), "invalid shape")
    cases["huge offset"] = (torch_zip("offset", {"w": tf.Tensor(one, (1,), (1,), 2**70)}), "invalid storage offset")
    bomb = folder / "zip_bomb.pth"
    tf.write_zip_bomb(bomb, {"w": valid}, "0", 6 * GIB)
    cases["zip bomb, small record"] = (bomb, "holds 6.0 GiB but its record declares 4 elements")
    bomb = folder / "zip_bomb_declared.pth"
    tf.write_zip_bomb(bomb, {"w": tf.Tensor(tf.Storage("0", 6 * GIB // 4), (6 * GIB // 4,), (1,))}, "0", 6 * GIB)
    cases["zip bomb, matching record"] = (bomb, r"would inflate to 6\.0 GiB from a 6\.\d MiB file")

    def safetensors(name, header, body=b""):
        path = folder / f"{name}.safetensors"
        _safetensors_file(path, header, body)
        return path

    deep = "[" * 100_000 + "]" * 100_000
    path = folder / "deep_header.safetensors"
    text = ('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "x": ' + deep + "}}").encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"\0" * 4)
    cases["safetensors deep header"] = (path, "damaged safetensors header")
    cases["safetensors list dtype"] = (safetensors("list_dtype", {"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}},
                                                   b"\0" * 4), "unsupported dtype")
    cases["safetensors shape [2^64]"] = (safetensors("shape64", {"w": {"dtype": "F32", "shape": [2**64], "data_offsets": [0, 4]}},
                                                     b"\0" * 4), "invalid shape")
    cases["safetensors shape overflowing int64"] = (
        safetensors("overflow", {"w": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}}),
        r"has 0 bytes for shape \(4294967296, 4294967296\)")
    path = folder / "array.npz"
    np.save(path.with_suffix(".npy"), np.zeros(3, np.float32))
    shutil.move(path.with_suffix(".npy"), path)
    cases[".npy renamed .npz"] = (path, "single .npy array")
    path = folder / "forged_header.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", _npy_header((2**20, 2**20)) + b"\0" * 16)
    cases[".npz with a forged 2^20 x 2^20 header"] = (path, "needs 4096.0 GiB but its member holds")
    del json
    return cases


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    import json
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("hostile")
    cases = _hostile_files(folder)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    child = subprocess.run([sys.executable, "-c", _CHILD, *(str(p) for p, _ in cases.values())], cwd=root,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-2000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    return {name: (str(path), message, report[str(path)]) for name, (path, message) in cases.items()}


HOSTILE = ["dag pickle", "dag tuple as a key", "dag tuple as an OrderedDict key", "deep pickle", "deep pickle, top level", "deep storage record", "stride-0 1.5M x 1024",
           "stride-0 2^20 x 2^20", "huge stride", "stride 2^63 on a size-1 axis", "shape [2^64]",
           "empty with a negative dim", "huge offset", "zip bomb, small record", "zip bomb, matching record",
           "safetensors deep header", "safetensors list dtype", "safetensors shape [2^64]",
           "safetensors shape overflowing int64", ".npy renamed .npz", ".npz with a forged 2^20 x 2^20 header"]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_file_is_refused_fast_and_small(hostile, case):
    path, message, got = hostile[case]
    assert got["error"] == "CheckpointError", got
    assert got["message"].startswith(path), got["message"]
    assert re.search(message, got["message"]), got["message"]
    assert got["seconds"] < LIMIT_SECONDS, got
    assert got["traced"] < LIMIT_BYTES and got["rss"] < LIMIT_BYTES, got


def test_hostile_files_are_tiny(hostile):
    sizes = {case: os.path.getsize(path) for case, (path, _, _) in hostile.items()}
    assert sizes["dag pickle"] < 1500 and sizes["stride-0 1.5M x 1024"] < 1500, sizes
    assert max(sizes[c] for c in ("zip bomb, small record", "zip bomb, matching record")) < 10 << 20, sizes


def test_shape_check_runs_before_any_data_is_read(tmp_path):
    import checkpoint_files as tf

    path = tmp_path / "w.pth"
    tf.write_zip(path, {"w": tf.Tensor(tf.Storage("0", 4), (2, 2), (2, 1))}, {"0": tf.float_storage([1, 2, 3, 4])})
    seen = []

    def refuse(shapes):
        seen.append(shapes)
        raise GigjaxError("wrong architecture")

    with pytest.raises(GigjaxError, match="wrong architecture"):
        load_state_dict(path, refuse)
    assert seen == [{"w": (2, 2)}]
    np.testing.assert_array_equal(load_state_dict(path, lambda shapes: None)["w"], [[1, 2], [3, 4]])


@pytest.mark.parametrize("container", ["zip", "safetensors"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_weights_are_refused_naming_the_tensor(tmp_path, container, bad):
    import checkpoint_files as tf

    values = [1.0, 2.0, bad, 4.0]
    if container == "zip":
        path = tmp_path / "w.pth"
        tf.write_zip(path, {"fine": tf.Tensor(tf.Storage("1", 1), (1,), (1,)),
                            "head.weight": tf.Tensor(tf.Storage("0", 4), (2, 2), (2, 1))},
                     {"0": tf.float_storage(values), "1": tf.float_storage([0])})
    else:
        path = tmp_path / "w.safetensors"
        _safetensors_file(path, {"head.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
                          tf.float_storage(values))
    with pytest.raises(CheckpointError, match=rf"^{re.escape(str(path))}: tensor 'head.weight' holds 1 NaN/Inf "
                                              rf"values \(first at index \(1, 0\)\)"):
        load_state_dict(path)
