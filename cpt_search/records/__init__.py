"""The pure records of a search, below both the Optuna/Ray adapters and the MLflow recorder.

| module | what |
|---|---|
| :mod:`~cpt_search.records.trial` | :class:`TrialRecord` and the trial statuses |
| :mod:`~cpt_search.records.front` | :class:`FrontState`: the front, ranks and hypervolume of the records |
| :mod:`~cpt_search.records.progress` | :class:`Progress` counts and the :class:`ProgressEvent` of each trial |

Nothing here imports torch, Ray, MLflow or Optuna (an import contract checks it).
"""

from __future__ import annotations

from cpt_search.records.front import COST_REFERENCE, FrontState, cost_fraction, front_state, metric_reference
from cpt_search.records.progress import Progress, ProgressEvent, progress_of
from cpt_search.records.trial import (
    COMPLETE,
    FAILED,
    FINISHED_STATUSES,
    INFEASIBLE,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    WAITING,
    TrialRecord,
    candidates,
)

__all__ = [
    "COMPLETE", "COST_REFERENCE", "FAILED", "FINISHED_STATUSES", "FrontState", "INFEASIBLE",
    "INTERRUPTED", "Progress", "ProgressEvent", "RUNNING", "STOPPED", "TrialRecord", "WAITING", "candidates",
    "cost_fraction", "front_state", "metric_reference", "progress_of",
]
