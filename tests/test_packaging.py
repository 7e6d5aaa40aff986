"""pyproject.toml: the explicit package list covers every package directory (models/ → gigjax.models)."""

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


def test_every_package_is_listed():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        config = tomllib.load(f)["tool"]["setuptools"]
    listed = set(config["packages"])
    assert config["package-dir"]["gigjax.models"] == "models"
    expected = _package_dirs("gigjax", "gigjax") | _package_dirs("models", "gigjax.models")
    assert expected <= listed, f"add to pyproject packages: {sorted(expected - listed)}"
