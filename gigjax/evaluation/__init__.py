"""Evaluate explainers on annotated datasets: resumable, sharded, in the paper's layout.

``evaluate(model, dataset, methods, out, ...)`` (see :mod:`gigjax.evaluation.runner`) is what
``gigjax evaluate`` runs.
"""

from gigjax.evaluation.class_targets import ClassTargets, resolve_targets
from gigjax.evaluation.loader import stretch
from gigjax.evaluation.plan import RunPlan, plan_run
from gigjax.evaluation.runner import Evaluation, evaluate
from gigjax.evaluation.settings import Settings
from gigjax.evaluation.sharding import BatchSharding
from gigjax.evaluation.store import ResultStore

__all__ = ["BatchSharding", "ClassTargets", "Evaluation", "ResultStore", "RunPlan", "Settings", "evaluate",
           "plan_run", "resolve_targets", "stretch"]
