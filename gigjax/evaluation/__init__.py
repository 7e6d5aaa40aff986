"""Evaluate explainers on annotated datasets: resumable, sharded, in the paper's layout.

``evaluate(model, dataset, methods, out, ...)`` (see :mod:`gigjax.evaluation.runner`) is what
``gigjax evaluate`` runs.
"""

from gigjax.evaluation.runner import Evaluation, evaluate, stretch
from gigjax.evaluation.sharding import BatchSharding
from gigjax.evaluation.steps import Settings
from gigjax.evaluation.store import ResultStore
from gigjax.evaluation.targets import ClassTargets, resolve_targets

__all__ = ["BatchSharding", "ClassTargets", "Evaluation", "ResultStore", "Settings", "evaluate",
           "resolve_targets", "stretch"]
