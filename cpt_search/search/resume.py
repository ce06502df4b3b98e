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
from typing import Any, Mapping, Sequence

import optuna
from optuna.trial import TrialState

from cpt_search.errors import TrackingError

log = logging.getLogger(__name__)

BASELINES_ATTR = "baselines_enqueued"
INTERRUPTED_REASON = "interrupted: the search stopped (Ctrl-C or a crash) while this trial ran; re-enqueued"
_CARRIED_ATTRS = ("schedule", "label", "baseline", "baseline_params")


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
                               directions=[optuna.study.StudyDirection[d.upper()] for d in directions])


def check_identity(study: optuna.Study, name: str, identity: Mapping[str, Any], *,
                   what: str = "search") -> None:
    """A stored search must keep its task, budget and settings (else its front mixes apples and
    pears): the first session records ``identity`` in the study's user attrs, later ones must match."""
    stored = {k: study.user_attrs.get(k) for k in identity}
    if all(v is None for v in stored.values()):
        for key, value in identity.items():
            study.set_user_attr(key, value)
        return
    for key, value in identity.items():
        if stored.get(key) is not None and stored[key] != value:
            raise TrackingError(f"{what} {name!r} already exists with another {key}", where="optuna",
                                key=key, value=value,
                                fix=f"it was {stored[key]!r}: rerun with those settings, or use another "
                                    "--name or another --store")


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
