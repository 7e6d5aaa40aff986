"""gigjax/cli.py: one ``gigjax: error:`` line for what user input can cause, a traceback for a bug."""

from __future__ import annotations

import pytest

from gigjax import cli
from gigjax.commands import methods
from gigjax.errors import CheckpointError, GigjaxError


def _failing(monkeypatch, exc: BaseException):
    def run(args):
        raise exc

    monkeypatch.setattr(methods, "run", run)


@pytest.mark.parametrize("exc, line", [
    (GigjaxError("unknown layer 'x'"), "gigjax: error: unknown layer 'x'"),
    (CheckpointError("w.pth: damaged zip archive"), "gigjax: error: w.pth: damaged zip archive"),
    (FileNotFoundError(2, "No such file or directory", "out/run.json"),
     "gigjax: error: [Errno 2] No such file or directory: 'out/run.json'"),
    (UnicodeDecodeError("utf-8", b"\x89", 0, 1, "invalid start byte"),
     "gigjax: error: 'utf-8' codec can't decode byte 0x89 in position 0: invalid start byte"),
    (MemoryError(), "gigjax: error: out of memory (MemoryError): try a smaller --batch-size or smaller images"),
    (RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 12 GiB\nmore"),
     "gigjax: error: out of memory (RESOURCE_EXHAUSTED: Out of memory allocating 12 GiB): try a smaller "
     "--batch-size or smaller images"),
])
def test_user_errors_are_one_line(monkeypatch, capsys, exc, line):
    monkeypatch.delenv("GIGJAX_DEBUG", raising=False)
    _failing(monkeypatch, exc)
    assert cli.main(["methods"]) == 2
    out, err = capsys.readouterr()
    assert err == line + "\n" and out == ""


@pytest.mark.parametrize("bug", [ValueError("operands could not be broadcast"), KeyError("params"),
                                 TypeError("unsupported operand"), RuntimeError("XLA internal error"),
                                 AssertionError("chex shape assertion")])
def test_an_internal_bug_keeps_its_traceback(monkeypatch, capsys, bug):
    monkeypatch.delenv("GIGJAX_DEBUG", raising=False)
    _failing(monkeypatch, bug)
    with pytest.raises(type(bug)) as info:
        cli.main(["methods"])
    assert info.value is bug and info.tb is not None
    assert "gigjax: error" not in capsys.readouterr().err


def test_debug_shows_the_traceback_of_user_errors_too(monkeypatch):
    monkeypatch.setenv("GIGJAX_DEBUG", "1")
    _failing(monkeypatch, GigjaxError("bad"))
    with pytest.raises(GigjaxError, match="bad"):
        cli.main(["methods"])


def test_interrupt(monkeypatch, capsys):
    _failing(monkeypatch, KeyboardInterrupt())
    assert cli.main(["methods"]) == 130
    assert capsys.readouterr().err == "gigjax: interrupted\n"


def test_a_hostile_weight_file_is_one_line_end_to_end(tmp_path, capsys):
    """A real command on a real hostile file (a safetensors header nested 100 000 deep: RecursionError)."""
    import struct

    text = b'{"w": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    code = cli.main(["explain", "--model", "resnet50", "--weights", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"gigjax: error: {path}: damaged safetensors header") and err.count("\n") == 1
