"""pyproject.toml: the explicit package list covers every package directory (models/ → gigjax.models),
except the development-time tools, which it leaves out."""

import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _package_dirs(top: str, name: str) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "__"))]
        if any(f.endswith(".py") for f in filenames):
            rel = os.path.relpath(dirpath, os.path.join(ROOT, top))
            found.add(name if rel == "." else name + "." + rel.replace(os.sep, "."))
    return found


# Development-time tools kept next to the files they generate, deliberately not installed.
DEV_ONLY = {"gigjax.data.tools"}


def test_every_package_is_listed():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        config = tomllib.load(f)["tool"]["setuptools"]
    listed = set(config["packages"])
    assert config["package-dir"]["gigjax.models"] == "models"
    expected = _package_dirs("gigjax", "gigjax") | _package_dirs("models", "gigjax.models")
    assert expected - DEV_ONLY <= listed, f"add to pyproject packages: {sorted(expected - DEV_ONLY - listed)}"
    assert DEV_ONLY <= expected and not DEV_ONLY & listed, "the development tools must stay out of the installed packages"
