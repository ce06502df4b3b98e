"""Early stopping of a search's trials (pure: no torch, Ray, Optuna or MLflow).

| module | what |
|---|---|
| :mod:`~cpt_search.stopping.rule` | :class:`StoppingRule` (no-op: ``fifo``), :class:`StopDecision`, histories |
| :mod:`~cpt_search.stopping.staircase` | the ``staircase`` rule: exact-cost dominance at rungs |
| :mod:`~cpt_search.stopping.registry` | :data:`STOPPING_RULES`, the names a space's ``scheduler:`` takes |

The Ray Tune adapter is :mod:`cpt_search.search.scheduler`.
"""

from __future__ import annotations

from cpt_search.stopping.registry import (
    DEFAULT_RULE,
    STOPPING_RULES,
    StoppingEntry,
    StoppingSpec,
    register_stopping_rule,
)
from cpt_search.stopping.rule import StopDecision, StoppingRule, TrialHistory, rungs_passed
from cpt_search.stopping.staircase import Staircase, StaircaseOptions, StaircaseRule

__all__ = ["DEFAULT_RULE", "STOPPING_RULES", "Staircase", "StaircaseOptions", "StaircaseRule",
           "StopDecision", "StoppingEntry", "StoppingRule", "StoppingSpec", "TrialHistory",
           "register_stopping_rule", "rungs_passed"]
