"""Development-time generators of the files committed in :mod:`gigjax.data` (not installed with gigjax).

``python -m gigjax.data.tools.build_classmap`` rebuilds ``classmap.json`` and ``imagenet_wnids.txt``
from WordNet 3.0 (:mod:`~gigjax.data.tools.wordnet`). They run from a source checkout only:
``pyproject.toml`` leaves this package out of the installed ones, and nothing at run time imports it.
"""
