"""The trials of a search as read from its Optuna storage (the source of truth).

Optuna user attributes a trial of a cpt_search study carries (set by S1's ``suggest_schedule``, by
the baseline enqueueing and by :class:`~cpt_search.search.searcher.ScheduleSearch`):

``schedule``, ``label``, ``relative_cost``   the schedule (``Schedule.to_dict()``) and its cost
``baseline``                                  enqueued paper preset or static baseline
``result``                                    summary of a trained trial (metric, bitops, seconds, ...)
``error``, ``error_type``                     why a trained trial failed
``infeasible``                                over the space's cost constraint, never trained
``interrupted``, ``retry_of``                 a trial cut off by a crash, and its re-enqueued retry
``reused_from``                               not trained: an identical schedule's finished trial
``ray_trial_id``                              the Ray Tune trial that ran it
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from cpt_search.select import Candidate

# Trial statuses, derived from the Optuna state and the user attributes above.
COMPLETE = "complete"
FAILED = "failed"
INFEASIBLE = "infeasible"
INTERRUPTED = "interrupted"
RUNNING = "running"
WAITING = "waiting"
FINISHED_STATUSES = (COMPLETE, FAILED)


@dataclass(frozen=True)
class TrialRecord:
    """One Optuna trial of a search, in cpt_search's terms.

    Attributes:
        number: the Optuna trial number (stable across resumes; MLflow runs are keyed by it).
        status: one of ``complete``, ``failed``, ``infeasible``, ``interrupted``, ``running``, ``waiting``.
        label, schedule, baseline: the schedule trained (or to be trained).
        values: ``(metric, bitops)`` told to Optuna for a complete trial.
        result: the summary the trial reported (empty unless complete).
        error: one line saying why a failed or interrupted trial did not complete.
        retry_of: the interrupted trial this one re-runs, if any.
        reused_from: the finished trial whose identical schedule's result this one reuses, if any.
    """

    number: int
    status: str
    label: str
    schedule: Mapping[str, Any]
    baseline: bool
    values: tuple[float, float] | None = None
    relative_cost: float | None = None
    result: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    retry_of: int | None = None
    ray_trial_id: str | None = None
    reused_from: int | None = None

    @property
    def finished(self) -> bool:
        """Trained to an end: complete or failed (interrupted trials are re-run instead)."""
        return self.status in (COMPLETE, FAILED)

    def candidate(self) -> Candidate:
        """This complete trial as a :class:`~cpt_search.select.Candidate`."""
        assert self.status == COMPLETE and self.values is not None, self
        extra = {k: v for k, v in self.result.items() if isinstance(v, (int, float, str, bool))}
        return Candidate(trial=self.number, label=self.label, metric=float(self.values[0]),
                         bitops=float(self.values[1]),
                         relative_cost=float(self.result.get("relative_cost", self.relative_cost or math.nan)),
                         schedule=dict(self.schedule), baseline=self.baseline, extra=extra)


def record_from_trial(trial: Any) -> TrialRecord:
    """Translate an ``optuna.trial.FrozenTrial``."""
    from optuna.trial import TrialState

    attrs = trial.user_attrs
    if trial.state == TrialState.COMPLETE:
        status = INFEASIBLE if attrs.get("infeasible") else COMPLETE
    elif trial.state == TrialState.FAIL:
        status = INTERRUPTED if attrs.get("interrupted") else FAILED
    elif trial.state == TrialState.RUNNING:
        status = RUNNING
    elif trial.state == TrialState.WAITING:
        status = WAITING
    else:  # PRUNED: cpt_search never prunes (no multi-objective scheduler exists); treat as failed
        status = FAILED
    values = None
    if status == COMPLETE and trial.values is not None and len(trial.values) == 2:
        values = (float(trial.values[0]), float(trial.values[1]))
    relative_cost = attrs.get("relative_cost")
    return TrialRecord(
        number=trial.number, status=status, label=str(attrs.get("label", f"trial {trial.number}")),
        schedule=dict(attrs.get("schedule") or {}), baseline=bool(attrs.get("baseline", False)),
        values=values, relative_cost=None if relative_cost is None else float(relative_cost),
        result=dict(attrs.get("result") or {}), error=attrs.get("error"),
        retry_of=attrs.get("retry_of"), ray_trial_id=attrs.get("ray_trial_id"),
        reused_from=attrs.get("reused_from"),
    )


def read_record(study: Any, number: int) -> TrialRecord:
    """Trial ``number`` of an ``optuna.Study`` (without loading every trial)."""
    storage = study._storage  # Study has no public get-one-trial; the storage API is public
    study_id = storage.get_study_id_from_name(study.study_name)
    return record_from_trial(storage.get_trial(
        storage.get_trial_id_from_study_id_trial_number(study_id, number)))


def load_records(study: Any) -> list[TrialRecord]:
    """All trials of an ``optuna.Study``, in trial-number order."""
    return [record_from_trial(t) for t in study.get_trials(deepcopy=False)]


def candidates(records: list[TrialRecord]) -> list[Candidate]:
    """The complete (trained, feasible) trials as candidates for the front and for export."""
    return [r.candidate() for r in records if r.status == COMPLETE and r.values is not None
            and all(math.isfinite(v) for v in r.values)]
