"""Opening a search's Optuna study, and making it consistent after an interruption.

The Optuna storage is the source of truth of a search. Rerunning ``cpt-search run`` with the same
store and name continues it:

* trials that finished (COMPLETE or FAIL) stay as they are and count towards ``num_trials``;
* trials left RUNNING by a crash or Ctrl-C (their workers are gone) are marked FAIL with user attrs
  ``interrupted`` and ``error``, and their schedule is enqueued again (user attr ``retry_of``), so it
  runs once more from the start under a new trial number; interrupted trials do not count;
* the baselines are enqueued once per study (study user attr ``baselines_enqueued``), not on resume;
* the remaining number of trials is ``num_trials`` minus the finished ones.

Only one driver may run a search at a time (the runner holds a file lock), so a RUNNING trial seen
at start can only be a leftover.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import optuna
from optuna.trial import TrialState

from cpt_search.errors import TrackingError
from cpt_search.search.results import (
    COMPLETE, FAILED, INFEASIBLE, INTERRUPTED, WAITING, TrialRecord)

log = logging.getLogger(__name__)

BASELINES_ATTR = "baselines_enqueued"
INTERRUPTED_REASON = "interrupted: the search stopped (Ctrl-C or a crash) while this trial ran; re-enqueued"
_CARRIED_ATTRS = ("schedule", "label", "baseline", "baseline_params")


@dataclass(frozen=True)
class Progress:
    """How far a search is, counted from its records.

    Attributes:
        complete, failed: finished trained trials (they count towards ``num_trials``).
        infeasible: schedules skipped for their cost (never trained; do not count).
        interrupted: trials cut off and re-enqueued (do not count).
        waiting: enqueued, not started (baselines, retries).
    """

    complete: int
    failed: int
    infeasible: int
    interrupted: int
    waiting: int

    @property
    def finished(self) -> int:
        """Complete + failed."""
        return self.complete + self.failed


def progress_of(records: Sequence[TrialRecord]) -> Progress:
    """Count the records by status."""
    count = lambda status: sum(1 for r in records if r.status == status)  # noqa: E731
    return Progress(complete=count(COMPLETE), failed=count(FAILED), infeasible=count(INFEASIBLE),
                    interrupted=count(INTERRUPTED), waiting=count(WAITING))


def open_storage(url: str) -> Any:
    """An Optuna RDB storage at ``url`` (``TrackingError`` when it cannot be opened)."""
    try:
        return optuna.storages.RDBStorage(url, heartbeat_interval=None)
    except Exception as error:  # SQLAlchemy/Optuna raise many kinds here
        raise TrackingError(f"cannot open the Optuna storage ({type(error).__name__}: {error})",
                            where="optuna", value=url,
                            fix="check the --store directory (is it writable? an Optuna database?)") from None


def open_study(storage: Any, name: str, directions: Sequence[str], sampler: Any = None) -> optuna.Study:
    """Create or load study ``name``; a stored study with other directions is an error."""
    try:
        existing = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    except KeyError:
        existing = None
    if existing is not None:
        stored = [d.name.lower() for d in existing.directions]
        if stored != [d.lower() for d in directions]:
            raise TrackingError(
                "a search of this name exists with other objective directions", where="optuna",
                key="study", value=name,
                fix=f"use another --name (stored: {stored}, asked: {list(directions)})")
        return existing
    return optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                               directions=list(directions))


def study_exists(storage: Any, name: str) -> bool:
    """Whether the storage holds a study called ``name``."""
    return any(s.study_name == name for s in storage.get_all_studies())


def reconcile_interrupted(study: optuna.Study) -> list[int]:
    """Mark trials left RUNNING as interrupted (FAIL) and enqueue their schedules again.

    Returns the numbers of the trials marked.
    """
    storage = study._storage  # the public Study API cannot annotate a trial it did not ask for
    study_id = storage.get_study_id_from_name(study.study_name)
    marked: list[int] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_user_attr(trial_id, "interrupted", True)
        storage.set_trial_user_attr(trial_id, "error", INTERRUPTED_REASON)
        study.tell(trial.number, state=TrialState.FAIL)
        # A sampled trial is replayed from its parameters (Optuna returns enqueued values, so the
        # same schedule comes out); a baseline carries its fixed schedule as when first enqueued.
        user_attrs = {}
        if trial.user_attrs.get("baseline"):
            user_attrs = {k: trial.user_attrs[k] for k in _CARRIED_ATTRS if k in trial.user_attrs}
        user_attrs["retry_of"] = trial.user_attrs.get("retry_of", trial.number)
        study.enqueue_trial(dict(trial.params), user_attrs=user_attrs)
        marked.append(trial.number)
        log.info("trial %d was interrupted; its schedule %s is enqueued again", trial.number,
                 trial.user_attrs.get("label", "?"))
    return marked


def enqueue_baselines_once(study: optuna.Study, space: Any) -> int:
    """Enqueue the space's baselines as the first trials, once per study
    (:func:`cpt_search.search.suggest.enqueue_baselines`); returns how many were enqueued now
    (0 on a resume, or when the space has ``include_baselines: false``)."""
    from cpt_search.search.suggest import enqueue_baselines

    if study.user_attrs.get(BASELINES_ATTR) or not space.include_baselines:
        return 0
    labels = enqueue_baselines(study, space)
    study.set_user_attr(BASELINES_ATTR, True)
    return len(labels)
