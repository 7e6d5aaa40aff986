"""Every explanation method; importing this package fills the registry.

Each module of this package is imported here, in name order, so a new method is one new file under
``gigjax/methods/`` that calls :func:`gigjax.registry.register` (see the README's "Extending gigjax").
"""

import importlib
import pkgutil

MODULES = tuple(sorted(info.name for info in pkgutil.iter_modules(__path__)))
"""The modules of this package (methods and the shared pieces they are built from)."""

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
