"""The trials of a search as read from its Optuna storage (the source of truth).

Optuna user attributes a trial of a cpt_search study carries (set by ``suggest_schedule``, by the
baseline enqueueing and by :class:`~cpt_search.search.searcher.ScheduleSearch`):

``schedule``, ``label``, ``relative_cost``   the schedule (``Schedule.to_dict()``) and its cost
``baseline``                                  enqueued paper preset or static baseline
``result``                                    summary of a trained trial (metric, bitops, seconds, ...)
``error``, ``error_type``                     why a trained trial failed
``infeasible``                                over the space's cost constraint, never trained
``interrupted``, ``retry_of``                 a trial cut off by a crash, and its re-enqueued retry
``reused_from``                               not trained: an identical schedule's finished trial
``ray_trial_id``                              the Ray Tune trial that ran it
``rung_metrics``                              metric at each rung passed, by fraction of training
                                              (``{"0.25": 0.71}``; early stopping's state)
``stopped_at_rung``                           stopped early (PRUNED): ``{"rung", "rung_frac", "reason"}``

This module translates Optuna's frozen trials into :class:`~cpt_search.records.TrialRecord`.
"""

from __future__ import annotations

from typing import Any

from cpt_search.records.trial import (
    COMPLETE,
    FAILED,
    INFEASIBLE,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    WAITING,
    TrialRecord,
)


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
    elif trial.state == TrialState.PRUNED and attrs.get("stopped_at_rung"):
        status = STOPPED  # by the search's early-stopping rule (cpt_search.search.scheduler)
    else:  # PRUNED without a rung: not cpt_search's doing; count it as failed
        status = FAILED
    values = None
    if status == COMPLETE and trial.values is not None and len(trial.values) == 2:
        values = (float(trial.values[0]), float(trial.values[1]))
    relative_cost = attrs.get("relative_cost")
    stop = attrs.get("stopped_at_rung") if status == STOPPED else None
    return TrialRecord(
        number=trial.number, status=status, label=str(attrs.get("label", f"trial {trial.number}")),
        schedule=dict(attrs.get("schedule") or {}), baseline=bool(attrs.get("baseline", False)),
        values=values, relative_cost=None if relative_cost is None else float(relative_cost),
        result=dict(attrs.get("result") or {}),
        error=_stop_text(stop) if stop else attrs.get("error"),
        retry_of=attrs.get("retry_of"), ray_trial_id=attrs.get("ray_trial_id"),
        reused_from=attrs.get("reused_from"),
        tags={str(k): str(v) for k, v in (attrs.get("tags") or {}).items()},
        stopped_at_rung=int(stop["rung"]) if stop else None,
    )


def _stop_text(stop: dict) -> str:
    """``stopped at rung 1 (25% of training): why`` from the ``stopped_at_rung`` user attr."""
    from cpt_search.stopping import StopDecision

    return StopDecision(True, int(stop["rung"]), float(stop["rung_frac"]), str(stop.get("reason", ""))).describe()


def read_record(study: Any, number: int) -> TrialRecord:
    """Trial ``number`` of an ``optuna.Study`` (without loading every trial)."""
    storage = study._storage  # Study has no public get-one-trial; the storage API is public
    study_id = storage.get_study_id_from_name(study.study_name)
    return record_from_trial(storage.get_trial(
        storage.get_trial_id_from_study_id_trial_number(study_id, number)))


def load_records(study: Any) -> list[TrialRecord]:
    """All trials of an ``optuna.Study``, in trial-number order."""
    return [record_from_trial(t) for t in study.get_trials(deepcopy=False)]
