"""gigjax/program_cache.py: traced programs exported once, read back by the next identical call."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gigjax import program_cache
from gigjax.errors import GigjaxError


def _scaled_sum(params, x):
    return {"y": jnp.tanh(x @ params["w"]) * params["s"], "total": jnp.sum(x)}


ARGS = ({"w": np.arange(6, dtype=np.float32).reshape(3, 2) / 6, "s": np.float32(2)},
        np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))


@pytest.fixture(autouse=True)
def fresh_memo():
    """Each test starts as a new process would: nothing memoised in this one."""
    program_cache._RUNNERS.clear()
    yield
    program_cache._RUNNERS.clear()


def _files(folder, suffix=""):
    return sorted(f for f in os.listdir(folder) if f.endswith(suffix)) if os.path.isdir(folder) else []


def _assert_same(got, want):
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        assert isinstance(g, jax.Array)
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_without_a_folder_it_is_jax_jit(tmp_path):
    _assert_same(program_cache.call(None, "f", _scaled_sum, *ARGS), _scaled_sum(*ARGS))


def test_a_program_is_exported_once_then_read_back(tmp_path, monkeypatch):
    folder = str(tmp_path / "programs")
    first = program_cache.call(folder, "f", _scaled_sum, *ARGS)
    _assert_same(first, _scaled_sum(*ARGS))
    assert len(_files(folder, ".jaxexport")) == 1
    program_cache._RUNNERS.clear()
    monkeypatch.setattr(program_cache.jax.export, "export", lambda *a, **k: pytest.fail("exported again"))
    _assert_same(program_cache.call(folder, "f", _scaled_sum, *ARGS), first)


def test_key_structure_and_shapes_each_make_another_program(tmp_path):
    folder = str(tmp_path)
    program_cache.call(folder, "f", _scaled_sum, *ARGS)
    program_cache.call(folder, "f", _scaled_sum, *ARGS)  # the same: no new file
    assert len(_files(folder)) == 1
    program_cache.call(folder, "f with other options", _scaled_sum, *ARGS)
    program_cache.call(folder, "f", _scaled_sum, ARGS[0], ARGS[1][:2])  # another batch size
    program_cache.call(folder, "f", _scaled_sum, ARGS[0], ARGS[1].astype(np.float16))  # another dtype
    program_cache.call(folder, "f", lambda p, x: _scaled_sum(p, x[0]), ARGS[0], (ARGS[1],))  # another structure
    assert len(_files(folder, ".jaxexport")) == 5


def test_the_key_holds_the_code_settings_and_weak_types(monkeypatch):
    leaves, treedef = jax.tree_util.tree_flatten(ARGS)
    types = [program_cache._leaf_type(leaf) for leaf in leaves]
    key = program_cache.program_key("f", treedef, types)
    assert key == program_cache.program_key("f", treedef, types)
    weak = [jax.ShapeDtypeStruct(t.shape, t.dtype, weak_type=True) for t in types]
    assert program_cache.program_key("f", treedef, weak) != key
    with jax.default_matmul_precision("highest"):
        assert program_cache.program_key("f", treedef, types) != key
    monkeypatch.setattr(program_cache, "code_digest", lambda: "another version of gigjax")
    assert program_cache.program_key("f", treedef, types) != key


def test_functions_in_the_structure_count_by_name_not_address():
    """A card holds functions (a relevance plan): their repr carries an address that differs per process."""
    def plan():
        return 1

    first = plan

    def plan():  # noqa: F811 - the same name, another object
        return 1

    assert first is not plan
    keys = {program_cache.program_key("f", jax.tree_util.tree_structure(
        jax.tree_util.Partial(fn, np.zeros(2, np.float32))), []) for fn in (first, plan)}
    assert len(keys) == 1


def test_a_second_process_reads_the_program_the_first_exported(tmp_path):
    """The key is stable across processes (the toy card's relevance plan is a function), and the second
    process traces nothing: it neither exports nor calls the explainer's Python code."""
    program = (
        "import sys, numpy as np, jax, gigjax\n"
        "from gigjax import program_cache\n"
        "from gigjax.testing import tiny_cnn\n"
        "model = tiny_cnn()\n"
        "x = np.linspace(-1, 1, 2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)\n"
        "traced = []\n"
        "explain = gigjax.explainer('gradcam', raw=True)\n"
        "def fn(m, v, t):\n"
        "    traced.append(1)\n"
        "    return explain(m, v, t)\n"
        "out = program_cache.call(sys.argv[1], 'gradcam raw', fn, model, x, np.array([0, 1], np.int32))\n"
        "print(repr(np.asarray(out).round(6).tolist()), len(traced))\n")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    runs = [subprocess.run([sys.executable, "-c", program, str(tmp_path)], env=env, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    (maps_1, traced_1), (maps_2, traced_2) = (run.stdout.rsplit(" ", 1) for run in runs)
    assert traced_1.strip() == "1" and traced_2.strip() == "0"
    assert maps_1 == maps_2
    assert len(_files(tmp_path, ".jaxexport")) == 1


def test_unexportable_programs_are_remembered(tmp_path, monkeypatch):
    def with_callback(x):
        return jax.pure_callback(lambda v: np.asarray(v) * 2, jax.ShapeDtypeStruct(x.shape, x.dtype), x) + 1

    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(program_cache.call(str(tmp_path), "cb", with_callback, x), x * 2 + 1)
    assert _files(tmp_path) and _files(tmp_path) == _files(tmp_path, ".plain")  # a marker, no program
    program_cache._RUNNERS.clear()
    monkeypatch.setattr(program_cache.jax.export, "export", lambda *a, **k: pytest.fail("tried to export again"))
    np.testing.assert_array_equal(program_cache.call(str(tmp_path), "cb", with_callback, x), x * 2 + 1)


def test_a_damaged_program_file_is_exported_again(tmp_path):
    program_cache.call(str(tmp_path), "f", _scaled_sum, *ARGS)
    (name,) = _files(tmp_path)
    (tmp_path / name).write_bytes(b"not a program")
    program_cache._RUNNERS.clear()
    _assert_same(program_cache.call(str(tmp_path), "f", _scaled_sum, *ARGS), _scaled_sum(*ARGS))
    assert (tmp_path / name).read_bytes() != b"not a program"


def test_an_unwritable_folder_only_costs_the_tracing(tmp_path):
    (tmp_path / "file").write_text("")
    _assert_same(program_cache.call(str(tmp_path / "file"), "f", _scaled_sum, *ARGS), _scaled_sum(*ARGS))


def test_user_errors_while_tracing_are_raised_and_not_remembered(tmp_path):
    def bad(x):
        raise GigjaxError("unknown layer 'nope'")

    with pytest.raises(GigjaxError, match="unknown layer"):
        program_cache.call(str(tmp_path), "bad", bad, np.zeros(2, np.float32))
    assert _files(tmp_path) == []


def test_leaves_must_be_arrays(tmp_path):
    with pytest.raises(GigjaxError, match="arrays as pytree leaves, got int"):
        program_cache.call(str(tmp_path), "f", lambda n: n, 3)
