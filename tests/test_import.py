"""Importing gigjax starts no JAX backend: ``jax.distributed.initialize`` must run before any (a
module-level ``jnp`` constant once broke multi-process evaluation)."""

import subprocess
import sys

MODULES = ("gigjax", "gigjax.evaluation", "gigjax.metrics", "gigjax.distributed", "gigjax.testing", "gigjax.plot",
           "gigjax.cli", "gigjax.commands.evaluate", "gigjax.commands.explain", "gigjax.finetune")

SCRIPT = f"""
import jax._src.xla_bridge as xb

def refuse(*args, **kwargs):
    raise SystemExit("a JAX backend was started while importing")

xb.backends = refuse
import importlib
for name in {MODULES!r}:
    importlib.import_module(name)
"""


def test_importing_gigjax_starts_no_backend():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
