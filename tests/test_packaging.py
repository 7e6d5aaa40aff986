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


def _pyproject() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def test_license_file_is_the_declared_apache_2_text():
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text.splitlines()) > 190  # the full text


def test_type_hints_are_shipped():
    assert os.path.isfile(os.path.join(ROOT, "gigjax", "py.typed"))
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["gigjax"]


def test_citation_and_changelog_name_this_version():
    import re

    version = _pyproject()["project"]["version"]
    with open(os.path.join(ROOT, "CITATION.cff"), encoding="utf-8") as f:
        citation = f.read()
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M)
    assert re.search(rf"^version: {re.escape(version)}$", citation, re.M)
    for paper in ("GIG-CAM+M", "Integrated Grad-CAM", "Guided Integrated Gradients",
                  "Axiomatic Attribution for Deep Networks", "Grad-CAM: Visual Explanations", "Score-CAM"):
        assert paper in citation
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        changelog = f.read()
    assert "## [Unreleased]" in changelog and f"## [{version}]" in changelog
