"""gigjax.methods imports every module it holds, so a new method is one new file (README: Extending)."""

import os
import sys

import gigjax
import gigjax.methods


def test_every_module_of_the_package_is_imported():
    folder = os.path.dirname(gigjax.methods.__file__)
    files = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f != "__init__.py")
    assert list(gigjax.methods.MODULES) == files
    assert all(f"gigjax.methods.{name}" in sys.modules for name in files)

