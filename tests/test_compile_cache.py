"""gigjax/compile_cache.py: the CLI's persistent XLA cache, its folder and its opt-outs."""

import os
import subprocess
import sys

import pytest

from gigjax import cli, compile_cache


@pytest.fixture
def recorded(monkeypatch):
    """Records the jax.config updates setup() makes instead of applying them to this test process."""
    calls = {}
    monkeypatch.setattr(compile_cache.jax.config, "update", lambda name, value: calls.__setitem__(name, value))
    monkeypatch.delenv(compile_cache.ENV_VAR, raising=False)
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    return calls


def test_folder_is_under_the_gigjax_cache(recorded, monkeypatch, tmp_path):
    monkeypatch.setenv("GIGJAX_CACHE", str(tmp_path))
    assert compile_cache.setup() == str(tmp_path / "xla")
    assert (tmp_path / "xla").is_dir()
    assert recorded == {"jax_compilation_cache_dir": str(tmp_path / "xla"),
                        "jax_persistent_cache_min_compile_time_secs": 0.0,
                        "jax_persistent_cache_min_entry_size_bytes": 0}


def test_jax_own_folder_wins(recorded, monkeypatch, tmp_path):
    monkeypatch.setenv("GIGJAX_CACHE", str(tmp_path / "gigjax"))
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "mine"))
    assert compile_cache.setup() == str(tmp_path / "mine")
    assert recorded["jax_compilation_cache_dir"] == str(tmp_path / "mine")


@pytest.mark.parametrize("value", ["0", "off", "False", "no"])
def test_environment_variable_turns_it_off(recorded, monkeypatch, tmp_path, value):
    monkeypatch.setenv("GIGJAX_CACHE", str(tmp_path))
    monkeypatch.setenv(compile_cache.ENV_VAR, value)
    assert compile_cache.setup() is None
    assert recorded == {} and not (tmp_path / "xla").exists()


def test_flag_turns_it_off(recorded, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GIGJAX_CACHE", str(tmp_path))
    args = cli.build_parser().parse_args(["models", "--no-compile-cache"])
    assert args.compile_cache is False
    assert cli.build_parser().parse_args(["methods"]).compile_cache is True  # every subcommand has it
    assert cli.main(["models", "efficientnet_lite0", "--no-compile-cache"]) == 0
    assert recorded == {} and not (tmp_path / "xla").exists()
    assert cli.main(["models", "efficientnet_lite0"]) == 0
    assert recorded["jax_compilation_cache_dir"] == str(tmp_path / "xla")
    assert "cache" not in capsys.readouterr().err  # silent unless GIGJAX_DEBUG is set


def test_unwritable_folder_means_no_cache(recorded, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("GIGJAX_CACHE", str(tmp_path / "file"))  # a file, not a folder
    assert compile_cache.setup() is None and recorded == {}


def test_a_second_process_reads_what_the_first_compiled(tmp_path):
    """The configuration names are the installed JAX's: a fresh process writes entries, and the same
    program in another fresh process is a cache hit."""
    program = (
        "import jax, jax.numpy as jnp, logging\n"
        "from gigjax import compile_cache\n"
        "assert compile_cache.setup()\n"
        "hits = []\n"
        "class H(logging.Handler):\n"
        "    def emit(self, r): hits.append('cache hit' in r.getMessage().lower())\n"
        "logging.getLogger('jax._src.compiler').addHandler(H()); logging.getLogger('jax._src.compiler').setLevel(1)\n"
        "print(float(jax.jit(lambda x: jnp.sin(x) @ x.T)(jnp.ones((8, 8))).sum()), any(hits))\n")
    env = {**os.environ, "GIGJAX_CACHE": str(tmp_path), "JAX_PLATFORMS": "cpu"}
    env.pop(compile_cache.ENV_VAR, None)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    first = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split()[1] == "False"
    assert os.listdir(tmp_path / "xla")
    second = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == [first.stdout.split()[0], "True"]
