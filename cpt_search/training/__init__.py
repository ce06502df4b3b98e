"""Running one trial: :func:`run_trial` trains a task once under a schedule (torch imported lazily)."""

from __future__ import annotations

from cpt_search.training.errors import TrialDiverged
from cpt_search.training.records import EpochRecord, TrialResult, TrialSpec
from cpt_search.training.runner import run_trial

__all__ = ["EpochRecord", "TrialDiverged", "TrialResult", "TrialSpec", "run_trial"]
